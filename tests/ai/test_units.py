"""The pure pieces, one behaviour each, on small fictional inputs."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from newsloom.enrich.compare import disagreements, figure_claims
from newsloom.enrich.entities import canonical_key, extract_entities, merge_variants, variant_of
from newsloom.enrich.hashtags import camel, hashtags, slugify
from newsloom.enrich.qa import BM25, answer, question_type, stem
from newsloom.enrich.summarize import Doc, as_doc, sentences, story_brief, summarize
from newsloom.enrich.timeline import resolve_dates, timeline

FRI = datetime(2025, 6, 27, 9, 0, tzinfo=timezone.utc)      # a Friday


# --------------------------------------------------------------------------- entities

def test_extract_entities_kinds_and_offsets():
    text = ("Foreign Minister Oleksandra Varga met officials of the Northern Relief Committee "
            "in Port Anselm on Tuesday. Varga said the talks would continue.")
    ents = extract_entities(text)
    got = {(e.text, e.kind) for e in ents}
    assert {("Oleksandra Varga", "person"), ("Northern Relief Committee", "org"),
            ("Port Anselm", "place"), ("Varga", "person")} <= got
    assert all(text[e.start:e.end] == e.text for e in ents)
    assert not any(e.text in ("Foreign", "Tuesday", "Minister") for e in ents)


def test_datelines_and_demonyms():
    ents = extract_entities("PORT ANSELM (Meridian) — The Veltrian delegation arrived in Veltria.")
    got = {(e.text, e.kind) for e in ents}
    assert ("Port Anselm", "place") in got and ("Meridian", "org") in got
    assert ("Veltria", "place") in got and not any(e.text == "Veltrian" for e in ents)


def test_canonical_key_folds_case_diacritics_and_aliases():
    assert canonical_key("Zelensky's") == canonical_key("ZELENSKYY") == "zelenskyy"
    assert canonical_key("Kiev") == canonical_key("Kyiv")
    assert canonical_key("Türkiye") == canonical_key("Turkey")
    assert canonical_key("Róisín Talley") == "roisin talley"


def test_variant_rules():
    assert variant_of("Varga", "Warga") and variant_of("Kharvik", "Harvik")
    assert variant_of("Oleksandra Varga", "Oleksandra Warga")
    assert not variant_of("Veltria", "Veltrian")          # morphology, not spelling
    assert not variant_of("Kestrel-1", "Kestrel-2")        # digits differ
    assert not variant_of("Lund", "Lind")                  # too short to judge
    assert not variant_of("Varga", "Vargas")


def test_merge_variants_picks_the_most_frequent_spelling():
    m = merge_variants(["Varga", "Varga", "Warga", "Zelensky", "Zelenskyy", "Kyiv", "Kiev", "Kiev"])
    assert m["Warga"] == m["Varga"] == "Varga"
    assert m["Zelensky"] == m["Zelenskyy"]
    assert m["Kyiv"] == m["Kiev"] == "Kiev"
    # two spellings inside one article are two people
    apart = merge_variants(["Marten", "Martin"], seen_in={"Marten": {1}, "Martin": {1}})
    assert apart["Marten"] != apart["Martin"]


# --------------------------------------------------------------------------- hashtags

def test_hashtag_forms():
    assert camel("prisoner swap") == "PrisonerSwap" and slugify("PrisonerSwap") == "prisonerswap"
    assert slugify("Lundé") == "lunde"
    doc = Doc("x", "Prisoner swap agreed as Veltria frees detainees",
              "Ukrainian-born President Volodymyr Zelenskyy welcomed the prisoner swap on "
              "Thursday. The prisoner swap freed 300 detainees, officials in Veltria said. "
              "Zelenskyy thanked the Northern Relief Committee. Another prisoner swap is "
              "planned, Zelenskyy said.", "Test Wire")
    tags = {t.slug: t for t in hashtags(doc)}
    assert tags["zelenskyy"].kind == "person"
    assert tags["prisonerswap"].kind == "keyphrase" and tags["prisonerswap"].tag == "PrisonerSwap"
    assert tags["veltria"].kind == "place"


# --------------------------------------------------------------------------- summaries

def test_sentences_respect_abbreviations_and_datelines():
    doc = Doc("x", "t", "PORT ANSELM (Meridian) — Dr. Ostow arrived at 2 p.m. on Friday. "
                        "She left. \"We are glad,\" she said.\n\nA new paragraph here.")
    s = [x.text for x in sentences(doc)]
    assert s[0].startswith("PORT ANSELM") and s[0].endswith("on Friday.")
    assert s[1:] == ["She left.", "\"We are glad,\" she said.", "A new paragraph here."]
    assert summarize(doc, n=2)[0].startswith("Dr. Ostow")         # dateline stripped


def test_as_doc_accepts_dicts_and_article_like_objects():
    class Art:
        id, title, text, url = 7, "T", "Body.", "http://x"
        source_name, published_at = "Lantern Daily", datetime(2026, 1, 1)
    d = as_doc(Art())
    assert (d.id, d.source, d.published.tzinfo) == (7, "Lantern Daily", timezone.utc)
    assert as_doc({"url": "u", "title": "t", "text": "b", "source": "S",
                   "published": "2026-03-08T02:00:00+00:00"}).id == "u"


def test_brief_never_repeats_a_wire_copy():
    wire = ("Officials confirmed the exchange of prisoners on Thursday at the border. "
            "The ministry said more talks would follow next month in the capital.")
    arts = [{"id": i, "title": f"T{i}", "text": wire + extra, "source": src,
             "published": datetime(2026, 3, 1, i, tzinfo=timezone.utc)}
            for i, (src, extra) in enumerate([("Wire", ""), ("Copy One", " Trimmed."),
                                              ("Other", " Families waited at the bridge for hours in the rain.")])]
    brief = story_brief(arts, max_sentences=5)
    assert len({c.sentence for c in brief}) == len(brief)
    assert next(c for c in brief if "exchange" in c.sentence).source == "Wire"   # earliest


# --------------------------------------------------------------------------- timeline

def test_relative_dates_resolve_against_publication():
    def one(s):
        return resolve_dates(s, FRI)[0]
    assert one("Officials confirmed the swap on Thursday.").date == date(2025, 6, 26)
    assert one("The ministry spoke on Friday.").date == date(2025, 6, 27)        # same day
    assert one("It happened last Friday.").date == date(2025, 6, 20)
    assert one("They met yesterday.").date == date(2025, 6, 26)
    assert one("The vote is today.").date == date(2025, 6, 27)
    assert one("They met in Istanbul on June 2.").date == date(2025, 6, 2)
    assert one("A deal was signed on 30 December.").date == date(2024, 12, 30)  # > 6 months ahead
    m = one("Talks began earlier this month.")
    assert (m.date, m.precision) == (date(2025, 6, 1), "month")
    m = one("Fighting eased last week.")
    assert (m.date, m.precision) == (date(2025, 6, 16), "week")
    assert one("The court ruled three days ago.").date == date(2025, 6, 24)
    assert resolve_dates("You may go.", FRI) == []


def test_timeline_sorts_and_merges():
    arts = [
        {"id": "a", "title": "A", "source": "One", "published": FRI,
         "text": "Prisoners were exchanged on Thursday at the border crossing. "
                 "Talks had opened earlier this month."},
        {"id": "b", "title": "B", "source": "Two", "published": FRI,
         "text": "The prisoners were exchanged at the border crossing yesterday, officials said."},
    ]
    events = timeline(arts)
    assert [e.date for e in events] == [date(2025, 6, 1), date(2025, 6, 26)]
    assert events[1].citations == [("a", "One"), ("b", "Two")]


def test_timeline_events_name_who_and_where_from_the_entity_stage():
    arts = [
        {"id": "a", "title": "A", "source": "Wire", "published": FRI,
         "text": "Foreign Minister Ilse Varnholt met the Marlow Harbour Authority in Kessport on Thursday. "
                 "Talks had opened earlier this month."},
        {"id": "b", "title": "B", "source": "Daily", "published": FRI,
         "text": "In Kessport yesterday, Varnholt met the harbour authority, officials said."},
    ]
    events = {e.date: e for e in timeline(arts)}
    thursday = events[date(2025, 6, 26)]
    assert thursday.citations == [("a", "Wire"), ("b", "Daily")]
    assert "Ilse Varnholt" in thursday.who and "Kessport" in thursday.who
    assert not [w for w in thursday.who if w == "Varnholt"]           # one spelling per name
    assert events[date(2025, 6, 1)].who == []                         # "Talks had opened..." names nobody


def test_timeline_an_undated_wire_copy_a_day_later_cites_the_event_it_repeats():
    lead = "Harbour pilots at Marlow Sound will strike over pay, their union announced."
    arts = [
        {"id": "a", "title": "A", "source": "Wire", "published": FRI, "text": lead},
        {"id": "b", "title": "B", "source": "Daily", "published": FRI + timedelta(days=1), "text": lead},
        {"id": "c", "title": "C", "source": "Post", "published": FRI + timedelta(days=1),
         "text": "A new ferry timetable for the Marlow islands was published."},
    ]
    events = timeline(arts)
    assert [(e.date, e.article_id) for e in events] == [(FRI.date(), "a"), ((FRI + timedelta(days=1)).date(), "c")]
    assert events[0].citations == [("a", "Wire"), ("b", "Daily")]


# --------------------------------------------------------------------------- compare

def test_figure_claims():
    [c] = figure_claims("Ukraine and Russia exchanged more than 340 prisoners on Thursday.")
    assert (c.low, c.head, c.cue) == (340, "people", "released")
    [c] = figure_claims("About 300 people were released.")
    assert (c.low, c.high, c.cue) == (270, 330, "released")
    [c] = figure_claims("Officials did not disclose the number of prisoners released.")
    assert not c.disclosed and c.head == "people" and c.cue == "released"
    assert figure_claims("The talks began in 2022 at 2 p.m. with 15-year-old observers.") == []
    [c] = figure_claims("Hackers stole the data of 1.2 million drivers.")
    assert c.low == 1.2e6 * 0.995 and c.cue == "affected"


def test_disagreements_only_when_publishers_differ():
    def art(i, src, text):
        return {"id": i, "title": "", "text": text, "source": src}
    agree = [art(1, "A", "Officials said 300 prisoners were released."),
             art(2, "B", "About 300 prisoners were released on Friday.")]
    assert disagreements(agree) == []
    differ = agree + [art(3, "C", "More than 900 prisoners were released, a monitor said.")]
    [block] = disagreements(differ)
    assert block.kind == "figure" and {c.source for c in block.claims} == {"A", "B", "C"}
    one_source = [art(1, "A", "300 prisoners were released."), art(2, "A", "900 prisoners were released.")]
    assert disagreements(one_source) == []


# --------------------------------------------------------------------------- qa

def test_question_types_and_stems():
    assert question_type("How many prisoners were released?") == "number"
    assert question_type("When did the swap happen?") == "date"
    assert question_type("Where were the talks?") == "place"
    assert question_type("Who leads the delegation?") == "person"
    assert stem("released") == stem("release") == stem("releasing")
    assert stem("evacuation") == stem("evacuated") == stem("evacuate")


def test_bm25_prefers_rare_matching_terms():
    idx = BM25([["prisoner", "swap"], ["weather", "swap"], ["weather", "rain"]])
    assert idx.score(["prisoner"], 0) > 0 and idx.score(["prisoner"], 1) == 0
    assert idx.coverage(["prisoner", "unknown"], 0) < 0.5


def test_answer_refuses_with_no_articles_or_no_match():
    assert not answer("How many?", []).found
    arts = [{"id": 1, "title": "", "source": "S", "text": "The ferry strike ended on Friday."}]
    assert not answer("What is the capital of Mars?", arts).found
    a = answer("When did the ferry strike end?", arts)
    assert a.found and a.passages[0].article_id == 1
