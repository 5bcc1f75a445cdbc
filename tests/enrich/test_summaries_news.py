"""Article summaries and story briefs on news-shaped text (fictional, written for newsloom):
whole sentences from the toolkit's splitter, a length budget, no junk, right citations."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from newsloom.enrich.summarize import (BRIEF_WORDS, Doc, is_junk, lead_sentences, story_brief,
                                       strip_dateline, summarize, trim)
from newsloom.enrich.text import sentence_texts, words
from newsloom.eval.summaries import as_json, eval_summaries

T0 = datetime(2026, 4, 2, 6, 0, tzinfo=timezone.utc)

HARBOUR = (
    "By Ilsa Marrow, Harbour Correspondent.\n\n"
    "Click here to follow our live coverage of the harbour fire.\n\n"
    "PORT ANSELM (Meridian) — Dr. Tomas Veyle of the U.S. Coast Guard said a fire aboard the "
    "cargo ship Kestrel Maid was brought under control at 4 a.m. on Tuesday after burning for "
    "nine hours in the outer harbour.\n\n"
    "\"We will not give up.\"\n\n"
    "Harbour fire crews from three towns fought the blaze aboard the Kestrel Maid through the "
    "night, officials said.\n\n"
    "Read more: Port Anselm harbour reopens after storm\n\n"
    "But the harbour master closed the outer channel to all shipping until divers can inspect "
    "the damaged hull of the Kestrel Maid.\n\n"
    "Photo: Harbour Fire Service/Lantern Images.\n\n"
    "The ship was carrying timber and machine parts from Veltria, according to port records.\n\n"
    "\"The crew did everything right,\" said Mira Holt, who leads the harbour pilots.\n\n"
    "Two crew members were treated for smoke inhalation at St. Brenna's Hospital and released.\n\n"
    "Fishermen in Port Anselm said the closure of the outer channel would cost them a week of "
    "catches at the height of the season.\n\n"
    "Lantern Daily's Oren Vask contributed to this report."
)
JUNK_LINES = ("By Ilsa Marrow", "Click here", "We will not give up", "Read more", "Photo:",
              "contributed to this report")


def _doc(text=HARBOUR, **kw) -> Doc:
    return Doc(kw.pop("id", "harbour"), kw.pop("title", "Fire on cargo ship in Port Anselm harbour"),
               text, kw.pop("source", "Meridian Wire"), kw.pop("published", T0))


def _in_one_sentence(piece: str, text: str) -> bool:
    """*piece* is one contiguous run of words of one sentence of *text*, as the toolkit splits it."""
    key = " ".join(words(piece))
    return any(key in " ".join(words(s)) for s in sentence_texts(text))


# --------------------------------------------------------------------------- whole sentences

def test_summary_is_whole_sentences_from_the_toolkit_splitter():
    summary = summarize(_doc())
    assert 2 <= len(summary) <= 3, summary
    for s in summary:
        assert s[-1] in ".!\"”", s                      # ends as a sentence ends
        assert _in_one_sentence(s, HARBOUR), s
    first = summary[0]
    # "Dr." and "U.S." and "a.m." never cut the sentence; its dateline is gone
    assert first.startswith("Dr. Tomas Veyle of the U.S. Coast Guard said") and first.endswith("outer harbour.")
    assert "4 a.m. on Tuesday" in first and "Meridian" not in first


def test_abbreviations_do_not_split_the_lead_baseline_either():
    lead = lead_sentences(Doc("x", "", "Dr. Ana Ruiz met U.S. envoys in St. Brenna at 9 a.m. on Monday. "
                                       "The talks ended at noon."), 3)
    assert lead == ["Dr. Ana Ruiz met U.S. envoys in St. Brenna at 9 a.m. on Monday.", "The talks ended at noon."]


# --------------------------------------------------------------------------- junk and trimming

def test_junk_is_never_in_a_summary_or_brief_even_at_the_top():
    picked = summarize(_doc()) + [c.sentence for c in story_brief([_doc()])]
    for s in picked:
        assert not any(j in s for j in JUNK_LINES), s


def test_what_counts_as_junk():
    for junk in ["By Ilsa Marrow, Harbour Correspondent.", "By . Associated Press . PUBLISHED: .",
                 "Click here to follow our live coverage of the fire.",
                 "Read more: Port Anselm harbour reopens after storm .",
                 "Photo: Harbour Fire Service/Lantern Images.",
                 "\"We will not give up, not now and not ever.\"",
                 "Port Anselm harbour reopens after the storm",          # a headline: no stop
                 "Fire crews fought the blaze for nine hours .",           # a link line " ." export
                 "Lantern Daily's Oren Vask contributed to this report.",
                 "Follow us on Twitter for the latest on the fire.",
                 "Will the harbour reopen before the season ends?",
                 "Nobody was hurt."]:
        assert is_junk(junk), junk
    for news in ["By this time, fire crews from three towns had reached the harbour.",
                 "\"The crew did everything right,\" said Mira Holt, who leads the harbour pilots.",
                 "\"Kestrel Maid\" was the name of the ship that burned in the harbour.",
                 "Dr. Tomas Veyle of the U.S. Coast Guard said the fire was under control."]:
        assert not is_junk(news), news


def test_safe_trimming_keeps_one_run_of_the_sentence():
    assert strip_dateline("PORT ANSELM (Meridian) — The fire is out.") == "The fire is out."
    assert strip_dateline("Port Anselm, Veltria (Meridian)The fire is out.") == "The fire is out."
    assert strip_dateline("(Meridian) -- The fire is out.") == "The fire is out."
    assert strip_dateline("The Harbour Board (HB) Chair spoke.") == "The Harbour Board (HB) Chair spoke."
    assert trim("Harbour fire crews fought the blaze through the night, officials said.") == \
        "Harbour fire crews fought the blaze through the night."
    assert trim("The ship carried timber from Veltria, according to port records.") == \
        "The ship carried timber from Veltria."
    assert trim("Two crew members were treated in hospital, a spokesman told reporters on Tuesday.") == \
        "Two crew members were treated in hospital."
    # a named body is a speaker however long its name
    assert trim("The outer channel stays closed until Friday, the Veltrian Office for the Protection "
                "of the Coast and Harbours said on Monday.") == "The outer channel stays closed until Friday."
    assert trim("But the harbour master closed the outer channel to all shipping.") == \
        "The harbour master closed the outer channel to all shipping."
    assert trim("The channel was closed on Tuesday, which angered the fishermen.") == "The channel was closed on Tuesday."
    # what is kept: a quote's speaker, an attribution that is the news, a cleft, a short clause
    for kept in ["\"The crew did everything right,\" said Mira Holt, who leads the harbour pilots.",
                 "Sales fell, the company said the decline was temporary.",
                 "It was Holt, not the captain, who raised the alarm.",
                 "It burned, officials said.",
                 "He bought the ship, said to be the oldest in the fleet."]:
        assert trim(kept) == kept, kept
    assert trim("PORT ANSELM (Meridian) — But the fire crews stayed until dawn on Tuesday, police said.",
                first=True) == "The fire crews stayed until dawn on Tuesday."


# --------------------------------------------------------------------------- length budget

FERRY = [
    "Ferry crews in Port Anselm walked out at dawn on Monday over new night shifts, stranding "
    "hundreds of travellers on the island of Saint Corra.",
    "The Maritime Crews' Union said its members would stay out until the operator Sellenline "
    "withdrew the rota it imposed last month.",
    "Sellenline cancelled all forty crossings planned for the day and offered refunds to "
    "passengers holding tickets for the week.",
    "Shops on Saint Corra reported shortages of bread and milk by the afternoon, as supply "
    "lorries queued at the empty terminal.",
    "The harbour board invited both sides to talks at its offices on the quay on Wednesday "
    "morning.",
    "A similar walkout three years ago lasted eleven days and ended with a pay rise of four "
    "percent for deck crews.",
    "Island schools stayed open, although teachers who live on the mainland could not reach "
    "their classrooms.",
    "Tourism officials warned that the strike could cost Saint Corra its busiest spring weekend "
    "in a decade.",
]


def _long_article(i: int, source: str) -> Doc:
    body = "\n\n".join(FERRY[i:] + FERRY[:i])            # each publisher leads with another fact
    return Doc(f"a{i}", f"Ferry strike strands Saint Corra ({source})", body, source, T0 + timedelta(hours=i))


def test_a_summary_keeps_to_the_word_budget():
    summary = summarize(_long_article(0, "Lantern Daily"))
    assert 2 <= len(summary) <= 3
    assert BRIEF_WORDS <= sum(len(s.split()) for s in summary) <= 1.6 * BRIEF_WORDS
    short = summarize(_long_article(0, "Lantern Daily"), max_words=15)
    assert len(short) == 1                                 # one sentence already reaches 15 words


def test_a_story_of_several_publishers_gets_twice_the_room_and_at_most_five_sentences():
    arts = [_long_article(i, src) for i, src in enumerate(["Lantern Daily", "Valley Courier", "Civic Ledger"])]
    brief = story_brief(arts)
    total = sum(len(c.sentence.split()) for c in brief)
    assert 2 <= len(brief) <= 5 and total <= 1.6 * 2 * BRIEF_WORDS
    assert total > 1.6 * BRIEF_WORDS or len(brief) == 5


def test_one_article_story_brief_is_its_summary():
    doc = _doc()
    assert [c.sentence for c in story_brief([doc])] == summarize(doc)


# --------------------------------------------------------------------------- citations

def test_brief_cites_each_sentence_to_the_article_it_comes_from():
    wire = ("Harbour fire crews put out a fire aboard the cargo ship Kestrel Maid in Port Anselm on "
            "Tuesday after nine hours. The harbour master closed the outer channel to all shipping.")
    arts = [
        {"id": "w", "title": "Ship fire put out", "text": wire, "source": "Meridian Wire", "published": T0},
        {"id": "c", "title": "Ship fire put out", "text": wire, "source": "Copy Desk",       # a wire copy
         "published": T0 + timedelta(hours=1)},
        {"id": "v", "title": "Fishermen count the cost of channel closure", "source": "Valley Courier",
         "published": T0 + timedelta(hours=3),
         "text": "Fishermen in Port Anselm said the closure of the outer channel after the Kestrel Maid "
                 "fire would cost them a week of catches. Divers began inspecting the ship's hull at dawn."},
        {"id": "l", "title": "Crew praised after harbour fire", "source": "Lantern Daily",
         "published": T0 + timedelta(hours=5),
         "text": "By Oren Vask, Lantern Daily.\n\nTwo crew members of the Kestrel Maid were treated for smoke "
                 "inhalation at St. Brenna's Hospital and released on Wednesday, the harbour pilots said."},
    ]
    brief = story_brief(arts)
    by_id = {a["id"]: a for a in arts}
    assert 2 <= len(brief) <= 5
    assert len({c.source for c in brief}) >= 3
    for c in brief:
        art = by_id[c.article_id]
        assert c.source == art["source"] and c.published is not None
        assert _in_one_sentence(c.sentence, art["text"]), c
        assert "By Oren Vask" not in c.sentence
    assert all(c.article_id != "c" for c in brief)         # the copy never cites over its original
    texts = [" ".join(words(c.sentence)) for c in brief]
    assert len(texts) == len(set(texts))
    assert story_brief(list(reversed(arts))) == brief      # deterministic, whatever the input order


# --------------------------------------------------------------------------- the eval

def test_eval_scores_the_brief_beside_lead3_on_the_same_splitter():
    rows = [{"id": "h", "title": "", "text": HARBOUR,
             "summary": "A fire aboard the Kestrel Maid was brought under control after nine hours.\n"
                        "The outer channel is closed until divers inspect the hull."}]
    r = eval_summaries(rows)
    assert r["n"] == 1 and r["ours"] == r["summarize"]     # the one-article brief is the summary
    assert r["ours"]["rouge2"] > r["lead3"]["rouge2"]      # Lead-3 here starts with a byline and a promo
    out = as_json(r)
    assert out["baseline"]["name"] == "lead3" and out["system"] == "story_brief"
    assert {"rouge1", "rouge2", "rougeL", "words"} <= set(out) and set(out["baseline"]) >= {"rouge1", "rouge2", "rougeL"}
