"""SVG charts (no JavaScript), built once per story on the write path: a story's coverage over time and its publisher mix.

:func:`coverage_svg` and :func:`publisher_mix_svg` are pure: articles in, an SVG string
out. Every label is escaped (and stripped of characters XML forbids), so the result is
safe to inline in a page (``| safe``) or serve as ``image/svg+xml``. Each publisher is one
``<g class="series" data-series="...">``; colours come from the Okabe-Ito palette (told
apart by colour-blind readers), in the same order in both charts; past seven publishers
the rest are drawn as "Other publishers". Accessibility: ``role="img"``, a ``<title>`` and a
``<desc>`` summarising the data, a ``<title>`` tooltip on every bar, and a legend in text.
"""

from __future__ import annotations

import html
import math
import re
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Sequence

from ..models import Article

__all__ = ["coverage_svg", "publisher_mix_svg", "story_charts", "series_order"]

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#8C7A00")
OTHER_COLOUR = "#8a8f98"
OTHER = "Other publishers"
MAX_SERIES = len(PALETTE)
BUCKET_HOURS = (1, 2, 3, 6, 12, 24, 48, 168)
MAX_BUCKETS = 48
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _esc(value: Any) -> str:
    return html.escape(_XML_BAD.sub("", str(value)), quote=True)


def _short(label: str, n: int = 26) -> str:
    return label if len(label) <= n else label[: n - 1] + "…"


def _when(a: Article) -> datetime | None:
    return a.published_at or a.fetched_at


def _publisher(a: Article) -> str:
    return a.source_name or "Unknown source"


def series_order(articles: Iterable[Article]) -> list[str]:
    """Publishers most articles first (then by name); past MAX_SERIES the rest become OTHER."""
    counts = Counter(_publisher(a) for a in articles)
    names = sorted(counts, key=lambda n: (-counts[n], n.lower()))
    if len(names) > MAX_SERIES:
        return names[: MAX_SERIES - 1] + [OTHER]
    return names


def _series_of(articles: Sequence[Article]) -> tuple[list[str], dict[str, str], Any]:
    order = series_order(articles)
    colours = {name: (OTHER_COLOUR if name == OTHER else PALETTE[i % len(PALETTE)]) for i, name in enumerate(order)}
    kept = set(order)

    def series(a: Article) -> str:
        name = _publisher(a)
        return name if name in kept else OTHER
    return order, colours, series


def _svg_open(width: int, height: int, id_prefix: str, title: str, desc: str, cls: str) -> list[str]:
    pid = _esc(id_prefix)
    return [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {cls}" viewBox="0 0 {width} {height}" '
            f'width="100%" preserveAspectRatio="xMinYMin meet" role="img" '
            f'aria-labelledby="{pid}-title {pid}-desc" font-family="system-ui, sans-serif" font-size="12">',
            f'<title id="{pid}-title">{_esc(title)}</title>', f'<desc id="{pid}-desc">{_esc(desc)}</desc>']


def _empty(width: int, id_prefix: str, title: str) -> str:
    parts = _svg_open(width, 60, id_prefix, title, "No dated articles to chart.", "empty")
    parts.append('<text x="10" y="35" fill="#5b6470">No dated articles to chart.</text></svg>')
    return "".join(parts)


def _nice_step(top: int, ticks: int = 4) -> int:
    raw = max(1, math.ceil(top / ticks))
    magnitude = 10 ** int(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * magnitude:
            return m * magnitude
    return raw  # pragma: no cover


def _fmt(when: datetime, with_day: bool) -> str:
    return when.strftime("%b %d %H:%M") if with_day else when.strftime("%H:%M")


def coverage_svg(articles: Sequence[Article], *, width: int = 640, plot_height: int = 180,
                 id_prefix: str = "coverage", title: str = "Coverage over time") -> str:
    """Articles per hour (wider buckets for long stories, at most 48 bars), stacked and
    coloured by publisher, with axes, axis labels and a legend."""
    dated = [a for a in articles if _when(a) is not None]
    if not dated:
        return _empty(width, id_prefix, title)
    order, colours, series = _series_of(dated)
    times = [_when(a).astimezone(timezone.utc) for a in dated]
    first, last = min(times), max(times)
    span_hours = (last - first).total_seconds() / 3600
    bucket = next((h for h in BUCKET_HOURS if span_hours / h < MAX_BUCKETS), BUCKET_HOURS[-1])
    start = first.replace(minute=0, second=0, microsecond=0)
    start -= timedelta(hours=start.hour % bucket) if bucket <= 24 else timedelta(hours=start.hour)
    n_buckets = max(1, int((last - start).total_seconds() // (bucket * 3600)) + 1)
    n_buckets = min(n_buckets, MAX_BUCKETS + 1)
    counts: list[Counter] = [Counter() for _ in range(n_buckets)]
    for a, t in zip(dated, times):
        i = min(n_buckets - 1, int((t - start).total_seconds() // (bucket * 3600)))
        counts[i][series(a)] += 1
    top = max(sum(c.values()) for c in counts)
    step = _nice_step(top)
    y_max = max(step, math.ceil(top / step) * step)

    left, right, top_pad, bottom = 44, 12, 12, 46
    plot_w = width - left - right
    legend_cols = 3
    legend_rows = math.ceil(len(order) / legend_cols)
    height = top_pad + plot_height + bottom + legend_rows * 20 + 6
    unit = "hour" if bucket == 1 else f"{bucket} hours"
    busiest = max(range(n_buckets), key=lambda i: sum(counts[i].values()))
    bstart = start + timedelta(hours=busiest * bucket)
    desc = (f"{len(dated)} articles from {len(order)} publisher{'s' if len(order) != 1 else ''}, "
            f"{first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC; busiest: {sum(counts[busiest].values())} "
            f"in the {unit} from {bstart:%Y-%m-%d %H:%M} UTC. Per publisher: "
            + ", ".join(f"{name} {sum(c[name] for c in counts)}" for name in order) + ".")
    out = _svg_open(width, height, id_prefix, title, desc, "coverage")

    def y(v: float) -> float:
        return top_pad + plot_height - plot_height * v / y_max

    # grid and y axis
    out.append('<g class="axis y-axis" fill="#5b6470">')
    for v in range(0, y_max + 1, step):
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#e3e6ea"/>'
                   f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v}</text>')
    out.append(f'<text transform="translate(12 {top_pad + plot_height / 2:.0f}) rotate(-90)" '
               f'text-anchor="middle">Articles per {unit}</text></g>')
    # bars, one group per publisher, stacked in legend order
    slot = plot_w / n_buckets
    bar_w = max(1.0, slot * 0.8)
    base = [0] * n_buckets
    for name in order:
        out.append(f'<g class="series" data-series="{_esc(name)}" fill="{colours[name]}">')
        for i, c in enumerate(counts):
            n = c.get(name, 0)
            if not n:
                continue
            x = left + i * slot + (slot - bar_w) / 2
            y0, y1 = y(base[i] + n), y(base[i])
            when = start + timedelta(hours=i * bucket)
            out.append(f'<rect x="{x:.1f}" y="{y0:.1f}" width="{bar_w:.1f}" height="{y1 - y0:.1f}">'
                       f'<title>{_esc(name)}: {n} article{"s" if n != 1 else ""}, '
                       f'{when:%Y-%m-%d %H:%M} UTC</title></rect>')
            base[i] += n
        out.append("</g>")
    # x axis
    axis_y = top_pad + plot_height
    out.append(f'<g class="axis x-axis" fill="#5b6470"><line x1="{left}" x2="{width - right}" y1="{axis_y}" '
               f'y2="{axis_y}" stroke="#5b6470"/>')
    label_every = max(1, math.ceil(n_buckets / 6))
    multi_day = (start + timedelta(hours=n_buckets * bucket)).date() != start.date()
    for i in range(0, n_buckets, label_every):
        x = left + i * slot + slot / 2
        anchor = "middle" if x + 45 < width else "end"           # keep the last label inside
        x = x if anchor == "middle" else width - 2
        out.append(f'<text x="{x:.1f}" y="{axis_y + 16}" text-anchor="{anchor}">'
                   f'{_esc(_fmt(start + timedelta(hours=i * bucket), multi_day or i == 0))}</text>')
    out.append(f'<text x="{left + plot_w / 2:.0f}" y="{axis_y + 36}" text-anchor="middle">Time (UTC)</text></g>')
    out.append(_legend(order, colours, left, axis_y + bottom, (width - left) // legend_cols, legend_cols))
    out.append("</svg>")
    return "".join(out)


def _legend(order: list[str], colours: dict[str, str], x0: int, y0: int, col_w: int, cols: int) -> str:
    out = ['<g class="legend">']
    for i, name in enumerate(order):
        x, y = x0 + (i % cols) * col_w, y0 + (i // cols) * 20
        out.append(f'<rect x="{x}" y="{y}" width="12" height="12" fill="{colours[name]}"/>'
                   f'<text x="{x + 17}" y="{y + 10}" fill="#1d232a">{_esc(_short(name, 24))}</text>')
    out.append("</g>")
    return "".join(out)


def publisher_mix_svg(articles: Sequence[Article], *, width: int = 640, id_prefix: str = "mix",
                      title: str = "Articles per publisher") -> str:
    """Horizontal bars: each publisher's number and share of the articles."""
    if not articles:
        return _empty(width, id_prefix, title)
    order, colours, series = _series_of(articles)
    counts = Counter(series(a) for a in articles)
    total = sum(counts.values())
    row, label_w, value_w, top_pad = 24, 190, 90, 6
    height = top_pad * 2 + row * len(order)
    bar_max = width - label_w - value_w
    top = max(counts.values())
    desc = f"{total} articles: " + ", ".join(
        f"{name} {counts[name]} ({100 * counts[name] / total:.0f}%)" for name in order) + "."
    out = _svg_open(width, height, id_prefix, title, desc, "publisher-mix")
    for i, name in enumerate(order):
        n = counts[name]
        y = top_pad + i * row
        w = max(2.0, bar_max * n / top)
        share = 100 * n / total
        out.append(f'<g class="series" data-series="{_esc(name)}">'
                   f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end" fill="#1d232a">{_esc(_short(name))}</text>'
                   f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row - 8}" fill="{colours[name]}">'
                   f'<title>{_esc(name)}: {n} of {total} articles ({share:.0f}%)</title></rect>'
                   f'<text x="{label_w + w + 6:.1f}" y="{y + 16}" fill="#5b6470">{n} ({share:.0f}%)</text></g>')
    out.append("</svg>")
    return "".join(out)


def story_charts(story_id: int, articles: Sequence[Article]) -> dict[str, str]:
    """Both charts of a story, from everything published about it (wire copies included)."""
    if not articles:
        return {}
    return {"coverage": coverage_svg(articles, id_prefix=f"coverage-{story_id}"),
            "mix": publisher_mix_svg(articles, id_prefix=f"mix-{story_id}")}
