"""Entities on newswire conventions: one test per failure class seen on real news.

Every sentence here is invented for newsloom (no agency copy, no evaluation data); the
names are fictional, so the rules and the model have to read them from context.
"""

from __future__ import annotations

from newsloom.enrich.entities import extract_entities


def _got(text: str) -> set[tuple[str, str]]:
    return {(e.text, e.kind) for e in extract_entities(text)}


def test_nationality_and_title_before_a_name():
    text = "On Monday the Veltrian Foreign Minister Ana Kolar said the border would reopen."
    ents = extract_entities(text)
    assert ("Ana Kolar", "person") in {(e.text, e.kind) for e in ents}
    # the adjective and the office are not a place, and not part of the name
    assert not any(e.kind in ("place", "person", "org") and ("Veltrian" in e.text or "Minister" in e.text)
                   for e in ents)


def test_us_is_a_place_and_un_an_organisation():
    got = _got("Talks between U.S. and Veltrian negotiators resumed at the U.N. headquarters "
               "on Tuesday, a U.S. diplomat said.")
    assert ("U.S.", "place") in got
    assert ("U.N.", "org") in got
    assert not any(t in ("U.S.", "U.N.") and k == "person" for t, k in got)


def test_two_word_organisations_are_never_people():
    text = ("The United Nations and the European Union sent observers to Kessby, where "
            "United Nations staff had been working since March.")
    ents = extract_entities(text)
    kinds = {(e.text, e.kind) for e in ents}
    assert ("United Nations", "org") in kinds and ("European Union", "org") in kinds
    assert not any(e.kind == "person" and e.text in ("United Nations", "European Union")
                   for e in ents)


def test_news_agencies_are_organisations():
    text = ("KESSBY, March 3 (Reuters) - The port of Kessby reopened on Friday, AP reported, "
            "and AFP said the first ferry had already left.")
    ents = extract_entities(text)
    kinds = {e.text: e.kind for e in ents}
    assert kinds.get("Reuters") == "org" and kinds.get("AP") == "org" and kinds.get("AFP") == "org"
    assert not any(e.kind == "person" and e.text in ("Reuters", "AP", "AFP") for e in ents)


def test_dateline_gives_the_place():
    for text in ("MARLOW 1996-08-30\nThe harbour board said the bridge would reopen.",
                 "MARLOW, Kessland 1996-08-30\nThe harbour board said the bridge would reopen.",
                 "MARLOW, Aug 30 (AFP) - The harbour board said the bridge would reopen."):
        ents = extract_entities(text)
        first = [e for e in ents if e.start == 0]
        assert first and first[0].kind == "place" and first[0].end == len("MARLOW"), ents
        assert not any(e.kind == "person" for e in ents), ents


def test_all_caps_headline_gives_no_junk():
    text = ("STORM FORCES CLOSURE OF COASTAL ROADS\n\n"
            "Heavy rain closed two coastal roads near Lower Fenwick on Monday, the county "
            "council said.")
    headline_end = text.index("\n")
    assert [e for e in extract_entities(text) if e.start < headline_end] == []
    # a headline in Title Case says as little through its casing
    text = "Storm Forces Closure of Coastal Roads" + text[headline_end:]
    assert [e for e in extract_entities(text) if e.start < headline_end] == []
    # a name the article itself confirms may stay, with the article's kind
    text = "KOLAR WINS SECOND TERM\n\nAna Kolar won the vote on Sunday. Kolar thanked voters."
    head = [e for e in extract_entities(text) if e.start < text.index("\n")]
    assert all(e.kind == "person" for e in head)


def test_spans_point_into_a_whole_multi_line_document():
    text = ("VELTRIA SEEKS LOAN FROM REGIONAL BANK\n"
            "By Tomas Reiner\n"
            "KESSBY 2024-05-14\n"
            "Veltria's finance minister, Ana Kolar, met officials of the Northern Development "
            "Bank in Kessby on Tuesday.\n\n"
            "\"We need the money by June,\" Kolar said. The bank's president, Dr. Ivo Marek, "
            "told Reuters the request would be studied.\n"
            "Protesters gathered outside the U.S. embassy on Harbour Street.")
    ents = extract_entities(text)
    assert ents, "a news document has entities"
    for e in ents:
        assert text[e.start:e.end] == e.text, e
    got = {(e.text, e.kind) for e in ents}
    assert {("Ana Kolar", "person"), ("Kessby", "place"), ("Reuters", "org"),
            ("Ivo Marek", "person")} <= got
    assert ents == sorted(ents, key=lambda e: e.start)
