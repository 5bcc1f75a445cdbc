"""Offline named entities (people, places, organisations) and spelling-variant merging.

Two layers, no download, deterministic. The **rules** (gazetteers, titles, heads, cues)
read a text first; a **CRF** (:mod:`newsloom.enrich.ner`, python-crfsuite, trained on
the CoNLL-2003 English training split by ``scripts/train_entities.py``) then tags every
sentence with the rules' answer as one of its features, so it learned on real news when
to trust them. Chosen on measurements (``docs/entities.md`` has the table and the
commands): per-document micro F1 over person/place/org on the CoNLL-2003 dev split,
rules alone 0.66 (old lists), CRF alone 0.90, CRF on the rules 0.92 (what ships);
~90,000 words/s on one core; the model is 0.6 MB.

How :func:`extract_entities` reads a text, in order:

1. **Rules** (:func:`rule_entities`), below.
2. **Tagger** (:func:`newsloom.enrich.ner.tag`): sentences, features, BIO labels.
3. **Decisions that hold whatever the statistics say** (:func:`_stacked`): datelines
   give their place and agency; a sentence-initial common word and a nationality
   adjective are not names; one kind per name in a document; a name in an ALL-CAPS
   headline must be vouched for by the article; an agency is an organisation.

How the rules read a text, in order:

1. **Datelines.** ``CITY (Agency) —``, ``CITY, Aug 30 (Agency) -``, ``CITY 1996-08-30``
   give a place (and an organisation).
2. **Runs.** Maximal runs of capitalised words (``Bank of England``: lower-case ``of``,
   ``de``, ``van``.. may join two capitalised words; a possessive ``'s`` ends a run).
3. **Sentence starts.** A run's first word at a sentence start is dropped when it is a
   common word (stop list: ``The``, ``Officials``, ``Police``...) or, for a one-word run,
   when the word never appears capitalised mid-sentence in the text.
4. **Titles.** Leading honorifics and offices (``Foreign Minister``, ``Dr``, ``Judge``)
   are stripped and mark a person.
5. **Kind,** first rule that fires: an organisation head (``Ministry``, ``Agency``,
   ``Council``, ``Bank``, ``Service``... last word, or first word before ``of``) or an
   acronym -> org; a place head (``Street``, ``Valley``, ``Bridge``; ``River``,
   ``Cape``, ``Port`` first) or the country/city gazetteer -> place; a title, a speech
   verb (``X said``, ``said X``), an apposition (``X, 61,`` ``X, who``) or a role noun
   before it (``the economist X``) -> person; a place cue before it (``in X``, ``near
   X``, ``town of X``) -> place; two or three name-like words -> person; else misc.
6. **Propagation.** A kind found once holds for the same name in the whole text, and a
   person's surname alone is that person; a demonym (an adjective whose stem is an
   entity of the text, or a listed nationality) is not an entity.

:func:`canonical_key` folds spellings (case, diacritics, possessives, a curated alias
table such as Kiev -> Kyiv, Zelensky -> Zelenskyy). :func:`merge_variants` merges the
names of *one story* whose keys differ by one letter (a substitution, a doubled letter,
or one letter added or dropped not at the end: Kharkov/Kharkiv-like transliterations;
never a country and its adjective, never two numbered names) and shows each group under
its most frequent spelling.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from newsloom.enrich.text import NEWS_AGENCIES

__all__ = ["Entity", "extract_entities", "rule_entities", "cached_entities", "canonical_key", "spelling_variants",
           "merge_variants", "variant_of", "surname", "fold", "KINDS"]

KINDS = ("person", "place", "org", "misc")


@dataclass(frozen=True)
class Entity:
    text: str          # text[start:end] (possessive stripped); a "CITY (Agency) —"
                       # dateline's place is title-cased (see _datelines)
    kind: str          # person, place, org, misc
    start: int         # character offsets into the text
    end: int


# --------------------------------------------------------------------------- lexicons

def _set(s: str) -> frozenset[str]:
    return frozenset(s.split())


# Words that start sentences capitalised but are not names (checked case-folded): function
# words, the collective nouns news sentences open with ("Officials said", "Police found"),
# institutions named generically, calendar words, interjections.
_COMMON = _set("""
a an the this that these those there here it its he she they we i you his her their our my
your in on at of for from to by with without into onto over under after before during since
until as and but or nor so yet if when while where whether which who whom whose what why how
not no nor all any both each every few many more most other some such one two three four five
six seven eight nine ten first second third last next new old also already still just only
even then now today tonight yesterday tomorrow meanwhile however although though because
despite according among amid around about above across along against between beyond
officials official police residents families relatives experts analysts critics sources
researchers scientists engineers workers staff members protesters supporters opponents voters
investigators detectives firefighters forecasters economists lawyers prosecutors judges
negotiators delegates ministers neighbours villagers troops soldiers rescuers opposition
government mayor minister president governor museum court company council committee agency
ministry bank service union group party university report reports statement data
heavy high low strong weak local national regional
northern southern eastern western central public private international foreign domestic
under-secretary deputy chief senior junior former acting interim current future
mr mrs ms dr prof sir madam yes no ok thanks please hello goodbye oh well
monday tuesday wednesday thursday friday saturday sunday
january february march april may june july august september october november december
what where when why who how which is are was were do does did can could will would should
shall may might must have has had be been being let lets
christmas easter
""")

# Capitalised words that never make a name on their own (inside a run they end it):
# abbreviations of common nouns and calendar words.
_NEVER = _set("""
i mps mp ceo cfo tv pm am a.m. p.m. ok eu-wide covid ai dna rna gdp hiv it id pin vat
monday tuesday wednesday thursday friday saturday sunday
january february april june july august september october november december
""")

# Honorifics and offices before a person's name (case-folded, one word each; multi-word
# offices are sequences of these: "Deputy Foreign Minister", "Detective Inspector").
# News puts them before names ("Russian President X"); the name after them is a person.
_TITLES = _set("""
president vice prime minister deputy foreign interior defence defense finance justice
health education digital affairs economy trade home culture transport environment energy
secretary chancellor governor mayor judge justice magistrate prosecutor attorney general
senator congressman congresswoman representative ambassador envoy consul spokesman
spokeswoman spokesperson councillor councilor alderman chairman chairwoman chair chief
executive director commissioner inspector detective sergeant constable superintendent
officer captain colonel lieutenant major commander admiral marshal brigadier corporal
private sgt lt col gen capt cpl adm maj
dr dr. doctor prof prof. professor mr mr. mrs mrs. ms ms. miss mx sir dame lord lady
king queen prince princess duke duchess emperor empress sheikh emir sultan pope cardinal
bishop archbishop rabbi imam father sister brother reverend rev rev.
coach manager striker goalkeeper captain defender midfielder
mp mep
""")
# Title words that can also start an organisation or place ("President Street" is rare,
# "General Motors" is not): only a title when a name-like word follows.
_TITLES_BARE = frozenset(w.rstrip(".") for w in _TITLES)
_TITLE_ONLY_BEFORE_NAMES = _set("general major private chief chair")

# Last words (heads) of organisation names in news: institutions, company suffixes,
# newspapers, sports clubs ("Ministry", "Corp", "Gazette", "Rovers").
_ORG_HEADS = _set("""
ministry agency council bank service services committee union company court office
university party group association press registry police parliament institute authority
commission corporation fund board department federation guard forces army navy museum
observatory journal assembly airlines airways air shipping steel chamber society
foundation college school hospital club united athletic rovers wanderers fc
times news gazette daily observer courier bulletin ledger wire network telegraph post
inc inc. ltd ltd. llc plc corp corp. co co. holdings bureau cabinet senate congress
organisation organization alliance coalition movement front trust league
laboratory laboratories labs systems industries group motors energy telecom bancorp
cooperative brigade directorate secretariat tribunal prosecution prosecutors guild
transit lines rail railways airways foods pharma pharmaceuticals media studios
publishing logistics mining oil gas petroleum electric insurance capital partners
ventures bancorp brewery brewing
""")
# First words of organisation names ("Bank of ...", "University of ...").
_ORG_FIRST = _set("ministry bank university council court department office institute "
                  "commission agency bureau museum federation committee board league "
                  "organisation organization party house")
# Last words of place names (streets, landforms, regions, buildings) and first words
# ("River X", "Mount X", "Port X").
_PLACE_HEADS = _set("""
street road lane avenue boulevard way drive square row quay wharf pier
valley bridge crossing island islands isle strait straits sea ocean hills hill mountains
mountain mount bay lake river coast peninsula desert forest gulf canal stadium park
airport station harbour harbor province region county district pass point heights falls
town village city ford palace castle cathedral gate gardens market centre center plaza
port beach cliffs delta basin plain plains reservoir marsh moor moors fields field
""")
# First words that make a place ("River X", "Lake X", "North X").
_PLACE_FIRST = _set("river lake mount cape port fort saint st st. lower upper north south "
                    "east west new gulf isle bay")
# Lower-case words before a capitalised run that make it a place ("in X", "town of X").
_PLACE_CUES = _set("in near outside across throughout towards toward around inside "
                   "into via through")
# Nouns before "of X" that make X a place ("the town of X", "the mayor of X").
_PLACE_OF = _set("town village city capital region province district port island residents "
                 "people citizens inhabitants mayor outskirts centre center north south "
                 "east west heart streets "
                 "republic kingdom state county municipality suburb coast outskirts "
                 "borough valley hamlet settlement islands")
# Lower-case role nouns right before a name ("the economist X", "his lawyer X").
_ROLES = _set("""
economist photographer mechanic lawyer director leader spokesman spokesperson spokeswoman
colleague counterpart teacher fisherman fishermen farmer mayor manager captain goalkeeper
substitute striker defender midfielder coach judge prosecutor minister president chairman
chairwoman chief executive secretary governor official consultant analyst
poet author novelist writer professor researcher scientist engineer doctor nurse son
daughter wife husband brother sister father mother uncle aunt cousin friend neighbour
widow resident shopkeeper baker driver pilot journalist reporter editor artist singer
actor actress player champion founder owner boss deputy adviser advisor aide envoy
diplomat ambassador senator lawmaker councillor banker trader investor activist campaigner
witness suspect victim survivor patient student pupil inspector officer detective
historian architect expert commentator chef clerk assistant
""")
# Reporting verbs: "X said", "said X" mark a person.
_SPEECH = _set("said says told added asked warned explained insisted argued admitted "
               "wrote posted announced confirmed denied urged claimed stated replied "
               "recalled noted acknowledged welcomed thanked declined laughed")
# Lower-case particles inside names ("Bank of England", "Ludwig van Beethoven").
_CONNECTORS = _set("of de la del van von der den da di du le al bin el y")

# A small gazetteer: sovereign states, the regions and cities most often in the news
# (US states, UK nations, capitals, large cities), plus their common exonyms. Lower-case,
# diacritics folded; one word each (two-word names are in _GAZ_MULTI).
_COUNTRIES = """
afghanistan albania algeria andorra angola argentina armenia australia austria azerbaijan
bahamas bahrain bangladesh barbados belarus belgium belize benin bhutan bolivia bosnia
botswana brazil brunei bulgaria burkina burundi cambodia cameroon canada chad chile china
colombia comoros congo croatia cuba cyprus czechia denmark djibouti dominica ecuador egypt
eritrea estonia eswatini ethiopia fiji finland france gabon gambia georgia germany ghana
greece grenada guatemala guinea guyana haiti honduras hungary iceland india indonesia iran
iraq ireland israel italy jamaica japan jordan kazakhstan kenya kiribati kosovo kuwait
kyrgyzstan laos latvia lebanon lesotho liberia libya liechtenstein lithuania luxembourg
madagascar malawi malaysia maldives mali malta mauritania mauritius mexico micronesia
moldova monaco mongolia montenegro morocco mozambique myanmar namibia nauru nepal
netherlands nicaragua niger nigeria norway oman pakistan palau palestine panama paraguay
peru philippines poland portugal qatar romania russia rwanda samoa senegal serbia
seychelles singapore slovakia slovenia somalia spain sudan suriname sweden switzerland
syria taiwan tajikistan tanzania thailand togo tonga tunisia turkey turkiye turkmenistan
tuvalu uganda ukraine uruguay uzbekistan vanuatu venezuela vietnam yemen zambia zimbabwe
europe africa asia america antarctica oceania arctic crimea donbas gaza kashmir
kyiv kiev moscow istanbul ankara london paris berlin madrid rome warsaw vienna prague
budapest brussels geneva beijing tokyo seoul delhi mumbai karachi tehran baghdad cairo
damascus beirut jerusalem riyadh dubai doha nairobi lagos johannesburg washington
ottawa canberra sydney minsk kharkiv odesa odessa lviv dnipro kherson donetsk luhansk
mariupol zaporizhzhia sumy earth moon mars
britain england scotland wales ulster siberia chechnya tibet xinjiang kurdistan bavaria
catalonia flanders balkans caucasus sahara scandinavia caribbean
alabama alaska arizona arkansas california colorado connecticut delaware florida hawaii
idaho illinois indiana iowa kansas kentucky louisiana maine maryland massachusetts
michigan minnesota mississippi missouri montana nebraska nevada ohio oklahoma oregon
pennsylvania tennessee texas utah vermont virginia wisconsin wyoming
ontario quebec alberta manitoba saskatchewan queensland tasmania
amsterdam athens bangkok barcelona belgrade bogota boston bucharest chicago copenhagen
dallas detroit dhaka dublin edinburgh frankfurt hamburg hanoi havana helsinki houston
islamabad jakarta kabul kinshasa lahore lima lisbon manila melbourne miami milan montreal
munich oslo philadelphia pretoria santiago sarajevo shanghai sofia stockholm taipei
tbilisi toronto tripoli tunis vancouver zagreb zurich colombo nicosia amman baku yerevan
tashkent almaty ljubljana bratislava vilnius riga tallinn kampala harare lusaka khartoum
algiers rabat casablanca dakar abidjan accra abuja luanda maputo mogadishu sanaa muscat
jeddah mecca kolkata calcutta chennai bangalore kathmandu rangoon yangon osaka pyongyang
macau guangzhou shenzhen wellington auckland perth brisbane adelaide caracas quito
montevideo brasilia managua seattle atlanta denver phoenix baltimore cleveland
pittsburgh cincinnati milwaukee minneapolis calgary marseille lyon cologne stuttgart
naples turin florence venice seville valencia porto rotterdam antwerp gothenburg
manchester liverpool birmingham glasgow belfast leeds gdansk krakow kosice bonn
"""
_GAZ_PLACES = _set(_COUNTRIES)
# Two-word places, first two words folded ("United States", "New York").
_GAZ_MULTI = {("united", "states"), ("united", "kingdom"), ("new", "zealand"),
              ("south", "africa"), ("south", "korea"), ("north", "korea"),
              ("saudi", "arabia"), ("sri", "lanka"), ("new", "york"), ("hong", "kong"),
              ("costa", "rica"), ("el", "salvador"), ("sierra", "leone"),
              ("south", "sudan"), ("czech", "republic"), ("new", "jersey"),
              ("new", "mexico"), ("new", "hampshire"), ("north", "carolina"),
              ("south", "carolina"), ("north", "dakota"), ("south", "dakota"),
              ("west", "virginia"), ("rhode", "island"), ("british", "columbia"),
              ("nova", "scotia"), ("northern", "ireland"), ("los", "angeles"),
              ("san", "francisco"), ("buenos", "aires"), ("rio", "de"), ("sao", "paulo"),
              ("kuala", "lumpur"), ("addis", "ababa"), ("mexico", "city"), ("tel", "aviv"),
              ("west", "bank"), ("middle", "east"), ("latin", "america")}

# News agencies: the credit in a dateline or byline is an organisation, never a person
# (the text toolkit's one list).
_AGENCIES = NEWS_AGENCIES

# Calendar words: capitalised, never names on their own (features for the tagger).
_TIME_WORDS = _set("""january february march april may june july august september october
november december jan feb mar apr jun jul aug sep sept oct nov dec monday tuesday wednesday
thursday friday saturday sunday""")

# Transliteration and exonym variants -> one key (word level, folded).
ALIASES: dict[str, str] = {
    "kiev": "kyiv", "zelensky": "zelenskyy", "zelenskiy": "zelenskyy", "zelenski": "zelenskyy",
    "turkey": "turkiye", "odessa": "odesa", "kharkov": "kharkiv", "lvov": "lviv",
    "dnepr": "dnipro", "dnipropetrovsk": "dnipropetrovsk", "syrsky": "syrskyi",
    "syrskii": "syrskyi", "navalny": "navalny", "navalnyy": "navalny",
    "gaddafi": "gaddafi", "qaddafi": "gaddafi", "kadhafi": "gaddafi", "qadhafi": "gaddafi",
    "peking": "beijing", "bombay": "mumbai", "burma": "myanmar", "czechia": "czechia",
    "tchaikovsky": "tchaikovsky", "chaikovsky": "tchaikovsky", "yeltsin": "yeltsin",
    "mohammad": "muhammad", "mohammed": "muhammad", "muhammed": "muhammad",
    "mohamed": "muhammad", "gorbachev": "gorbachev", "gorbatchev": "gorbachev",
    "peskov": "peskov", "lavrov": "lavrov", "ivory": "ivory",
}

# Abbreviations whose dot does not end a sentence ("Dr. X", "U.S. officials").
_ABBREV = _set("dr mr mrs ms st prof gen col lt sgt capt rev jr sr no vs etc inc ltd "
               "co corp mt ft a.m p.m u.s e.g i.e jan feb mar apr aug sep sept oct nov dec")

# --------------------------------------------------------------------------- tokens

_TOKEN_RE = re.compile(r"[^\W_]+(?:[-'’.][^\W_]+)*(?:['’](?![^\W_]))?|[^\w\s]")
# Datelines, at a line start: "CITY (Agency) —", "CITY, Region, Aug 30 (Agency) -",
# "CITY 1996-08-30" (a line of its own). The city is in capitals; a date or an agency
# credit must be there, so an ALL-CAPS headline ending in a dash is not one.
_MONTH_RE = (r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?[ ]+\d{1,2}")
_DATELINE_RE = re.compile(
    r"^[ \t]*(?P<city>[A-Z][A-Z'’.\-]*[A-Z.](?:[ ][A-Z][A-Z'’.\-]*[A-Z.]){0,3})"
    r"(?:,[ ]*(?P<region>[A-Z][\w'’.\-]*(?:[ ][A-Z][\w'’.\-]*){0,2}))?"
    rf"(?:(?:,[ ]*|[ ]+)(?P<date>{_MONTH_RE}|(?P<iso>\d{{4}}-\d{{2}}-\d{{2}})))?"
    r"[ ]*(?:\((?P<agency>[^)\n]{2,40})\))?"
    r"[ ]*(?P<dash>[—–-]+[ \t]*|$)", re.M)


def _datelines(text: str) -> list[tuple[int, int, list[Entity]]]:
    """``(start, end, entities)`` of each dateline: its place(s) and its agency (org)."""
    out = []
    for m in _DATELINE_RE.finditer(text):
        agency, iso, dash = m.group("agency"), m.group("iso"), m.group("dash")
        if not (agency or m.group("date")):
            continue
        if iso and dash:                  # "CITY 1996-08-30" is a line of its own
            continue
        if not iso and not dash:
            continue
        ents = []
        city = m.group("city")
        # the agency form shows the city title-cased (pinned by tests/ai/test_units.py)
        ents.append(Entity(city.title() if agency else city, "place", m.start("city"),
                           m.end("city")))
        if m.group("region"):
            ents.append(Entity(m.group("region"), "place", m.start("region"), m.end("region")))
        if agency:
            a = agency.strip()
            ents.append(Entity(a, "org", m.start("agency") + agency.index(a),
                               m.start("agency") + agency.index(a) + len(a)))
        out.append((m.start(), m.end(), ents))
    return out
_OPEN = frozenset("\"“‘'([«")
_CLOSE = frozenset("\"”’')]»")
_ENDS = frozenset(".!?:;…")


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Case-folded, diacritics stripped ("Róisín" -> "roisin")."""
    return "".join(c for c in unicodedata.normalize("NFKD", text.casefold())
                   if not unicodedata.combining(c))


@dataclass
class _Tok:
    text: str
    start: int
    end: int
    word: bool
    cap: bool = False
    sent_start: bool = False
    poss: bool = False       # ends with 's / s' (possessive)
    folded: str = ""


# Abbreviations that may end a sentence: a sentence starts after them when a common word
# follows ("at 5 p.m. The ...").
_SOFT_ABBREV = _set("a.m p.m etc inc ltd co corp jr sr")


def _tokenize(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    sent_start = True
    soft = False             # after "p.m." : a sentence start if a common word follows
    for m in _TOKEN_RE.finditer(text):
        s, b, e = m.group(0), m.start(), m.end()
        word = s[0].isalnum()
        if not word:
            toks.append(_Tok(s, b, e, False))
            if s in _ENDS:
                prev = toks[-2] if len(toks) > 1 else None
                abbrev = (s == "." and prev is not None and prev.word
                          and (prev.folded in _ABBREV or (len(prev.text) == 1 and prev.cap)))
                if not abbrev:
                    sent_start = True
                elif prev.folded in _SOFT_ABBREV:
                    soft = True
            elif s in ("—", "–") and len(toks) == 1:
                sent_start = True
            elif s in ("“", "‘", "«") or (s == '"' and e < len(text) and text[e].isalnum()
                                            and (b == 0 or not text[b - 1].isalnum())):
                sent_start = True
            continue
        # a line break (paragraph, headline) also starts a sentence
        if toks and "\n" in text[toks[-1].end:b]:
            sent_start = True
        if soft and fold(s) in _COMMON and s[0].isupper():
            sent_start = True
        soft = False
        poss = False
        core = s
        if len(core) > 2 and core[-2:] in ("'s", "’s"):
            core, poss = core[:-2], True
        elif core[-1] in "'’":
            core, poss = core[:-1], True
        toks.append(_Tok(core, b, b + len(core), True, cap=core[0].isupper(),
                         sent_start=sent_start, poss=poss, folded=fold(core)))
        sent_start = False
    return toks


def _is_acronym(w: str) -> bool:
    letters = [c for c in w if c.isalpha()]
    return 2 <= len(letters) <= 6 and all(c.isupper() for c in letters) and w[0].isalpha()


def _namelike(t: _Tok) -> bool:
    """A capitalised word that can be part of a name."""
    if not t.word or not t.cap:
        return False
    if t.folded in _NEVER:
        return False
    return True


# --------------------------------------------------------------------------- runs

@dataclass
class _Run:
    toks: list[_Tok]
    kind: str | None = None
    titled: bool = False
    strength: int = 0

    @property
    def words(self) -> list[str]:
        return [t.folded for t in self.toks]


def _runs(toks: list[_Tok]) -> list[tuple[int, int]]:
    """Index ranges [i, j) of capitalised runs (connectors inside allowed)."""
    out = []
    i, n = 0, len(toks)
    while i < n:
        if not _namelike(toks[i]):
            i += 1
            continue
        j = i + 1
        while j < n:
            prev = toks[j - 1]
            if prev.poss and not (j < n and toks[j].word and (
                    toks[j].folded in _ORG_HEADS | _PLACE_HEADS
                    or (prev.text.endswith("s") and toks[j].cap and not toks[j].sent_start))):
                break
            t = toks[j]
            if _namelike(t) and not t.sent_start:
                if prev.text.isupper() != t.text.isupper() and len(prev.text) > 1 and len(t.text) > 1 \
                        and (prev.text.isupper() and not _is_acronym(prev.text)):
                    break
                j += 1
                continue
            if (t.word and t.folded in _CONNECTORS and j + 1 < n and _namelike(toks[j + 1])
                    and not toks[j + 1].sent_start and not t.cap):
                j += 2
                continue
            break
        out.append((i, j))
        i = j
    return out


def _strip_title(words: list[str], toks: list[_Tok]) -> int:
    """Number of leading title words in a run (leaves at least one name word)."""
    k = 0
    while k < len(words) - 1 and words[k].rstrip(".").removeprefix("ex-") in _TITLES_BARE:
        k += 1
    if k and words[k - 1] in _TITLE_ONLY_BEFORE_NAMES and k == 1 and len(words) - k > 2:
        return 0
    return k


def _demonym_stems(w: str) -> list[str]:
    out = []
    if w.endswith("ian"):
        out += [w[:-3] + "ia", w[:-3] + "e", w[:-3] + "y", w[:-3], w[:-1]]
    if w.endswith("an"):
        out += [w[:-1], w[:-2], w[:-2] + "a", w[:-2] + "o"]
    if w.endswith("ese"):
        out += [w[:-3], w[:-3] + "a"]
    if w.endswith("ish"):
        out += [w[:-3], w[:-3] + "land"]
    if w.endswith("i"):
        out += [w[:-1], w[:-1] + "a"]
    return out


# Nationality and regional adjectives: not entities on their own ("Russian troops").
_DEMONYMS = _set("american british english french german italian spanish russian ukrainian "
                 "chinese japanese indian turkish polish dutch swedish norwegian danish "
                 "finnish greek european african asian arab arabic israeli palestinian "
                 "iranian iraqi syrian egyptian korean canadian australian mexican "
                 "brazilian belarusian hungarian romanian serbian croatian czech slovak "
                 "austrian swiss belgian irish scottish welsh soviet western eastern "
                 "northern southern latin nordic baltic balkan jewish muslim christian "
                 "catholic orthodox protestant kurdish")


def extract_entities(text: str, *, known: Mapping[str, str] | None = None) -> list[Entity]:
    """Named entities of *text*, in order: ``Entity(text, kind, start, end)``.

    *known* maps :func:`canonical_key` of names already classified elsewhere (another
    article of the same story) to a kind; it settles names this text alone leaves open.
    """
    if not text:
        return []
    return _stacked(text, known or {})


def _stacked(text: str, known: Mapping[str, str], *, stacked: bool = True,
             tagger=None) -> list[Entity]:
    """The rules, then the CRF reading the rules' answer as a feature, then the few
    decisions that hold whatever the statistics say. In order:

    1. Datelines give their place(s) and agency; the tagger's spans inside them go.
    2. Not names: a one-word name opening a sentence that the document otherwise writes
       in lower case and never capitalised mid-sentence ("Wildfire forces..."), and a
       nationality adjective left ``misc`` ("Kenyan" beside "Kenya").
    3. One kind per name in a document: the kind most mentions outside ALL-CAPS lines
       have (ties: person, place, org, misc).
    4. A name found in an ALL-CAPS headline (or a Title Case first line) takes the kind
       the article gives it; when the article never writes it in normal case, it is kept
       only if every word is vouched for (capitalised mid-sentence elsewhere, or a
       gazetteer place or agency). Casing, the tagger's best clue, says nothing there.
    5. An agency is an organisation; a name left ``misc`` takes its kind in *known*.
    """
    from newsloom.enrich import ner

    rules = _rules(text, known) if stacked else []
    out: list[Entity] = []
    taken: list[tuple[int, int]] = []
    for s, e, ents in _datelines(text):                                       # 1
        out.extend(ents)
        taken.append((s, e))
    found, capmid, lower = ner.tag(text, [(r.start, r.end, f"{r.kind}:{min(n, 2)}")
                                          for r, n in rules], stacked=stacked, tagger=tagger)
    found = [f for f in found if not any(a <= f.start < b for a, b in taken)]
    found = [f for f in found if not (f.initial and not f.caps                 # 2
                                      and _common_word(text[f.start:f.end], capmid, lower))]
    names = {w for f in found for w in canonical_key(text[f.start:f.end]).split()}
    found = [f for f in found if not (f.kind == "misc" and _demonym(text[f.start:f.end], names))]
    votes: dict[str, Counter[str]] = {}
    for s, e, kind, caps, _ in found:
        if not caps:
            votes.setdefault(canonical_key(text[s:e]), Counter())[kind] += 1
    for s, e, kind, caps, _ in found:
        surface = text[s:e]
        key = canonical_key(surface)
        v = votes.get(key)
        if v:                                                                  # 3
            kind = sorted(v.items(), key=lambda kv: (-kv[1], KINDS.index(kv[0])))[0][0]
        elif caps and _headline(text, s) and not _confirmed(surface, capmid):  # 4
            continue
        if fold(surface) in _AGENCIES:                                         # 5
            kind = "org"
        elif kind == "misc" and known:
            kind = known.get(key, "misc")
        out.append(Entity(surface, kind, s, e))
    out.sort(key=lambda en: en.start)
    return out


def _common_word(surface: str, capmid: set[str], lower: set[str]) -> bool:
    """A one-word name at a sentence start that the document also writes in lower case and
    never capitalised mid-sentence is a common word ("Wildfire forces ...")."""
    w = surface.lower()
    return " " not in surface and w in lower and w not in capmid


def _demonym(surface: str, names: set[str]) -> bool:
    """A nationality adjective ("Kenyan" beside "Kenya", "Russian"): not an entity."""
    if " " in surface.strip():
        return False
    w = canonical_key(surface)
    return w in _DEMONYMS or any(s in names for s in _demonym_stems(w))


_WORD_RE = re.compile(r"[^\W\d_][\w'’.&-]*")


def _headline(text: str, pos: int) -> bool:
    """The ALL-CAPS line around *pos* reads as a headline (3+ words, mostly words), not as
    a results-table row ("NEW YORK 75 52 .591")."""
    a = text.rfind("\n", 0, pos) + 1
    b = text.find("\n", pos)
    parts = text[a:b if b >= 0 else len(text)].split()
    words = [p for p in parts if _WORD_RE.fullmatch(p.strip(".,:;!?\"'"))]
    return len(words) >= 3 and 2 * len(words) >= len(parts)


def _confirmed(surface: str, capmid: set[str]) -> bool:
    """Every word of a name found in an ALL-CAPS line is vouched for elsewhere: written
    capitalised mid-sentence in the document, or a gazetteer place or agency."""
    ws = [fold(w) for w in _WORD_RE.findall(surface)]
    for a, b in zip(ws, ws[1:]):
        if (a, b) in _GAZ_MULTI:
            return True
    return bool(ws) and all(w in capmid or w.rstrip(".") in _GAZ_PLACES or w in _AGENCIES
                            or w in _CONNECTORS for w in ws)


def rule_entities(text: str, *, known: Mapping[str, str] | None = None) -> list[Entity]:
    """The rules alone (no model): what :func:`extract_entities` returned before the CRF,
    kept as the tagger's stacked feature and as the baseline it is compared with."""
    return [e for e, _ in _rules(text, known)]


def _rules(text: str, known: Mapping[str, str] | None = None) -> list[tuple[Entity, int]]:
    """The rules' entities, each with its strength (2+: a rule that rarely errs)."""
    if not text:
        return []
    out: list[tuple[Entity, int]] = []
    toks = _tokenize(text)
    # 1. datelines
    skip: set[int] = set()
    for start, end, ents in _datelines(text):
        out.extend((e, 3) for e in ents)
        for n, t in enumerate(toks):
            if start <= t.start < end:
                skip.add(n)
            elif t.start >= end:
                t.sent_start = True
                break
    if skip:
        toks = [t for n, t in enumerate(toks) if n not in skip]
    idx = {id(t): n for n, t in enumerate(toks)}
    # 2. runs; words seen capitalised mid-sentence (alone, or as a run's last word)
    ranges = _runs(toks)
    mid_single: set[str] = set()
    for i, j in ranges:
        if not toks[i].sent_start:
            last = toks[j - 1].folded
            if j - i == 1 or (last not in _ORG_HEADS and last not in _PLACE_HEADS):
                mid_single.add(last)
    known = known or {}
    runs: list[_Run] = []
    for i, j in ranges:
        # 3. sentence starts
        while i < j and toks[i].sent_start:
            w = toks[i].folded
            if w in _TITLES and j - i > 1 and w not in ("the", "a"):
                break
            if w in _COMMON or len(w) == 1:
                i += 1
                if i < j and toks[i].folded in _CONNECTORS:
                    i += 1
                continue
            if j - i == 1 and w not in mid_single and w not in _GAZ_PLACES \
                    and canonical_key(toks[i].text) not in known and not _evident_name(toks, j):
                i += 1
            break
        while j > i and toks[j - 1].folded in _CONNECTORS:
            j -= 1
        if i < j:
            runs.append(_Run(toks[i:j]))
    # 4-5. titles and kinds, with a strength per run
    evidence: dict[str, Counter[str]] = {}
    keys: list[str] = []
    extra: list[_Run] = []
    strongest: dict[str, int] = {}
    for run in runs:
        kind, strength = _classify(run, toks, idx)
        run.kind = kind
        if kind == "person":
            cut = next((n for n, t in enumerate(run.toks) if t.folded in _CONNECTORS), None)
            if cut:
                tail = _Run(run.toks[cut + 1:])
                run.toks = run.toks[:cut]
                if tail.toks:
                    extra.append(tail)
        key = canonical_key(" ".join(t.text for t in run.toks))
        keys.append(key)
        if kind:
            evidence.setdefault(key, Counter())[kind] += strength
            strongest[key] = max(strongest.get(key, 0), strength)
    for run in extra:                       # "President X of Y": Y
        run.kind = "place" if len(run.toks) < 4 else "misc"
        key = canonical_key(" ".join(t.text for t in run.toks))
        evidence.setdefault(key, Counter())[run.kind] += 1
        runs.append(run)
        keys.append(key)
    if extra:
        order = sorted(range(len(runs)), key=lambda n: runs[n].toks[0].start)
        runs, keys = [runs[n] for n in order], [keys[n] for n in order]
    _coordinate(runs, keys, toks, idx, evidence)
    # 6. propagation: one kind per name; surnames; first word of an org/place; demonyms
    settled = {k: sorted(c.items(), key=lambda kv: (-kv[1], KINDS.index(kv[0])))[0]
               for k, c in evidence.items()}
    person_parts: set[str] = set()
    head_of: dict[str, str] = {}
    strong_multi = [(k, kind) for k, (kind, _) in settled.items()
                    if kind in ("org", "place") and strongest.get(k, 0) >= 2 and " " in k]
    for key, (kind, score) in settled.items():
        ws = key.split()
        if kind == "person" and len(ws) > 1 and not any(
                mk != key and mk.startswith(key + " ") for mk, mkind in strong_multi):
            person_parts.update((ws[0], ws[-1]))
        if kind in ("org", "place") and len(ws) > 1:
            head_of.setdefault(ws[0], kind)
    ent_words = {t.folded for t in toks if t.cap} | set(known)
    multi_keys = [(k, kind) for k, (kind, _) in settled.items()
                  if kind in ("org", "place") and strongest.get(k, 0) >= 2 and " " in k]
    for run, key in zip(runs, keys):
        words = run.words
        if len(words) == 1:
            i1 = idx[id(run.toks[-1])]
            nxt = toks[i1 + 1] if i1 + 1 < len(toks) and toks[i1 + 1].word else None
            w = words[0]
            if nxt is not None and not nxt.cap and not run.toks[-1].poss and (
                    w in _DEMONYMS or any(s in ent_words for s in _demonym_stems(w))
                    or (w.endswith(("ian", "ean", "ese")) and nxt.folded not in _SPEECH
                        and strongest.get(key, 0) < 2)):
                run.kind = "drop"
                continue
        kind, _ = settled.get(key, (None, 0))
        score = strongest.get(key, 0)
        if score < 2:
            for mk, mkind in multi_keys:
                if mk != key and mk.startswith(key + " "):
                    kind, score = mkind, 2
                    break
        if len(words) == 1 and key in person_parts and score < 2:
            kind, score = "person", 2
        if key in known and known[key] != "misc" and score < 2:
            kind, score = known[key], 2
        if kind is None and len(words) == 1 and key in head_of:
            kind = head_of[key]
        run.kind = kind or "misc"
        run.strength = score if kind else 0
    for run in runs:
        if run.kind == "drop":
            continue
        s, e = run.toks[0].start, run.toks[-1].end
        out.append((Entity(text[s:e], run.kind, s, e), run.strength))
    out.sort(key=lambda en: en[0].start)
    return out


@lru_cache(maxsize=8192)
def cached_entities(text: str) -> tuple[Entity, ...]:
    """:func:`extract_entities` without *known*, memoised (stages re-read the same texts)."""
    return tuple(extract_entities(text))


def _evident_name(toks: list[_Tok], j: int) -> bool:
    """A sentence-initial one-word run ending before toks[j] is still a name when a speech
    verb follows ("Smith said") or "and" plus a capitalised word ("Chad and Niger")."""
    if j < len(toks) and toks[j].word and toks[j].folded in _SPEECH:
        return True
    return (j + 1 < len(toks) and toks[j].folded in ("and", "or") and toks[j + 1].word
            and toks[j + 1].cap and toks[j + 1].folded not in _COMMON)


def _coordinate(runs: list[_Run], keys: list[str], toks: list[_Tok], idx: dict[int, int],
                evidence: dict[str, Counter[str]]) -> None:
    """Names joined by "and"/"or"/"," share a kind: the weaker side takes the stronger's."""
    def best(key: str) -> tuple[str | None, int]:
        c = evidence.get(key)
        if not c:
            return None, 0
        kind, score = sorted(c.items(), key=lambda kv: (-kv[1], KINDS.index(kv[0])))[0]
        return kind, score

    for a in range(len(runs) - 1):
        ra, rb = runs[a], runs[a + 1]
        ia, ib = idx[id(ra.toks[-1])], idx[id(rb.toks[0])]
        between = [t.folded if t.word else t.text for t in toks[ia + 1:ib]]
        if between not in (["and"], ["or"], [","], [",", "and"]) or ra.toks[-1].poss:
            continue
        (ka, sa), (kb, sb) = best(keys[a]), best(keys[a + 1])
        if sa >= 2 and sb < 2 and ka in ("person", "place", "org"):
            evidence.setdefault(keys[a + 1], Counter())[ka] += sa
        elif sb >= 2 and sa < 2 and kb in ("person", "place", "org"):
            evidence.setdefault(keys[a], Counter())[kb] += sb
        elif ka in ("person", "place", "org") and kb is None:
            evidence.setdefault(keys[a + 1], Counter())[ka] += 1
        elif kb in ("person", "place", "org") and ka is None:
            evidence.setdefault(keys[a], Counter())[kb] += 1


# Lower-case nouns right before a name that make it an organisation ("the carrier X").
_ORG_CUES = _set("operator company firm group carrier airline insurer retailer broadcaster "
                 "newspaper club team agency charity lender bank manufacturer maker "
                 "developer publisher startup rival brand chain supplier contractor")
# Nouns after a possessive name that make it a place ("X's government", "X's capital").
_PLACE_POSS = _set("government foreign interior capital parliament president prime army "
                   "border borders economy cabinet national ministry largest biggest "
                   "military navy police health coast coastline north south east west "
                   "northern southern eastern western citizens people")
# Events, laws, prizes: first or last words that make a name misc ("Storm X", "X Act").
_MISC_FIRST = _set("storm hurricane typhoon cyclone operation")
_MISC_HEADS = _set("age ages era prize award awards cup trophy festival games championship act bill "
                   "treaty accord agreement protocol conference fair expo olympics war "
                   "crisis plan strategy programme program project report")


def _classify(run: _Run, toks: list[_Tok], idx: dict[int, int]) -> tuple[str | None, int]:
    """(kind, strength) for one run: strength 2 = a rule that rarely errs, 1 = a guess."""
    words = run.words
    k = _strip_title(words, run.toks)
    if k:
        rest = words[k:]
        if rest and rest[-1] not in _ORG_HEADS and rest[-1] not in _PLACE_HEADS:
            run.toks = run.toks[k:]
            run.titled = True
            return "person", 3
    words = run.words
    first, last = words[0], words[-1]
    if len(words) == 1 and _is_acronym(run.toks[0].text):
        if first in _GAZ_PLACES or first in ("us", "uk", "uae"):
            return "place", 2
        return "org", 2
    if first in _MISC_FIRST or last in _MISC_HEADS or any(c.isdigit() for c in words[-1]):
        return "misc", 2
    if last in _ORG_HEADS or (first in _ORG_FIRST and len(words) > 1):
        if not (last in _PLACE_HEADS and first in _PLACE_FIRST):
            return "org", 2
    if any(w in _ORG_HEADS and words[i + 1] == "of" for i, w in enumerate(words[:-1])):
        return "org", 2
    if last in _PLACE_HEADS or (first in _PLACE_FIRST and len(words) > 1):
        return "place", 2
    if (len(words) == 1 and first in _GAZ_PLACES) or tuple(words[:2]) in _GAZ_MULTI:
        return "place", 2
    i0, i1 = idx[id(run.toks[0])], idx[id(run.toks[-1])]
    prev_raw = toks[i0 - 1] if i0 > 0 and toks[i0 - 1].word else None
    prev = prev_raw
    if prev is not None and prev.folded in ("the", "a", "an") and i0 > 1 and toks[i0 - 2].word:
        prev = toks[i0 - 2]
    nxt = toks[i1 + 1] if i1 + 1 < len(toks) and toks[i1 + 1].word else None
    poss = run.toks[-1].poss
    if prev is None and i0 >= 2 and toks[i0 - 1].text == "," and toks[i0 - 2].word:
        prev = toks[i0 - 2]        # apposition: "the operator, Acme", "leader, Emil X"
    if prev is not None and not prev.cap and prev.folded in _ROLES:
        return "person", 2
    if prev is not None and not prev.cap and prev.folded in _ORG_CUES:
        return "org", 2
    if prev_raw is not None and prev_raw.folded in _PLACE_CUES:
        return "place", 2
    if prev_raw is not None and prev_raw.folded == "the" and i0 >= 2 and toks[i0 - 2].word \
            and toks[i0 - 2].folded in _PLACE_CUES:
        return "place", 1
    if prev_raw is not None and prev_raw.folded == "of" and i0 >= 2 and toks[i0 - 2].word \
            and toks[i0 - 2].folded in _PLACE_OF:
        return "place", 2
    if poss and nxt is not None and nxt.folded in _PLACE_POSS:
        return "place", 1
    if nxt is not None and not nxt.cap and nxt.folded in _PLACE_HEADS and not poss:
        return "place", 2
    if nxt is not None and not nxt.cap and nxt.folded in _ORG_HEADS and not poss \
            and nxt.folded not in ("office", "court", "bank", "police", "press", "news"):
        return "org", 1
    if prev_raw is not None and prev_raw.folded == "between" and len(words) <= 2:
        return "place", 1
    multi = 2 <= len(words) <= 3 and all(t.text[0].isupper() and t.text.isalpha()
                                         and not t.text.isupper() for t in run.toks)
    if nxt is not None and nxt.folded in _SPEECH and not poss:
        return "person", (2 if multi else 1)
    if prev_raw is not None and prev_raw.folded in _SPEECH and not poss:
        return "person", (2 if multi else 1)
    after = i1 + 1
    if (not poss and after + 1 < len(toks) and toks[after].text == "," and toks[after + 1].word
            and (toks[after + 1].folded in ("who", "whose") or toks[after + 1].text.isdigit())):
        return "person", 2
    if multi:
        return "person", 1
    if prev_raw is not None and prev_raw.folded in ("from", "at", "to") and len(words) == 1:
        return "place", 1
    return None, 0


# --------------------------------------------------------------------------- variants

_NONWORD_RE = re.compile(r"[^\w\s-]+")


@lru_cache(maxsize=1)
def _spellings() -> dict[str, tuple[str, ...]]:
    groups: dict[str, set[str]] = {}
    for word, canon in ALIASES.items():
        groups.setdefault(canon, {canon}).add(word)
    return {w: tuple(sorted(g - {w})) for g in groups.values() if len(g) > 1 for w in g}


def spelling_variants(word: str) -> tuple[str, ...]:
    """The other spellings of one folded word that the alias table knows ("kiev" -> ("kyiv",),
    "zelenskyy" -> ("zelenski", "zelenskiy", "zelensky")); empty for any other word."""
    return _spellings().get(word, ())


def canonical_key(name: str) -> str:
    """A spelling-insensitive key: folded, possessive and punctuation dropped, aliases
    applied word by word ("Zelensky's" -> "zelenskyy", "Kiev" -> "kyiv")."""
    s = fold(unicodedata.normalize("NFKC", name)).replace("’", "'")
    s = re.sub(r"'s\b", "", s)
    s = _NONWORD_RE.sub(" ", s).replace("-", " ")
    words = [ALIASES.get(w, w) for w in s.split()]
    return " ".join(words)


def _one_edit(a: str, b: str) -> bool:
    """Keys one letter apart the way transliterations differ: one substitution (not of a
    digit), a doubled letter, or one letter added/dropped anywhere but the end."""
    if a == b:
        return False
    la, lb = len(a), len(b)
    if la == lb:
        diff = [i for i in range(la) if a[i] != b[i]]
        return len(diff) == 1 and not (a[diff[0]].isdigit() or b[diff[0]].isdigit()) \
            and a[diff[0]] != " " and b[diff[0]] != " "
    if abs(la - lb) != 1:
        return False
    short, long_ = (a, b) if la < lb else (b, a)
    i = 0
    while i < len(short) and short[i] == long_[i]:
        i += 1
    if short[i:] != long_[i + 1:]:
        return False
    extra = long_[i]
    if extra.isdigit() or extra == " ":
        return False
    doubled = (i > 0 and long_[i - 1] == extra) or (i + 1 < len(long_) and long_[i + 1] == extra)
    if doubled:
        return True
    # dropped/added letter at the end of a word is morphology (Kenya/Kenyan, -s)
    at_word_end = i == len(long_) - 1 or long_[i + 1] == " "
    return not at_word_end


def variant_of(a: str, b: str) -> bool:
    """True when names *a* and *b* are spelling variants (same key, or one letter apart
    on keys of 5+ letters, word by word)."""
    ka, kb = canonical_key(a), canonical_key(b)
    if ka == kb:
        return True
    wa, wb = ka.split(), kb.split()
    if len(wa) != len(wb):
        return False
    diff = [(x, y) for x, y in zip(wa, wb) if x != y]
    return len(diff) == 1 and min(len(diff[0][0]), len(diff[0][1])) >= 5 and _one_edit(*diff[0])


def merge_variants(names: Iterable[str], *,
                   seen_in: Mapping[str, Iterable[object]] | None = None) -> dict[str, str]:
    """Map every name of *one story* to the display form of its variant group.

    Names with the same :func:`canonical_key` always merge; names whose keys are one
    letter apart (:func:`variant_of`) merge when both are 5+ letters. *names* may repeat:
    the group is shown under its most frequent spelling (ties: the form the alias table
    points to, then the first seen). With *seen_in* (name -> article ids), two names that
    appear in the same article are never fuzzy-merged: one text rarely spells a name two
    ways, so two such names are two people.
    """
    counts: Counter[str] = Counter()
    order: dict[str, int] = {}
    for n in names:
        n = n.strip()
        if not n:
            continue
        counts[n] += 1
        order.setdefault(n, len(order))
    uniq = sorted(counts, key=order.__getitem__)
    parent = {n: n for n in uniq}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            if order[ra] < order[rb]:
                parent[rb] = ra
            else:
                parent[ra] = rb

    keys = {n: canonical_key(n) for n in uniq}
    by_key: dict[str, list[str]] = {}
    for n in uniq:
        by_key.setdefault(keys[n], []).append(n)
    for group in by_key.values():
        for other in group[1:]:
            union(group[0], other)
    ids = {n: set(seen_in.get(n, ())) for n in uniq} if seen_in else None
    klist = sorted(by_key)
    for x in range(len(klist)):
        for y in range(x + 1, len(klist)):
            ka, kb = klist[x], klist[y]
            if abs(len(ka) - len(kb)) > 1 or not variant_of(ka, kb):
                continue
            a, b = by_key[ka][0], by_key[kb][0]
            if ids is not None:
                ia = set().union(*(ids[n] for n in by_key[ka]))
                ib = set().union(*(ids[n] for n in by_key[kb]))
                if ia & ib:
                    continue
            union(a, b)
    groups: dict[str, list[str]] = {}
    for n in uniq:
        groups.setdefault(find(n), []).append(n)
    alias_targets = set(ALIASES.values())
    out: dict[str, str] = {}
    for members in groups.values():
        tot: Counter[str] = Counter()
        for n in members:
            tot[n] += counts[n]
        best = sorted(members, key=lambda n: (-tot[n],
                                              0 if fold(n) in alias_targets or fold(n) == keys[n] and any(
                                                  w in alias_targets for w in keys[n].split()) else 1,
                                              order[n]))[0]
        for n in members:
            out[n] = best
    return out


def surname(name: str) -> str:
    """The last name-like word of a person's name ("Volodymyr Zelenskyy" -> "Zelenskyy")."""
    parts = [p for p in re.split(r"\s+", name.strip()) if p]
    while len(parts) > 1 and fold(parts[-1]).rstrip(".") in ("jr", "sr", "ii", "iii"):
        parts.pop()
    return parts[-1] if parts else name
