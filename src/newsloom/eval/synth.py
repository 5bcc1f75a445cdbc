"""Synthetic news streams for tuning, tests and the benchmark (deterministic, no I/O).

Not real text: invented words on an English scaffold, built to have the statistics
that make story clustering hard, so thresholds are not fitted to 50 demo articles:

* **Topics share vocabulary.** 12 topics, each with a 400-word Zipfian vocabulary
  (every flood story talks of water and evacuations); a general 8,000-word Zipfian
  vocabulary shared by all; English stopwords for ~40% of running words.
* **Stories are small signals in that noise.** A story has ~25 event words (split in
  three phases, so coverage drifts as it develops; each article uses only 12 of them),
  1-3 people, a place, an organisation and a couple of numbers; they make ~10% of an
  article's words.
* **Recurring entities.** Topic figures (a minister, a club) recur across stories of
  the topic; places come from a shared 40-name region half the time.
* **Twins.** 15% of stories re-use the place and 40% of the event words of a recent
  story of the same topic (the two floods, the two court cases of the demo).
* **Spelling variants.** A name is spelled with one letter changed in 10% of articles
  (Varga/Warga).
* **Publishers.** 30, each closing 30% of its articles with its own boilerplate line.
* **Wire copies.** ``dup_rate`` of follow-up articles are copies of an earlier article
  of the story, perturbed like the real thing (:func:`perturb`): last paragraph
  trimmed, a credit line added, the headline changed, two paragraphs trimmed plus a
  credit line, ~3% of words edited (a copy-edit), or only the first half kept.

:func:`generate` yields rows in time order (``id, title, text, source, published``
(ISO 8601), ``story``, ``duplicate_of``), lazily, so 100,000 articles stream in
constant memory (only stories still receiving articles are held).
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone

from newsloom.enrich.text import split_paragraphs

__all__ = ["generate", "perturb", "PERTURBATIONS"]

_STOP = ("the the the the of of of and and and to to to a a in in is was that for on "
         "with as by at it from his her their has have had be been were are an this not "
         "but after over about which who its they he she more than will also into when "
         "said said says would could while where before two three since other some "
         "all up out there what no new last").split()
_CONS = "b c d f g h j k l m n p r s t v w z br ch dr gr kr pl st tr sh th".split()
_VOW = "a e i o u a e i o ai ea ou".split()
_CODAS = ["", "", "", "n", "r", "l", "s", "t", "m", "nd", "rt", "st", "x"]

PERTURBATIONS = ("trim", "credit", "headline", "trim2_credit", "edit", "half")


def _pseudo(rng: random.Random, syllables: int) -> str:
    return "".join(rng.choice(_CONS) + rng.choice(_VOW) for _ in range(syllables)) + rng.choice(_CODAS)


def _vocab(rng: random.Random, n: int, seen: set[str], lo: int = 2, hi: int = 3) -> list[str]:
    out = []
    while len(out) < n:
        w = _pseudo(rng, rng.randint(lo, hi))
        if len(w) > 3 and w not in seen:
            seen.add(w)
            out.append(w)
    return out


def _zipf_cum(n: int, s: float = 1.0) -> list[float]:
    return list(itertools.accumulate(1.0 / (r + 1) ** s for r in range(n)))


def _name(rng: random.Random, seen: set[str]) -> str:
    return _vocab(rng, 1, seen, 2, 3)[0].capitalize()


def _variant(rng: random.Random, name: str) -> str:
    i = rng.randrange(1, len(name))
    c = rng.choice("kwvzhy" if name[i] not in "kwvzhy" else "aeiou")
    return name[:i] + c + name[i + 1:]


@dataclass
class _World:
    rng: random.Random
    general: list[str]
    general_cum: list[float]
    topics: list[list[str]]
    topic_cum: list[float]
    figures: list[list[str]]
    region: list[str]
    publishers: list[str]
    boiler: list[str]
    seen: set[str]


def _world(seed: int) -> _World:
    rng = random.Random(f"newsloom-synth-{seed}")
    seen: set[str] = set()
    general = _vocab(rng, 8000, seen)
    topics = [_vocab(rng, 400, seen) for _ in range(12)]
    figures = [[f"{_name(rng, seen)} {_name(rng, seen)}" for _ in range(15)] for _ in range(12)]
    region = [_name(rng, seen) for _ in range(40)]
    publishers = [f"The {_name(rng, seen)} {rng.choice(['Times', 'Post', 'Herald', 'Daily', 'Wire', 'Courier'])}"
                  for _ in range(30)]
    boiler = [f"Follow {p} for {rng.choice(general[:300])} {rng.choice(general[:300])} and "
              f"{rng.choice(general[:300])} {rng.choice(general[:300])} every {rng.choice(general[:300])}."
              for p in publishers]
    return _World(rng, general, _zipf_cum(len(general)), topics, _zipf_cum(400), figures,
                  region, publishers, boiler, seen)


@dataclass
class _Story:
    key: str
    topic: int
    events: list[str]
    people: list[str]
    place: str
    org: str
    numbers: list[str]
    start: float
    remaining: int
    texts: dict[int, tuple[str, str, str]] = field(default_factory=dict)  # idx -> id, title, text


def _new_story(w: _World, key: str, start: float, size: int, recent: list[_Story]) -> _Story:
    rng = w.rng
    topic = rng.randrange(12)
    events = [w.general[rng.randrange(400, 8000)] for _ in range(18)] + \
             [w.topics[topic][rng.randrange(40, 400)] for _ in range(7)]
    place = rng.choice(w.region) if rng.random() < 0.5 else _name(rng, w.seen)
    twins = [s for s in recent if s.topic == topic]
    if twins and rng.random() < 0.15:
        twin = rng.choice(twins)
        place = twin.place
        events = [e if rng.random() > 0.4 else t for e, t in zip(events, twin.events)]
    people = [f"{_name(rng, w.seen)} {_name(rng, w.seen)}" for _ in range(rng.randint(1, 2))]
    if rng.random() < 0.6:
        people.append(rng.choice(w.figures[topic]))
    org = f"{_name(rng, w.seen)} {rng.choice(['Council', 'Ministry', 'Group', 'Union', 'Agency', 'Court'])}"
    numbers = [str(rng.randint(12, 9000)), f"{rng.randint(1, 9)}.{rng.randint(1, 9)}"]
    return _Story(key, topic, events, people, place, org, numbers, start, size)


def _sentences(rng: random.Random, items: list[str], *, min_len=10, max_len=24) -> list[str]:
    out, i = [], 0
    while i < len(items):
        n = rng.randint(min_len, max_len)
        chunk = items[i:i + n]
        i += n
        chunk[0] = chunk[0][:1].upper() + chunk[0][1:]
        out.append(" ".join(chunk) + ".")
    return out


def _article(w: _World, s: _Story, rel: float, publisher: int) -> tuple[str, str]:
    rng = w.rng
    n = rng.randint(220, 380)
    phase = min(2, int(rel * 3))
    # each article covers a part of the story (publishers pick different angles)
    ev = rng.sample(s.events, 12)
    ev_w = [3.0 if (s.events.index(e) % 3) == phase else 1.0 for e in ev]
    items = (rng.choices(_STOP, k=int(n * 0.40))
             + rng.choices(w.topics[s.topic], cum_weights=w.topic_cum, k=int(n * 0.18))
             + rng.choices(w.general, cum_weights=w.general_cum, k=int(n * 0.30))
             + rng.choices(ev, weights=ev_w, k=int(n * 0.07)))
    people = [p if rng.random() > 0.1 else p.split(" ")[0] + " " + _variant(rng, p.split(" ")[-1])
              for p in s.people]
    mentions = (rng.choices(people, k=rng.randint(2, 6)) + [s.place] * rng.randint(1, 4)
                + [s.org] * rng.randint(0, 2) + rng.choices(s.numbers, k=rng.randint(0, 2))
                + [p.split(" ")[-1] for p in rng.choices(people, k=rng.randint(1, 4))])
    items += mentions
    rng.shuffle(items)
    sents = _sentences(rng, items)
    paras, i = [], 0
    while i < len(sents):
        k = rng.randint(2, 4)
        paras.append(" ".join(sents[i:i + k]))
        i += k
    if rng.random() < 0.3:
        paras.append(w.boiler[publisher])
    title_items = (rng.choices(ev, weights=ev_w, k=rng.randint(2, 3))
                   + rng.choices(w.topics[s.topic], cum_weights=w.topic_cum, k=rng.randint(1, 2))
                   + rng.choices(_STOP, k=rng.randint(1, 3)))
    rng.shuffle(title_items)
    title_items.insert(rng.randrange(len(title_items)),
                       rng.choice([s.place, people[0].split(" ")[-1], s.org]))
    title = " ".join(title_items)
    return title[:1].upper() + title[1:], "\n\n".join(paras)


def perturb(rng: random.Random, title: str, text: str, kind: str, *,
            source: str = "Wire", general: list[str] | None = None) -> tuple[str, str]:
    """A wire copy of (title, text): one of :data:`PERTURBATIONS`."""
    paras = split_paragraphs(text)
    credit = f"This article was provided by {source}."
    if kind == "trim" and len(paras) > 2:
        paras = paras[:-1]
    elif kind == "credit":
        paras = paras + [credit]
    elif kind == "headline":
        ws = title.split()
        rng.shuffle(ws)
        title = " ".join(ws[: max(3, len(ws) - 2)]).capitalize()
    elif kind == "trim2_credit" and len(paras) > 3:
        paras = paras[:-2] + [credit]
    elif kind == "half" and len(paras) > 2:
        paras = paras[: (len(paras) + 1) // 2]
    elif kind == "edit":
        pool = general or ["reportedly", "officials", "local", "earlier", "statement"]
        out = []
        for p in paras:
            ws = p.split(" ")
            for i in range(len(ws)):
                if rng.random() < 0.03:
                    ws[i] = rng.choice(pool)
            out.append(" ".join(ws))
        paras = out
    return title, "\n\n".join(paras)


def _size(rng: random.Random, mean: float) -> int:
    if rng.random() < 0.15:
        return 1
    # geometric-ish around the mean, capped
    return max(2, min(int(mean * 5), int(rng.expovariate(1.0 / (mean - 1))) + 2))


def generate(n: int, *, seed: int = 0, stories_per_day: float = 150.0,
             mean_story_size: float = 10.0, dup_rate: float = 0.08,
             start: datetime = datetime(2026, 1, 5, tzinfo=timezone.utc)) -> Iterator[dict]:
    """Yield *n* synthetic article rows in time order (see the module docstring)."""
    w = _world(seed)
    rng = w.rng
    t0 = start.timestamp()
    pending: list[tuple[float, int, int, _Story, int]] = []   # time, seq, idx, story, dup_of idx
    recent: list[_Story] = []
    seq = itertools.count()
    next_start = t0
    story_no = 0
    produced = 0
    scheduled = 0
    while produced < n:
        while scheduled < n and (not pending or next_start <= pending[0][0]):
            size = min(_size(rng, mean_story_size), n - scheduled)
            story_no += 1
            s = _new_story(w, f"s{story_no}", next_start, size, recent)
            recent = recent[-60:] + [s]
            times = sorted([0.0] + [min(4 * 86400.0, rng.expovariate(1 / (18 * 3600.0)))
                                    for _ in range(size - 1)])
            for i, dt in enumerate(times):
                dup = -1
                if i > 0 and rng.random() < dup_rate:
                    dup = rng.randrange(i)
                    dt = times[dup] + rng.uniform(1800, 6 * 3600)    # copies follow within hours
                heapq.heappush(pending, (next_start + dt, next(seq), i, s, dup))
            scheduled += size
            next_start += rng.expovariate(stories_per_day / 86400.0)
        t, _, i, s, dup = heapq.heappop(pending)
        publisher = rng.randrange(len(w.publishers))
        doc_id = f"a{produced + 1}"
        dup_id = None
        if dup >= 0 and dup in s.texts:
            dup_id, otitle, otext = s.texts[dup]
            kind = PERTURBATIONS[rng.randrange(len(PERTURBATIONS))]
            title, text = perturb(rng, otitle, otext, kind,
                                  source=w.publishers[publisher], general=w.general[:2000])
        else:
            title, text = _article(w, s, (t - s.start) / (4 * 86400.0), publisher)
        s.texts[i] = (dup_id or doc_id, title, text)
        s.remaining -= 1
        if s.remaining == 0:
            s.texts.clear()
        produced += 1
        yield {"id": doc_id, "title": title, "text": text, "source": w.publishers[publisher],
               "published": datetime.fromtimestamp(t, timezone.utc).isoformat(),
               "story": s.key, "duplicate_of": dup_id}
