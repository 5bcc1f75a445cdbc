"""Hashtags on news-shaped text: never a page's furniture, variants merged, and every tag
names the articles that support it. All text here is fictional, written for these tests."""

from __future__ import annotations

from newsloom.enrich.hashtags import Hashtag, hashtags, story_hashtags
from newsloom.enrich.summarize import Doc


def _slugs(tags: list[Hashtag]) -> set[str]:
    return {t.slug for t in tags}


def _doc(text: str, title: str = "Grain corridor talks resume in Marovia", ident: str = "a1",
         source: str = "") -> Doc:
    return Doc(ident, title, text, source)


GRAIN = ("Negotiators met again on Tuesday to reopen the grain corridor across the Sella Sea. "
         "Shipping firms say the grain corridor is the only safe route for wheat cargoes this "
         "season.\n\nPort officials in Dunhaven said forty ships were waiting to load wheat. "
         "The grain corridor closed in March after a mine damaged a tanker.\n\n"
         "Farmers have stored the harvest in sheds and schools while the talks drag on.")


def test_never_a_news_agency_credit():
    text = ("DUNHAVEN, Marovia (AP) — " + GRAIN + "\n\n"
            "A port official told Reuters the corridor could reopen within a week. "
            "(AP Photo/Lena Moor) The Associated Press could not reach the shipping ministry. "
            "An AFP reporter saw wheat cargoes queueing at the grain terminal.\n\n"
            "Copyright 2026 The Associated Press. All rights reserved.")
    slugs = _slugs(hashtags(_doc(text), k=(8, 8)))
    assert "graincorridor" in slugs
    assert not slugs & {"ap", "reuters", "afp", "associatedpress", "apphoto"}, slugs


def test_never_a_dateline():
    for dateline in ("OSTERVIK, Veldmark (Reuters) - ", "OSTERVIK — ", "Ostervik, Veldmark (AP) -- ",
                     "OSTERVIK, Veldmark, March 3 (Xinhua) - "):
        slugs = _slugs(hashtags(_doc(dateline + GRAIN), k=(8, 8)))
        assert "ostervik" not in slugs and "veldmark" not in slugs, (dateline, slugs)
        assert "graincorridor" in slugs


def test_never_a_navigation_word():
    text = ("Home\nNews\nShare this article\n" + GRAIN.replace("\n\n", "\nAdvertisement\n")
            + "\nRelated stories\nPrint\nEmail\nComments")
    slugs = _slugs(hashtags(_doc(text), k=(8, 8)))
    assert "graincorridor" in slugs
    assert not slugs & {"home", "news", "share", "advertisement", "related", "stories", "print",
                        "email", "comments"}, slugs


def test_never_a_bare_number_word():
    text = ("Five ships left Dunhaven at dawn. Five more are due on Friday, and dozens wait "
            "offshore.\n\nThe first convoy carried wheat; the second carried maize. Seven crew "
            "members were hurt when a crane failed. Seven tugs stood by.\n\n" + GRAIN)
    slugs = _slugs(hashtags(_doc(text), k=(8, 8)))
    assert not slugs & {"five", "seven", "dozens", "first", "second"}, slugs


def test_never_a_sentence_initial_common_word():
    # "Evacuations" and "Meanwhile" only ever open a sentence, and a title-case headline
    # capitalises every word ("Public", "Families"): no capital here marks a name
    text = ("Evacuations began at dawn in the valley town of Ostby. Evacuations were ordered for "
            "three villages as the river rose.\n\nMeanwhile, the regional council opened "
            "shelters in schools. Evacuations continued into the night.\n\nMayor Ingrid Solvang said the flood barrier held at the "
            "bridge. The flood barrier was built after the floods of 2019. Solvang thanked "
            "volunteers for filling sandbags along the flood barrier.")
    tags = hashtags(_doc(text, title="Flood Barrier Holds in Public Test as Families Wait"),
                    k=(8, 8))
    slugs = _slugs(tags)
    assert not slugs & {"evacuations", "meanwhile", "public", "families", "test"}, slugs
    assert "solvang" in slugs and "floodbarrier" in slugs


def test_story_merges_kyiv_kiev_and_zelenskyy_zelensky():
    a = Doc("a", "Zelenskyy visits Kyiv hospital",
            "President Volodymyr Zelenskyy visited a hospital in Kyiv on Monday. Zelenskyy "
            "met doctors treating people injured in the strikes on Kyiv. Zelenskyy said the "
            "hospital would get new generators.", "Harbour Gazette")
    b = Doc("b", "Zelensky tours Kiev hospital",
            "Ukrainian President Volodymyr Zelensky toured a Kiev hospital on Monday. Zelensky "
            "thanked the staff, and Kiev officials promised generators. Zelensky later met "
            "the city's mayor.", "Lantern Daily")
    tags = story_hashtags([a, b])
    slugs = [t.slug for t in tags]
    assert len({"kyiv", "kiev"} & set(slugs)) == 1, slugs
    assert len({"zelenskyy", "zelensky"} & set(slugs)) == 1, slugs
    for t in tags:
        if t.slug in {"kyiv", "kiev", "zelenskyy", "zelensky"}:
            assert t.articles == ("a", "b"), t
    alone = _slugs(hashtags(b))
    in_story = _slugs(hashtags(b, story_articles=[a, b]))
    merged = next(t.slug for t in tags if t.slug in {"zelenskyy", "zelensky"})
    assert merged in in_story and ({"zelenskyy", "zelensky"} - {merged}).isdisjoint(in_story)
    assert alone & {"zelenskyy", "zelensky"}


def test_articles_lists_exactly_the_supporting_articles():
    one = Doc(1, "Grain corridor to reopen", GRAIN, "Harbour Gazette")
    two = Doc(2, "Talks on grain corridor resume",
              "Talks on the grain corridor resumed on Tuesday. Shipping minister Piet Halvorsen "
              "said the grain corridor must reopen before the harvest. Halvorsen wants naval "
              "escorts for the grain corridor.", "Lantern Daily")
    three = Doc(3, "Minister Halvorsen faces questions over naval budget",
                "Shipping minister Piet Halvorsen faced questions in parliament over the naval "
                "budget. Halvorsen said the escorts would cost less than expected. Halvorsen "
                "will publish the budget next week.", "Civic Ledger")
    tags = {t.slug: t for t in story_hashtags([one, two, three])}
    assert tags["graincorridor"].articles == (1, 2)
    assert tags["halvorsen"].articles == (2, 3)
    assert all(t.score > 0 and t.articles for t in tags.values())
    alone = hashtags(three)
    assert alone and all(t.articles == (3,) for t in alone)
