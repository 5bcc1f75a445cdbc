"""enrich.dedupe: the Deduper on hand-made wire copies."""

from datetime import datetime, timedelta, timezone

from newsloom.enrich.dedupe import DEFAULT_THRESHOLD, Deduper

PARAS = [
    "Ferry crews walked out at dawn on Monday, halting every crossing of the Sellen Strait "
    "and leaving hundreds of travellers stranded at the harbour in Port Anselm.",
    "The union said its members had worked twelve-hour shifts for months without a break "
    "and that the company had ignored repeated warnings about safety and fatigue.",
    "Sellenline said it regretted the disruption and was ready to return to talks at any "
    "time, but called the union's demands for a large pay rise unaffordable this year.",
    "Islanders on Saint Corra, who depend on the ferry for food, fuel and medicine, said "
    "shops were already running short of fresh milk and bread by the afternoon.",
    "Talks are expected to resume later this week under the supervision of a mediator "
    "appointed by the transport ministry, officials from both sides confirmed.",
]
ORIGINAL = "\n\n".join(PARAS)
T0 = datetime(2026, 3, 9, 2, tzinfo=timezone.utc)


def test_threshold_default():
    assert Deduper().threshold == DEFAULT_THRESHOLD == 0.4


def test_trimmed_copy_with_credit_is_a_duplicate_of_the_original():
    d = Deduper()
    d.add("wire", ORIGINAL, time=T0)
    copy = "\n\n".join(PARAS[:-1] + ["This article was provided by the Meridian Wire Service."])
    original, sim = d.check("copy", copy)
    assert original == "wire" and sim >= 0.5


def test_unrelated_text_is_not_a_duplicate():
    d = Deduper()
    d.add("wire", ORIGINAL, time=T0)
    rewrite = ("Hundreds of passengers were stuck in Port Anselm after a walkout by ferry crews, "
               "who say they are exhausted. The operator says the pay claim cannot be met. "
               "Residents of Saint Corra worry about supplies of milk and bread.")
    assert d.check("other", rewrite) == (None, 0.0)


def test_earliest_wins_and_copies_point_to_the_first_version():
    d = Deduper()
    d.add("a", ORIGINAL, time=T0)
    copy1 = ORIGINAL + "\n\nProvided by a wire service."
    assert d.check("b", copy1)[0] == "a"
    d.add("b", copy1, time=T0 + timedelta(hours=1), duplicate_of="a")
    # a copy of the copy still names "a"
    copy2 = copy1 + "\n\nRead more on our website."
    assert d.check("c", copy2)[0] == "a"
    d.remove("a")
    assert d.check("c", copy2)[0] == "a"      # b remembers its original
    d.remove("b")
    assert d.check("c", copy2) == (None, 0.0)


def test_window_evicts_old_docs():
    d = Deduper(window=timedelta(days=3))
    d.add("old", ORIGINAL, time=T0)
    d.add("new", "Something else entirely, long enough to be sketched by the deduper today.",
          time=T0 + timedelta(days=4))
    assert "old" not in d and len(d) == 1
    assert d.check("copy", ORIGINAL) == (None, 0.0)
    d2 = Deduper()
    d2.add("old", ORIGINAL, time=T0)
    assert d2.evict_before(T0 + timedelta(seconds=1)) == 1 and len(d2) == 0


def test_short_texts_are_never_duplicates():
    d = Deduper()
    d.add("a", "Read more.", time=T0)
    assert d.check("b", "Read more.") == (None, 0.0)


def test_deterministic_sketches():
    a, b = Deduper().minhash(ORIGINAL), Deduper().minhash(ORIGINAL)
    assert (a.hashvalues == b.hashvalues).all()
