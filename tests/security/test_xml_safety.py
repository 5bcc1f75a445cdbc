"""Hostile XML: whatever encoding a document claims, an entity it defines is never expanded.

Safety is decided by an XML parser over the text the feed parser will see, so the
tricks that fooled a pattern over the bytes (a bogus ``encoding``, a ``]`` inside a
DTD comment, a declaration hidden in a comment) are checked here, next to feeds that
must keep parsing: multibyte encodings, mislabelled charsets, HTML named entities and
RSS 0.91 with its Netscape DOCTYPE. Every document is fictional.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from newsloom.errors import ParseError
from newsloom.ingest.feeds import XXE_MESSAGE, parse_feed

FEEDS = Path(__file__).resolve().parent.parent / "data" / "feeds"

CHANNEL = ('<rss version="2.0"><channel><title>Pier {t} news</title><link>https://pier.example.org/</link>'
           '<item><title>Item {t}</title><link>https://pier.example.org/1</link></item></channel></rss>')


def everything(pf) -> str:
    """Every text a parsed feed carries, to look for an expansion anywhere."""
    parts = [pf.title or ""]
    for e in pf.entries:
        parts += [e.title or "", e.summary or "", e.content or "", e.author or "", e.link]
    return "\n".join(parts)


def refused(body: bytes, headers: dict[str, str] | None = None) -> str:
    with pytest.raises(ParseError) as err:
        parse_feed(body, headers=headers)
    return str(err.value)


# --------------------------------------------------------------------------- finding 4

@pytest.mark.parametrize("encoding", ["x-newsloom-unknown", "UTF-16", "utf-8"])
def test_finding_04_bogus_encoding_and_bracket_in_dtd_comment_is_refused(encoding):
    body = (f'<?xml version="1.0" encoding="{encoding}"?>\n'
            "<!DOCTYPE rss [\n"
            "<!-- a note ] for the editors -->\n"
            '<!ENTITY inject "INJECTED by the feed">\n'
            "]>\n" + CHANNEL.format(t="&inject;")).encode("utf-8")
    assert refused(body) == XXE_MESSAGE


def test_entity_declared_inside_a_prolog_comment_is_not_expanded():
    # feedparser looks for entity declarations with a pattern, comments included, and
    # re-declares the "safe" ones for its own parsers; the comment is just a comment.
    body = ('<?xml version="1.0" encoding="utf-8"?>\n'
            "<!DOCTYPE rss>\n"
            "<!--\n"
            '<!ENTITY inject "INJECTED by the feed">\n'
            "-->\n" + CHANNEL.format(t="&inject;")).encode("utf-8")
    pf = parse_feed(body)
    assert [e.link for e in pf.entries] == ["https://pier.example.org/1"]
    assert "INJECTED" not in everything(pf)


@pytest.mark.parametrize("where", ["after the root", "inside the root"])
def test_doctype_past_the_root_is_not_expanded(where):
    # only the prolog can declare entities; a DOCTYPE further on is text feedparser must ignore
    doctype = '\n<!DOCTYPE rss [\n<!ENTITY inject "INJECTED by the feed">\n]>\n'
    channel = CHANNEL.format(t="&inject;")
    if where == "after the root":
        body = channel + doctype
    else:
        opening = '<rss version="2.0">'
        body = opening + doctype + channel[len(opening):]
    pf = parse_feed(body.encode("utf-8"))
    assert [e.link for e in pf.entries] == ["https://pier.example.org/1"]
    assert "INJECTED" not in everything(pf)


def test_nested_and_quadratic_laughs_are_refused():
    nested = ('<?xml version="1.0" encoding="x-newsloom-unknown"?>\n'
              "<!DOCTYPE rss [\n<!-- ] -->\n"
              '<!ENTITY a "haha">\n'
              '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">\n'
              '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">\n'
              "]>\n" + CHANNEL.format(t="&c;")).encode("utf-8")
    # one large entity referenced many times: no nesting, but the same blow-up
    quadratic = ('<?xml version="1.0" encoding="x-newsloom-unknown"?>\n'
                 "<!DOCTYPE rss [\n<!-- ] -->\n"
                 f'<!ENTITY big "{"haha" * 2000}">\n'
                 "]>\n" + CHANNEL.format(t="&big;" * 500)).encode("utf-8")
    for body in (nested, quadratic):
        message = refused(body)
        assert message == XXE_MESSAGE and "haha" not in message


@pytest.mark.parametrize("codec, bom", [("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff"),
                                        ("utf-16-le", b""), ("utf-32-le", b"\xff\xfe\x00\x00")])
def test_wide_encodings_with_entities_are_refused(codec, bom):
    # the declaration lies (utf-8) and a comment holds a "]": the bytes decide, then the parser
    text = ('<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE rss [\n<!-- ] -->\n'
            '<!ENTITY inject "INJECTED">\n]>\n' + CHANNEL.format(t="&inject;"))
    assert refused(bom + text.encode(codec)) == XXE_MESSAGE


def test_external_parameter_entity_is_refused():
    body = (b'<?xml version="1.0" encoding="x-newsloom-unknown"?>\n<!DOCTYPE rss [\n<!-- ] -->\n'
            b'<!ENTITY % remote SYSTEM "http://127.0.0.1:9/evil.dtd">\n%remote;\n]>\n'
            + CHANNEL.format(t="x").encode())
    assert refused(body) == XXE_MESSAGE


def test_entity_declarations_in_an_ill_formed_prolog_are_refused():
    # the prolog breaks before the parser reaches the root: safety cannot be decided
    body = (b'<?xml version="1.0"?>\n<!DOCTYPE rss [ <!-- ] --> <!ENTITY inject "INJECTED" ]>\n'
            + CHANNEL.format(t="&inject;").encode())
    message = refused(body)
    assert message.startswith("parse: ") and "INJECTED" not in message


# --------------------------------------------------------------------------- still parsed

def test_shift_jis_feed_parses_with_correct_titles():
    text = ('<?xml version="1.0" encoding="Shift_JIS"?>\n'
            '<rss version="2.0"><channel><title>港町新聞</title><link>https://minato.example.jp/</link>'
            '<item><title>桟橋の改修が始まる</title><link>https://minato.example.jp/1</link></item>'
            '<item><title>朝市は日曜日に</title><link>https://minato.example.jp/2</link></item>'
            "</channel></rss>")
    pf = parse_feed(text.encode("shift_jis"), headers={"Content-Type": "application/rss+xml"})
    assert pf.title == "港町新聞"
    assert [e.title for e in pf.entries] == ["桟橋の改修が始まる", "朝市は日曜日に"]


def test_http_charset_decides_when_the_document_declares_none():
    text = ('<?xml version="1.0"?><rss version="2.0"><channel><title>Вести с пристани</title>'
            '<item><title>Паром отменён</title><link>https://pristan.example.ru/1</link></item>'
            "</channel></rss>")
    pf = parse_feed(text.encode("koi8-r"), headers={"Content-Type": "text/xml; charset=KOI8-R"})
    assert pf.title == "Вести с пристани"
    assert [e.title for e in pf.entries] == ["Паром отменён"]


@pytest.mark.parametrize("declared", ["utf-8", "x-newsloom-unknown"])
def test_wrong_or_unknown_declared_encoding_falls_back(declared):
    # windows-1252 bytes that claim utf-8 (or a name nobody knows): decoded as what they are
    text = (f'<?xml version="1.0" encoding="{declared}"?><rss version="2.0"><channel>'
            "<title>Caf\u00e9 du Port \u2013 nouvelles</title>"
            '<item><title>L\u2019\u00e9t\u00e9 arrive</title><link>https://port.example.fr/1</link></item>'
            "</channel></rss>")
    pf = parse_feed(text.encode("windows-1252"))
    assert pf.title == "Caf\u00e9 du Port \u2013 nouvelles"
    assert [e.title for e in pf.entries] == ["L\u2019\u00e9t\u00e9 arrive"]


def test_unknown_declared_encoding_on_utf8_bytes_parses():
    text = ('<?xml version="1.0" encoding="x-newsloom-unknown"?><rss version="2.0"><channel>'
            "<title>Bergdorf Br\u00fccke</title>"
            '<item><title>\u00d6ffnung am Montag</title><link>https://dorf.example.de/1</link></item>'
            "</channel></rss>")
    pf = parse_feed(text.encode("utf-8"))
    assert pf.title == "Bergdorf Br\u00fccke"
    assert [e.title for e in pf.entries] == ["\u00d6ffnung am Montag"]


@pytest.mark.parametrize("codec, declaration", [
    ("utf-16", '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE rss>'),   # with a BOM
    ("utf-16-be", '<?xml version="1.0" encoding="UTF-16"?>'),              # without one
    ("utf-16-le", ""),                                                     # nor a declaration
])
def test_utf16_feed_without_entities_parses(codec, declaration):
    text = (declaration + '<rss version="2.0"><channel><title>Fjord Tidende</title>'
            '<item><title>Ferja g\u00e5r igjen</title><link>https://fjord.example.no/1</link></item>'
            "</channel></rss>")
    pf = parse_feed(text.encode(codec))
    assert pf.title == "Fjord Tidende"
    assert [e.title for e in pf.entries] == ["Ferja g\u00e5r igjen"]


def test_html_named_entities_still_parse():
    body = (b'<?xml version="1.0" encoding="utf-8"?>\n'
            b'<rss version="2.0"><channel><title>Caf&eacute; Gazette</title>'
            b"<item><title>Cr&egrave;me&nbsp;br&ucirc;l&eacute;e</title><link>https://cafe.example.org/1</link>"
            b"<description><![CDATA[<p>Open&nbsp;late &amp; early</p>]]></description></item>"
            b"<item><title>Escaped</title><link>https://cafe.example.org/2</link>"
            b"<description>&lt;p&gt;Tea&amp;nbsp;time&lt;/p&gt;</description></item>"
            b"</channel></rss>")
    pf = parse_feed(body)
    assert pf.title == "Caf\u00e9 Gazette"
    first, second = pf.entries
    assert first.title.replace("\xa0", " ") == "Cr\u00e8me br\u00fbl\u00e9e"
    assert "Open" in first.summary and "late" in first.summary
    assert "Tea" in second.summary and "time" in second.summary


def test_rss091_netscape_doctype_still_detected():
    pf = parse_feed((FEEDS / "rss091.xml").read_bytes())
    assert pf.format == "rss091n"
    assert pf.title == "Lantern Valley Courier"


def test_netscape_doctype_with_an_internal_subset_is_refused():
    body = (b'<?xml version="1.0"?>\n<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"\n'
            b'  "http://my.netscape.com/publish/formats/rss-0.91.dtd" [\n<!ENTITY inject "INJECTED">\n]>\n'
            b'<rss version="0.91"><channel><title>&inject;</title><link>https://pier.example.org/</link>'
            b"<item><title>x</title><link>https://pier.example.org/1</link></item></channel></rss>")
    assert refused(body) == XXE_MESSAGE


def test_leading_whitespace_and_stylesheet_before_the_root_are_fine():
    body = (b'\n\n  <?xml version="1.0" encoding="utf-8"?>\n<?xml-stylesheet type="text/xsl" href="/rss.xsl"?>\n'
            b"<!-- generated -->\n" + CHANNEL.format(t="Harbour").encode())
    pf = parse_feed(body)
    assert pf.title == "Pier Harbour news"


def test_declaration_after_a_leading_comment_is_tolerated_but_still_checked():
    # ill-formed (the declaration must come first), yet seen in the wild and read by feedparser
    comment = b"<!-- generated by a fictional CMS -->\n"
    body = comment + b'<?xml version="1.0" encoding="utf-8"?>\n' + CHANNEL.format(t="Harbour").encode()
    assert parse_feed(body).title == "Pier Harbour news"
    hostile = (comment + b'<?xml version="1.0" encoding="x-newsloom-unknown"?>\n<!DOCTYPE rss [\n<!-- ] -->\n'
               b'<!ENTITY inject "INJECTED">\n]>\n' + CHANNEL.format(t="&inject;").encode())
    assert refused(hostile) == XXE_MESSAGE
