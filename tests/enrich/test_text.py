"""enrich.text: tokens, shingles, entity candidates."""

from newsloom.enrich.text import entities, lead, normalise, shingles, split_paragraphs, tokens


def test_tokens_fold_case_diacritics_stopwords_and_plurals():
    assert tokens("The Detainees crossed the Halden Bridge in Zürich's old town") == [
        "detainee", "crossed", "halden", "bridge", "zurich", "old", "town"]


def test_tokens_keep_numbers_but_not_single_digits():
    assert tokens("Rates rose to 4.5 percent, 1,200 homes; 3 people") == [
        "rate", "rose", "4.5", "percent", "1.200", "home", "people"]


def test_tokens_language_stopwords_and_elision():
    assert tokens("L'État a dit que les inondations", "fr") == ["etat", "dit", "inondations"]
    assert tokens("Die Regierung hat das Hochwasser", "de") == ["regierung", "hochwasser"]


def test_normalise():
    assert normalise("ÉCOLE Straße ﬁn") == "ecole strasse fin"


def test_shingles_are_word_kgrams_over_all_words():
    assert shingles("The cat sat on the mat", k=5) == {"the cat sat on the", "cat sat on the mat"}
    assert shingles("Too short", k=5) == {"too short"}
    assert shingles("", k=5) == set()
    assert shingles("A, b. C!", k=2) == {"a b", "b c"}


def test_entities_runs_and_sentence_start_rule():
    text = ("Foreign Minister Oleksandra Varga met officials of the Bank of Veltria. "
            "Relations were tense, said Varga. Varga left for Port Anselm in 2024.")
    ents = entities(text)
    assert {"minister oleksandra varga", "oleksandra", "varga", "bank of veltria", "veltria",
            "port anselm", "anselm"} <= ents
    assert "relations" not in ents          # capitalised only because it starts a sentence
    assert "foreign" not in ents            # same
    assert not any(e.isdigit() for e in ents)


def test_entities_are_normalised():
    assert {"zurich", "jose muller"} <= entities("They met in Zürich with José Müller.")


def test_paragraphs_and_lead():
    text = "One two three.\n\nFour five.\n\nSix seven eight."
    assert split_paragraphs(text) == ["One two three.", "Four five.", "Six seven eight."]
    assert lead(text) == "One two three. Four five."
    assert lead(text, max_words=4) == "One two three. Four"
