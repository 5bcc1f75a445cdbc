"""Atom 1.0 feeds (RFC 4287) of what the site shows.

* ``/feeds/home.atom`` — the top stories (the home page's ranking);
* ``/tags/{slug}.atom`` — the stories carrying a hashtag;
* ``/stories/{id}.atom`` — a story's articles.

Documents are built with ElementTree, so every title, summary and link is escaped;
characters XML 1.0 forbids are dropped first. ``content type="html"`` carries HTML that
we build from escaped parts, then escaped once more as XML text, as the spec wants.
Ids and links are absolute, from ``settings.base_url``; ``updated`` is RFC 3339 UTC. The one
link to elsewhere, an article's original (``rel="related"``), is written only when it is
http(s): a row from an older version may hold a ``javascript:`` URL, and readers link it.
Feed readers revalidate with ETag / Last-Modified like any page (serve/conditional.py).
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ... import __version__
from ...ingest.urls import http_url
from ...models import Article, Story, utcnow
from ...settings import Settings
from ...store import Store
from ..conditional import last_modified
from ..deps import IdPath, SettingsDep, StoreDep
from ..views import story_view, top_stories

__all__ = ["router", "AtomEntry", "atom_document", "ATOM_TYPE"]

router = APIRouter(include_in_schema=False)
ATOM_NS = "http://www.w3.org/2005/Atom"
ATOM_TYPE = "application/atom+xml; charset=utf-8"
FEED_SIZE = 30
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _clean(value: Any) -> str:
    return _XML_BAD.sub("", str(value))


def _rfc3339(when: datetime) -> str:
    when = when if when.tzinfo else when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class AtomEntry:
    id: str
    title: str
    updated: datetime
    link: str
    published: datetime | None = None
    author: str | None = None
    summary: str | None = None          # plain text
    content_html: str | None = None     # HTML (already built from escaped parts)
    related: str | None = None          # e.g. the original article
    categories: list[tuple[str, str]] = field(default_factory=list)   # (term, label)


def atom_document(*, feed_id: str, title: str, self_url: str, alternate: str, entries: list[AtomEntry],
                  subtitle: str | None = None, updated: datetime | None = None) -> bytes:
    root = ET.Element("feed", {"xmlns": ATOM_NS})

    def sub(parent: ET.Element, tag: str, text: Any = None, **attrs: str) -> ET.Element:
        el = ET.SubElement(parent, tag, {k: _clean(v) for k, v in attrs.items()})
        if text is not None:
            el.text = _clean(text)
        return el

    sub(root, "id", feed_id)
    sub(root, "title", title, type="text")
    if subtitle:
        sub(root, "subtitle", subtitle, type="text")
    stamp = updated or max((e.updated for e in entries), default=None) or utcnow()
    sub(root, "updated", _rfc3339(stamp))
    sub(root, "link", rel="self", type="application/atom+xml", href=self_url)
    sub(root, "link", rel="alternate", type="text/html", href=alternate)
    author = sub(root, "author")
    sub(author, "name", "newsloom")
    sub(root, "generator", "newsloom", version=__version__)
    for e in entries:
        entry = sub(root, "entry")
        sub(entry, "id", e.id)
        sub(entry, "title", e.title or "(untitled)", type="text")
        sub(entry, "updated", _rfc3339(e.updated))
        if e.published:
            sub(entry, "published", _rfc3339(e.published))
        sub(entry, "link", rel="alternate", type="text/html", href=e.link)
        if e.related:
            sub(entry, "link", rel="related", href=e.related)
        if e.author:
            sub(sub(entry, "author"), "name", e.author)
        for term, label in e.categories:
            sub(entry, "category", term=term, label=label)
        if e.summary:
            sub(entry, "summary", e.summary, type="text")
        if e.content_html:
            sub(entry, "content", e.content_html, type="html")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _base(settings: Settings) -> str:
    return settings.base_url.rstrip("/")


def _lead(text: str, n: int = 600) -> str:
    first = (text or "").strip().split("\n\n", 1)[0]
    return first if len(first) <= n else first[:n].rsplit(" ", 1)[0] + " …"


def _story_entry(store: Store, base: str, story: Story) -> AtomEntry:
    arts = store.list_articles(story_id=story.id, limit=10, include_duplicates=False)
    items = "".join(f'<li><a href="{html.escape(f"{base}/articles/{a.id}")}">{html.escape(a.title)}</a> '
                    f'({html.escape(a.source_name or "Unknown source")})</li>' for a in arts)
    counts = (f"{story.article_count} article{'s' if story.article_count != 1 else ''} from "
              f"{story.source_count} publisher{'s' if story.source_count != 1 else ''}")
    when = story.last_seen_at or story.first_seen_at or utcnow()
    return AtomEntry(id=f"{base}/stories/{story.id}", title=story.title, updated=when, published=story.first_seen_at,
                     link=f"{base}/stories/{story.id}", summary=counts + ".",
                     content_html=f"<p>{html.escape(counts)}.</p><ul>{items}</ul>")


def _article_entry(base: str, a: Article) -> AtomEntry:
    when = a.published_at or a.fetched_at or utcnow()
    return AtomEntry(id=f"{base}/articles/{a.id}", title=a.title, updated=when, published=a.published_at,
                     link=f"{base}/articles/{a.id}", related=http_url(a.url), author=a.source_name or "Unknown source",
                     summary=_lead(a.text) or None)


def _atom(body: bytes) -> Response:
    return Response(body, media_type=ATOM_TYPE, headers={"X-Content-Type-Options": "nosniff"})


@router.get("/feeds/home.atom")
def home_feed(request: Request, store: StoreDep, settings: SettingsDep):
    base = _base(settings)
    stories = top_stories(store, limit=FEED_SIZE)
    last_modified(request, *(s.last_seen_at for s in stories))
    entries = [_story_entry(store, base, s) for s in stories]
    return _atom(atom_document(feed_id=f"{base}/feeds/home.atom", title="newsloom: top stories",
                               subtitle="The stories most publishers are covering right now",
                               self_url=f"{base}/feeds/home.atom", alternate=f"{base}/", entries=entries))


@router.get("/tags/{slug}.atom")
def tag_feed(request: Request, slug: str, store: StoreDep, settings: SettingsDep):
    tag = store.get_tag(slug)
    base = _base(settings)
    stories = store.tag_stories(tag.slug, limit=FEED_SIZE)
    last_modified(request, *(s.last_seen_at for s in stories))
    entries = [_story_entry(store, base, s) for s in stories]
    for e in entries:
        e.categories.append((tag.slug, f"#{tag.name}"))
    return _atom(atom_document(feed_id=f"{base}/tags/{tag.slug}", title=f"newsloom: #{tag.name}",
                               self_url=f"{base}/tags/{tag.slug}.atom", alternate=f"{base}/tags/{tag.slug}",
                               entries=entries))


@router.get("/stories/{story_id}.atom")
def story_feed(request: Request, story_id: IdPath, store: StoreDep, settings: SettingsDep):
    view = story_view(store, story_id)
    story = view["story"]
    if story.id != story_id:
        return RedirectResponse(f"/stories/{story.id}.atom", status_code=301)
    last_modified(request, story.last_seen_at)
    base = _base(settings)
    entries = [_article_entry(base, a) for a in view["articles"]]
    return _atom(atom_document(feed_id=f"{base}/stories/{story.id}", title=f"newsloom: {story.title}",
                               subtitle=f"Coverage from {story.source_count} publishers",
                               self_url=f"{base}/stories/{story.id}.atom", alternate=f"{base}/stories/{story.id}",
                               entries=entries, updated=story.last_seen_at))
