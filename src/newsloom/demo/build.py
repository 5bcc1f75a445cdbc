"""Render the demo newsroom (``newsroom.json``) into a static site (``newsroom/``).

    python -m newsloom.demo.build            # (re)write src/newsloom/demo/newsroom/
    python -m newsloom.demo.build --check    # exit 1 if the committed files are stale
    python -m newsloom.demo.build --out DIR  # render elsewhere

The output is deterministic (same input -> byte-identical files) and contains the
``__BASE__`` / ``__DATE(offset,fmt)__`` placeholders that :mod:`newsloom.demo.server`
substitutes at serve time (see :mod:`newsloom.demo`).

Layout::

    index.html  robots.txt
    feeds/<publisher>.xml | .json        one feed per publisher, newest first
    <publisher>/index.html               homepage with feed autodiscovery
    <publisher>/<article-slug>.html      article pages with realistic boilerplate
    opml/demo.opml  opml/broken.opml
    gold/stories.jsonl  gold/articles.jsonl
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from newsloom.demo import DATA_FILE, SITE_DIR, load_data

__all__ = ["FEED_FORMATS", "BROKEN_ENDPOINTS", "validate", "render_site", "write_site",
           "diff_site", "build", "main"]

B = "__BASE__"

# format -> (feed file extension, MIME type used for <link rel="alternate">)
FEED_FORMATS = {
    "rss20": ("xml", "application/rss+xml"),
    "rss10": ("xml", "application/rss+xml"),
    "rss091": ("xml", "application/rss+xml"),
    "atom10": ("xml", "application/atom+xml"),
    "json11": ("json", "application/feed+json"),
}

# Served by DemoServer (not static files); listed in /opml/broken.opml, never in demo.opml.
BROKEN_ENDPOINTS = [
    ("/broken/invalid.xml", "Malformed garbage with an RSS content type"),
    ("/broken/500", "Always answers HTTP 500"),
    ("/broken/slow.xml", "Waits 10 seconds before answering"),
    ("/broken/huge.xml", "Streams about 50 MB of RSS items"),
    ("/broken/redirect-private.xml", "Redirects to a private address (10.255.255.1)"),
    ("/broken/xxe.xml", "Billion-laughs entity expansion"),
    ("/broken/xxe-external.xml", "External entity pointing at file:///etc/passwd"),
    ("/broken/429", "Too Many Requests with Retry-After: 120"),
    ("/broken/redirect-loop.xml", "Redirects to itself"),
    ("/broken/missing.xml", "Plain 404 Not Found"),
]


def esc(text: str) -> str:
    """Escape for HTML and XML text and attributes."""
    return html.escape(text, quote=True)


def d(offset: float, fmt: str) -> str:
    off = int(offset) if float(offset).is_integer() else offset
    return f"__DATE({off},{fmt})__"


def canonical(a: dict) -> str:
    return f"{B}/{a['publisher']}/{a['slug']}.html"


def local(a: dict) -> str:
    return f"/{a['publisher']}/{a['slug']}.html"


def tracked(a: dict, pub: dict) -> str:
    return f"{canonical(a)}?{pub['tracking']}"


def feed_path(pub: dict) -> str:
    return f"/feeds/{pub['slug']}.{FEED_FORMATS[pub['format']][0]}"


def _stable_rank(*parts: str) -> str:
    return hashlib.sha1("/".join(parts).encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- validation

def validate(data: dict[str, Any]) -> None:
    """Raise ValueError if the content breaks the rules the tests and docs rely on."""
    pubs = {p["slug"]: p for p in data["publishers"]}
    stories = {s["label"]: s for s in data["stories"]}
    problems: list[str] = []
    for p in pubs.values():
        if p["format"] not in FEED_FORMATS:
            problems.append(f"{p['slug']}: unknown feed format {p['format']}")
        if p["feed"] != feed_path(p) or p["homepage"] != f"/{p['slug']}/index.html":
            problems.append(f"{p['slug']}: feed/homepage path does not follow the layout")
    if sum(1 for p in pubs.values() if p.get("full_content_in_feed")) != 1:
        problems.append("exactly one publisher must carry full content in its feed")
    slugs = Counter(a["slug"] for a in data["articles"])
    problems += [f"duplicate article slug {s}" for s, n in slugs.items() if n > 1]
    by_slug = {a["slug"]: a for a in data["articles"]}
    titles = Counter((a["publisher"], a["title"]) for a in data["articles"])
    problems += [f"duplicate title {t!r} at {p}" for (p, t), n in titles.items() if n > 1]
    for a in data["articles"]:
        where = a["slug"]
        if a["publisher"] not in pubs:
            problems.append(f"{where}: unknown publisher {a['publisher']}")
        if a["story"] not in stories:
            problems.append(f"{where}: unknown story {a['story']}")
        if not 4 <= len(a["paragraphs"]) <= 9:
            problems.append(f"{where}: {len(a['paragraphs'])} paragraphs (want 4-9)")
        words = sum(len(p.split()) for p in a["paragraphs"])
        if not 150 <= words <= 450:
            problems.append(f"{where}: {words} words (want 150-450)")
        if a["published_offset_h"] >= 0:
            problems.append(f"{where}: published_offset_h must be negative")
        if a.get("language") != "en":
            problems.append(f"{where}: language must be 'en'")
        if "]]>" in "".join(a["paragraphs"]):
            problems.append(f"{where}: ']]>' not allowed (CDATA)")
        orig = a.get("duplicate_of")
        if orig is not None:
            o = by_slug.get(orig)
            if o is None:
                problems.append(f"{where}: duplicate_of unknown article {orig}")
            elif o.get("duplicate_of") is not None or o["story"] != a["story"] \
                    or o["published_offset_h"] >= a["published_offset_h"]:
                problems.append(f"{where}: duplicate_of must be the earliest copy in the same story")
    if problems:
        raise ValueError("demo: newsroom.json is invalid:\n  " + "\n  ".join(problems))


# --------------------------------------------------------------------------- feeds

def _rss20(pub: dict, items: list[dict]) -> str:
    full = pub.get("full_content_in_feed")
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"'
        ' xmlns:content="http://purl.org/rss/1.0/modules/content/"'
        ' xmlns:atom="http://www.w3.org/2005/Atom">',
        "<channel>",
        f"  <title>{esc(pub['name'])}</title>",
        f"  <link>{B}{pub['homepage']}</link>",
        f"  <description>{esc(pub['tagline'])}</description>",
        "  <language>en</language>",
        f"  <copyright>Copyright {esc(pub['name'])}. All rights reserved.</copyright>",
        f"  <lastBuildDate>{d(items[0]['published_offset_h'], 'rfc822')}</lastBuildDate>",
        "  <generator>newsloom demo newsroom</generator>",
        "  <ttl>30</ttl>",
        f'  <atom:link href="{B}{pub["feed"]}" rel="self" type="application/rss+xml"/>',
    ]
    for a in items:
        summary = a["summary"] if full else f"<p>{esc(a['summary'])}</p>"
        out += [
            "  <item>",
            f"    <title>{esc(a['title'])}</title>",
            f"    <link>{esc(tracked(a, pub))}</link>",
            f'    <guid isPermaLink="false">{pub["slug"]}:{a["slug"]}</guid>',
            f"    <pubDate>{d(a['published_offset_h'], 'rfc822')}</pubDate>",
            f"    <dc:creator>{esc(a['author'])}</dc:creator>",
            f"    <category>{esc(a['section'])}</category>",
            f"    <description>{esc(summary)}</description>",
        ]
        if full:
            body = "".join(f"<p>{esc(p)}</p>" for p in a["paragraphs"])
            out.append(f"    <content:encoded><![CDATA[{body}]]></content:encoded>")
        out.append("  </item>")
    out += ["</channel>", "</rss>", ""]
    return "\n".join(out)


def _rss10(pub: dict, items: list[dict]) -> str:
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
        ' xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">',
        f'  <channel rdf:about="{B}{pub["feed"]}">',
        f"    <title>{esc(pub['name'])}</title>",
        f"    <link>{B}{pub['homepage']}</link>",
        f"    <description>{esc(pub['tagline'])}</description>",
        "    <dc:language>en</dc:language>",
        f"    <dc:publisher>{esc(pub['name'])}</dc:publisher>",
        f"    <dc:date>{d(items[0]['published_offset_h'], 'iso')}</dc:date>",
        "    <items>",
        "      <rdf:Seq>",
    ]
    out += [f'        <rdf:li rdf:resource="{canonical(a)}"/>' for a in items]
    out += ["      </rdf:Seq>", "    </items>", "  </channel>"]
    for a in items:
        out += [
            f'  <item rdf:about="{canonical(a)}">',
            f"    <title>{esc(a['title'])}</title>",
            f"    <link>{esc(tracked(a, pub))}</link>",
            f"    <description>{esc(a['summary'])}</description>",
            f"    <dc:creator>{esc(a['author'])}</dc:creator>",
            f"    <dc:date>{d(a['published_offset_h'], 'iso')}</dc:date>",
            f"    <dc:subject>{esc(a['section'])}</dc:subject>",
            f"    <dc:identifier>{pub['slug']}:{a['slug']}</dc:identifier>",
            "  </item>",
        ]
    out += ["</rdf:RDF>", ""]
    return "\n".join(out)


def _rss091(pub: dict, items: list[dict]) -> str:
    # RSS 0.91 (UserLand) items have only title, link and description; pubDate is a
    # common extension. No guid and no author: consumers must fall back to the link
    # and to the article page, as they must for real 0.91 feeds.
    out = [
        f'<?xml version="1.0" encoding="{pub["encoding"]}"?>',
        '<rss version="0.91">',
        "<channel>",
        f"<title>{esc(pub['name'])}</title>",
        f"<link>{B}{pub['homepage']}</link>",
        f"<description>{esc(pub['tagline'])}</description>",
        "<language>en</language>",
        f"<pubDate>{d(items[0]['published_offset_h'], 'rfc822')}</pubDate>",
        f"<webMaster>newsdesk@{pub['slug']}.example</webMaster>",
    ]
    for a in items:
        out += [
            "<item>",
            f"<title>{esc(a['title'])}</title>",
            f"<link>{esc(tracked(a, pub))}</link>",
            f"<description>{esc(a['summary'])}</description>",
            f"<pubDate>{d(a['published_offset_h'], 'rfc822')}</pubDate>",
            "</item>",
        ]
    out += ["</channel>", "</rss>", ""]
    return "\n".join(out)


def _atom(pub: dict, items: list[dict]) -> str:
    html_summary = pub["slug"] != "meridian-wire"
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">',
        f"  <title>{esc(pub['name'])}</title>",
        f"  <subtitle>{esc(pub['tagline'])}</subtitle>",
        f"  <id>tag:newsloom.demo,2024:{pub['slug']}</id>",
        f'  <link rel="alternate" type="text/html" href="{B}{pub["homepage"]}"/>',
        f'  <link rel="self" type="application/atom+xml" href="{B}{pub["feed"]}"/>',
        f"  <updated>{d(items[0]['published_offset_h'], 'iso')}</updated>",
        f"  <author><name>{esc(pub['name'])}</name></author>",
        f"  <rights>Copyright {esc(pub['name'])}</rights>",
        '  <generator uri="https://example.invalid/newsloom">newsloom demo newsroom</generator>',
    ]
    for a in items:
        if html_summary:
            summary = f'<summary type="html">{esc("<p>" + esc(a["summary"]) + "</p>")}</summary>'
        else:
            summary = f'<summary type="text">{esc(a["summary"])}</summary>'
        out += [
            "  <entry>",
            f"    <title>{esc(a['title'])}</title>",
            f"    <id>tag:newsloom.demo,2024:{pub['slug']}/{a['slug']}</id>",
            f'    <link rel="alternate" type="text/html" href="{esc(tracked(a, pub))}"/>',
            f"    <published>{d(a['published_offset_h'], 'iso')}</published>",
            f"    <updated>{d(a['published_offset_h'], 'iso')}</updated>",
            f"    <author><name>{esc(a['author'])}</name></author>",
            f'    <category term="{esc(a["section"])}"/>',
            f"    {summary}",
            "  </entry>",
        ]
    out += ["</feed>", ""]
    return "\n".join(out)


def _jsonfeed(pub: dict, items: list[dict]) -> str:
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": pub["name"],
        "home_page_url": B + pub["homepage"],
        "feed_url": B + pub["feed"],
        "description": pub["tagline"],
        "language": "en",
        "authors": [{"name": pub["name"]}],
        "items": [
            {
                "id": f"{pub['slug']}:{a['slug']}",
                "url": tracked(a, pub),
                "title": a["title"],
                # JSON Feed requires content_html or content_text; this feed carries only
                # the teaser there (same text as summary), not the full article.
                "content_text": a["summary"],
                "summary": a["summary"],
                "date_published": d(a["published_offset_h"], "iso"),
                "authors": [{"name": a["author"]}],
                "tags": [a["section"]],
                "language": "en",
            }
            for a in items
        ],
    }
    return json.dumps(feed, indent=2, ensure_ascii=False) + "\n"


_FEED_RENDERERS = {"rss20": _rss20, "rss10": _rss10, "rss091": _rss091,
                   "atom10": _atom, "json11": _jsonfeed}


# --------------------------------------------------------------------------- HTML

_CSS = """body{font-family:Georgia,serif;margin:0;color:#1d1d1d;background:#fbfaf7}
.site-header{border-bottom:3px solid #1d1d1d;padding:12px 24px}.logo{font-size:2em;font-weight:bold;text-decoration:none;color:inherit}
.primary-nav ul{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:14px}.layout{display:flex;gap:32px;padding:24px;max-width:1100px}
article{flex:3}aside{flex:1;font-family:Arial,sans-serif;font-size:.9em}.cookie-banner{position:fixed;bottom:0;left:0;right:0;background:#222;color:#fff;padding:12px}
.site-footer{border-top:1px solid #ccc;padding:24px;font-family:Arial,sans-serif;font-size:.8em}"""


def _head(title: str, pub: dict, extra: list[str]) -> list[str]:
    ftype = FEED_FORMATS[pub["format"]][1]
    return [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(title)}</title>",
        *extra,
        f'<link rel="alternate" type="{ftype}" title="{esc(pub["name"])}" href="{pub["feed"]}">',
        f"<style>{_CSS}</style>",
        "<script>window.dataLayer=window.dataLayer||[];function track(){dataLayer.push(arguments)}"
        f"track('config','{pub['slug']}-analytics');</script>",
        "</head>",
    ]


def _chrome_top(pub: dict, section: str | None) -> list[str]:
    nav = "".join(
        f'<li><a href="/{pub["slug"]}/section/{s.lower().replace(" ", "-")}.html">{esc(s)}</a></li>'
        for s in pub["sections"]
    )
    crumbs = f' <span>&rsaquo;</span> <a href="/{pub["slug"]}/section/{section.lower()}.html">{esc(section)}</a>' \
        if section else ""
    return [
        f'<body class="site-{pub["slug"]}">',
        '<div id="cookie-consent" class="cookie-banner" role="dialog" aria-label="Cookie consent">',
        f"<p>{esc(pub['name'])} and our 143 partners use cookies and similar technologies to keep this "
        "site working, to measure how it is used and to show you relevant advertising. "
        'Choose "Accept all" to agree, or manage your choices at any time from the Privacy '
        "settings link at the bottom of every page.</p>",
        '<button type="button" class="accept">Accept all</button> '
        '<button type="button" class="reject">Reject non-essential</button> '
        f'<a href="/{pub["slug"]}/privacy.html">Manage preferences</a>',
        "</div>",
        '<a class="skip-link" href="#main">Skip to main content</a>',
        '<header class="site-header">',
        '<div class="top-bar"><a href="/{0}/subscribe.html">Subscribe</a> | <a href="/{0}/login.html">Sign in</a>'
        ' | <a href="/{0}/epaper.html">Today\'s paper</a></div>'.format(pub["slug"]),
        f'<a class="logo" href="/{pub["slug"]}/index.html">{esc(pub["name"])}</a>',
        f'<p class="tagline">{esc(pub["tagline"])}</p>',
        '<nav class="primary-nav" aria-label="Sections"><ul>'
        f'<li><a href="/{pub["slug"]}/index.html">Home</a></li>{nav}'
        f'<li><a href="/{pub["slug"]}/puzzles.html">Puzzles</a></li>'
        f'<li><a href="/{pub["slug"]}/podcasts.html">Podcasts</a></li>'
        f'<li><a href="/{pub["slug"]}/newsletters.html">Newsletters</a></li></ul></nav>',
        f'<form class="search" role="search" action="/{pub["slug"]}/search.html" method="get">'
        '<label for="q">Search</label> <input id="q" name="q" type="search" placeholder="Search the archive">'
        " <button type=\"submit\">Go</button></form>",
        "</header>",
        f'<div class="breadcrumbs"><a href="/{pub["slug"]}/index.html">Home</a>{crumbs}</div>',
    ]


def _chrome_bottom(pub: dict) -> list[str]:
    s = pub["slug"]
    links = [("About us", "about"), ("Contact", "contact"), ("Careers", "careers"),
             ("Advertise with us", "advertise"), ("Corrections and clarifications", "corrections"),
             ("Privacy policy", "privacy"), ("Cookie settings", "cookies"), ("Terms of use", "terms"),
             ("Accessibility", "accessibility"), ("Archive", "archive")]
    return [
        '<footer class="site-footer">',
        "<ul>" + "".join(f'<li><a href="/{s}/{slug}.html">{label}</a></li>' for label, slug in links)
        + f'<li><a href="{pub["feed"]}">Feeds</a></li></ul>',
        '<p class="follow">Follow us: <a href="/{0}/app.html">Apps</a> · <a href="/{0}/newsletters.html">'
        'Email briefings</a> · <a href="/{0}/podcasts.html">Podcasts</a></p>'.format(s),
        f"<p class=\"legal\">&copy; {esc(pub['name'])}, {esc(pub['city'])}. All rights reserved. "
        "This site is part of the newsloom demo newsroom; every person, place and event "
        "on it is fictional.</p>",
        "</footer>",
        "<script>document.querySelectorAll('.cookie-banner button').forEach(function(b){"
        "b.addEventListener('click',function(){b.parentNode.remove()})});</script>",
        "</body>",
        "</html>",
        "",
    ]


def _newsletter(pub: dict) -> list[str]:
    return [
        '<aside class="newsletter-signup">',
        "<h2>Get the morning briefing</h2>",
        f"<p>The day's essential stories from {esc(pub['name'])}, in your inbox before 7 a.m. "
        "Free, and you can unsubscribe at any time.</p>",
        f'<form action="/{pub["slug"]}/newsletters/subscribe.html" method="post">'
        '<input type="email" name="email" placeholder="Your email address"> '
        "<button type=\"submit\">Sign me up</button></form>",
        "</aside>",
    ]


def _article_page(a: dict, pub: dict, pub_articles: list[dict]) -> str:
    others = [o for o in pub_articles if o["slug"] != a["slug"]]
    most_read = sorted(others, key=lambda o: _stable_rank("most-read", a["slug"], o["slug"]))[:5]
    same_story = [o for o in others if o["story"] == a["story"]]
    off = a["published_offset_h"]
    meta = [
        f'<meta name="description" content="{esc(a["summary"])}">',
        f'<meta name="author" content="{esc(a["author"])}">',
        f'<link rel="canonical" href="{canonical(a)}">',
        '<meta property="og:type" content="article">',
        f'<meta property="og:title" content="{esc(a["title"])}">',
        f'<meta property="og:description" content="{esc(a["summary"])}">',
        f'<meta property="og:url" content="{canonical(a)}">',
        f'<meta property="og:site_name" content="{esc(pub["name"])}">',
        '<meta property="og:locale" content="en_GB">',
        f'<meta property="article:published_time" content="{d(off, "iso")}">',
        f'<meta property="article:section" content="{esc(a["section"])}">',
        '<meta name="twitter:card" content="summary">',
    ]
    if pub.get("jsonld"):
        ld = {
            "@context": "https://schema.org",
            "@type": "NewsArticle",
            "headline": a["title"],
            "description": a["summary"],
            "datePublished": d(off, "iso"),
            "author": [{"@type": "Person", "name": a["author"]}],
            "publisher": {"@type": "Organization", "name": pub["name"]},
            "mainEntityOfPage": canonical(a),
            "articleSection": a["section"],
            "inLanguage": "en",
        }
        ld_text = json.dumps(ld, ensure_ascii=False).replace("</", "<\\/")
        meta.append(f'<script type="application/ld+json">{ld_text}</script>')

    body = [f"<p>{esc(p)}</p>" for p in a["paragraphs"]]
    if pub["slug"] == "lantern-daily" and others and len(body) > 3:
        promo = sorted(others, key=lambda o: _stable_rank("promo", a["slug"], o["slug"]))[0]
        body.insert(2, f'<aside class="inline-promo"><strong>Read more:</strong> '
                       f'<a href="{local(promo)}">{esc(promo["title"])}</a></aside>')
    lines = _head(f"{a['title']} | {pub['name']}", pub, meta) + _chrome_top(pub, a["section"])
    lines += [
        '<main id="main" class="layout">',
        '<article class="story">',
        f"<h1>{esc(a['title'])}</h1>",
        f'<p class="byline">By {esc(a["author"])}</p>',
        f'<time datetime="{d(off, "iso")}">{d(off, "human")}</time>',
        *body,
        "</article>",
        '<div class="sidebar">',
        '<aside class="share-tools"><h2>Share this article</h2><ul>'
        f'<li><a href="mailto:?subject={esc(a["title"])}">Email</a></li>'
        '<li><a href="#" class="copy-link">Copy link</a></li><li><a href="#" class="print">Print</a></li>'
        "</ul></aside>",
        '<aside class="most-read"><h2>Most read</h2><ol>',
        *[f'<li><a href="{local(o)}">{esc(o["title"])}</a></li>' for o in most_read],
        "</ol></aside>",
        *_newsletter(pub),
    ]
    if same_story:
        lines += ['<aside class="related"><h2>More on this story</h2><ul>',
                  *[f'<li><a href="{local(o)}">{esc(o["title"])}</a></li>' for o in same_story],
                  "</ul></aside>"]
    lines += [
        '<aside class="advert" aria-label="Advertisement"><p>Advertisement</p>'
        f'<a href="/{pub["slug"]}/advertise.html">Your message here: reach readers across Veltria '
        "every day.</a></aside>",
        "</div>",
        "</main>",
        '<section class="support-us"><h2>Independent journalism needs your support</h2>'
        f"<p>{esc(pub['name'])} is funded by readers like you. Subscriptions start at 4 crowns a week.</p>"
        f'<a href="/{pub["slug"]}/subscribe.html">Subscribe now</a></section>',
    ]
    lines += _chrome_bottom(pub)
    return "\n".join(lines)


def _homepage(pub: dict, items: list[dict]) -> str:
    meta = [
        f'<meta name="description" content="{esc(pub["tagline"])}">',
        f'<link rel="canonical" href="{B}{pub["homepage"]}">',
        f'<meta property="og:site_name" content="{esc(pub["name"])}">',
    ]
    lines = _head(f"{pub['name']} | {pub['tagline']}", pub, meta) + _chrome_top(pub, None)
    lines += ['<main id="main" class="layout">', '<section class="latest">', "<h1>Latest news</h1>"]
    for a in items:
        off = a["published_offset_h"]
        lines += [
            '<div class="teaser">',
            f'<h2><a href="{local(a)}">{esc(a["title"])}</a></h2>',
            f'<p class="standfirst">{esc(a["summary"])}</p>',
            f'<p class="meta">{esc(a["author"])} · <time datetime="{d(off, "iso")}">{d(off, "human")}</time></p>',
            "</div>",
        ]
    lines += ["</section>", '<div class="sidebar">', *_newsletter(pub), "</div>", "</main>"]
    lines += _chrome_bottom(pub)
    return "\n".join(lines)


def _root_index(data: dict) -> str:
    lines = [
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        "<title>newsloom demo newsroom</title>", "</head>", "<body>",
        "<h1>newsloom demo newsroom</h1>",
        "<p>Seven fictional publishers covering fourteen fictional stories. "
        "Every person, place and event here is invented.</p>",
        "<ul>",
    ]
    for p in data["publishers"]:
        lines.append(f'<li><a href="{p["homepage"]}">{esc(p["name"])}</a> '
                     f'(<a href="{p["feed"]}">{p["format"]} feed</a>)</li>')
    lines += [
        "</ul>",
        '<p><a href="/opml/demo.opml">demo.opml</a> · <a href="/opml/broken.opml">broken.opml</a> · '
        '<a href="/gold/stories.jsonl">gold/stories.jsonl</a> · '
        '<a href="/gold/articles.jsonl">gold/articles.jsonl</a></p>',
        "</body>", "</html>", "",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- OPML, gold

def _opml(title: str, category: str, outlines: list[str]) -> str:
    return "\n".join([
        '<?xml version="1.0" encoding="utf-8"?>',
        '<opml version="2.0">',
        "  <head>",
        f"    <title>{esc(title)}</title>",
        f"    <dateCreated>{d(0, 'rfc822')}</dateCreated>",
        "    <ownerName>newsloom</ownerName>",
        "  </head>",
        "  <body>",
        f'    <outline text="{esc(category)}" title="{esc(category)}">',
        *outlines,
        "    </outline>",
        "  </body>",
        "</opml>",
        "",
    ])


def _demo_opml(data: dict) -> str:
    outlines = [
        f'      <outline type="rss" text="{esc(p["name"])}" title="{esc(p["name"])}" '
        f'xmlUrl="{B}{p["feed"]}" htmlUrl="{B}{p["homepage"]}"/>'
        for p in data["publishers"]
    ]
    return _opml("newsloom demo newsroom", "Demo newsroom", outlines)


def _broken_opml() -> str:
    outlines = [
        f'      <outline type="rss" text="{esc(desc)}" title="{esc(desc)}" '
        f'xmlUrl="{B}{path}" htmlUrl="{B}/index.html"/>'
        for path, desc in BROKEN_ENDPOINTS
    ]
    return _opml("newsloom demo: broken feeds", "Broken feeds", outlines)


def _gold(data: dict, articles: list[dict], pubs: dict) -> tuple[str, str]:
    by_slug = {a["slug"]: a for a in articles}
    ordered = sorted(articles, key=lambda a: (a["published_offset_h"], a["publisher"], a["slug"]))
    stories, bulk = [], []
    for a in ordered:
        orig = a.get("duplicate_of")
        stories.append(json.dumps({
            "url": canonical(a),
            "publisher": pubs[a["publisher"]]["name"],
            "story": a["story"],
            "duplicate_of": canonical(by_slug[orig]) if orig else None,
            "title": a["title"],
            "published_offset_h": a["published_offset_h"],
            "published": d(a["published_offset_h"], "iso"),
        }, ensure_ascii=False))
        bulk.append(json.dumps({
            "url": canonical(a),
            "title": a["title"],
            "text": "\n\n".join(a["paragraphs"]),
            "source": pubs[a["publisher"]]["name"],
            "published": d(a["published_offset_h"], "iso"),
            "story": a["story"],
        }, ensure_ascii=False))
    return "\n".join(stories) + "\n", "\n".join(bulk) + "\n"


# --------------------------------------------------------------------------- driver

def render_site(data: dict[str, Any] | None = None) -> dict[str, bytes]:
    """Render everything; returns {relative path: bytes}."""
    data = data if data is not None else load_data()
    validate(data)
    pubs = {p["slug"]: p for p in data["publishers"]}
    sections = {s["label"]: s["section"] for s in data["stories"]}
    articles = [dict(a, section=sections[a["story"]]) for a in data["articles"]]
    files: dict[str, bytes] = {}

    def put(path: str, text: str, encoding: str = "utf-8") -> None:
        files[path] = text.encode(encoding, "xmlcharrefreplace")

    for pub in data["publishers"]:
        items = sorted((a for a in articles if a["publisher"] == pub["slug"]),
                       key=lambda a: (-a["published_offset_h"], a["slug"]))
        put(pub["feed"].lstrip("/"), _FEED_RENDERERS[pub["format"]](pub, items), pub["encoding"])
        put(f"{pub['slug']}/index.html", _homepage(pub, items))
        for a in items:
            put(local(a).lstrip("/"), _article_page(a, pub, items))
    put("index.html", _root_index(data))
    put("robots.txt", "User-agent: *\nDisallow: /broken/\nAllow: /\n")
    put("opml/demo.opml", _demo_opml(data))
    put("opml/broken.opml", _broken_opml())
    stories_jsonl, articles_jsonl = _gold(data, articles, pubs)
    put("gold/stories.jsonl", stories_jsonl)
    put("gold/articles.jsonl", articles_jsonl)
    return dict(sorted(files.items()))


def write_site(files: dict[str, bytes], out_dir: Path, *, clean: bool = True) -> None:
    """Write *files* under *out_dir*; with clean, remove files that are not in *files*."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if clean:
        for path in sorted(out_dir.rglob("*"), reverse=True):
            rel = path.relative_to(out_dir).as_posix()
            if path.is_file() and rel not in files:
                path.unlink()
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()
    for rel, content in files.items():
        target = out_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists() or target.read_bytes() != content:
            target.write_bytes(content)


def diff_site(files: dict[str, bytes], out_dir: Path) -> list[str]:
    """Relative paths that differ between *files* and *out_dir* (missing, stale or extra)."""
    present = {p.relative_to(out_dir).as_posix() for p in out_dir.rglob("*") if p.is_file()} \
        if out_dir.is_dir() else set()
    changed = [rel for rel, content in files.items()
               if rel not in present or (out_dir / rel).read_bytes() != content]
    return sorted(changed + sorted(present - set(files)))


def build(out_dir: Path = SITE_DIR, data_file: Path = DATA_FILE) -> dict[str, bytes]:
    """Render *data_file* into *out_dir*, removing stale files from an earlier build there."""
    files = render_site(load_data(data_file))
    if out_dir.is_dir() and any(out_dir.iterdir()) and out_dir.resolve() != SITE_DIR.resolve() \
            and not (out_dir / "gold" / "stories.jsonl").is_file():
        raise SystemExit(f"demo: refusing to write into non-empty {out_dir} (not a demo build)")
    write_site(files, out_dir)
    return files


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m newsloom.demo.build", description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=SITE_DIR, help="output directory (default: %(default)s)")
    ap.add_argument("--data", type=Path, default=DATA_FILE, help="content file (default: %(default)s)")
    ap.add_argument("--check", action="store_true", help="only report whether --out is up to date")
    args = ap.parse_args(argv)
    if args.check:
        stale = diff_site(render_site(load_data(args.data)), args.out)
        for rel in stale:
            print(f"stale: {rel}")
        print("demo site is up to date" if not stale else f"{len(stale)} file(s) out of date; "
              "run python -m newsloom.demo.build")
        return 1 if stale else 0
    files = build(args.out, args.data)
    print(f"wrote {len(files)} files to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
