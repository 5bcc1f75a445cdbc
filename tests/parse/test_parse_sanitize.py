"""newsloom.extract.sanitize: allow-list sanitizing and HTML -> text."""

from __future__ import annotations

import pytest

from newsloom.extract.sanitize import html_to_text, sanitize_html

REL = 'rel="noopener noreferrer nofollow"'


def test_keeps_allowed_markup():
    html = ('<h2>Head</h2><p>A <strong>b</strong> <em>c</em> <code>d</code></p>'
            '<blockquote>q</blockquote><ul><li>x</li></ul><pre>y</pre>'
            '<figure><img src="https://img.example/a.jpg" alt="A" title="T"><figcaption>cap</figcaption></figure>'
            '<table><thead><tr><th>h</th></tr></thead><tbody><tr><td>v</td></tr></tbody></table>')
    out = sanitize_html(html)
    for tag in ("<h2>", "<strong>", "<em>", "<code>", "<blockquote>", "<ul>", "<li>", "<pre>",
                "<figure>", "<figcaption>", "<table>", "<th>", "<td>"):
        assert tag in out
    assert 'src="https://img.example/a.jpg"' in out and 'alt="A"' in out


@pytest.mark.parametrize("html, forbidden", [
    ('<p>x<script>alert(1)</script></p>', "alert"),
    ('<style>p{color:red}</style><p>x</p>', "color"),
    ('<iframe src="https://evil.example/"></iframe><p>x</p>', "evil"),
    ('<p onclick="steal()">x</p>', "steal"),
    ('<img src="x" onerror="steal()">', "steal"),
    ('<a href="javascript:alert(1)">x</a>', "javascript"),
    ('<a href="  JaVaScRiPt:alert(1)">x</a>', "alert"),
    ('<img src="data:image/png;base64,AAAA">', "data:"),
    ('<img src="/relative.png">', "relative"),
    ('<div style="background:url(x)">x</div>', "style"),
    ('<form action="/x"><input name="q"></form>', "input"),
    ('<svg><script>alert(1)</script></svg>', "alert"),
    ('<!-- secret comment --><p>x</p>', "secret"),
])
def test_removes_dangerous(html, forbidden):
    assert forbidden.lower() not in sanitize_html(html).lower()


def test_links_get_rel_and_keep_href():
    out = sanitize_html('<a href="https://news.example/a" target="_blank" rel="opener" title="t">x</a>')
    assert out == f'<a href="https://news.example/a" title="t" {REL}>x</a>'


def test_empty():
    assert sanitize_html("") == ""
    assert html_to_text("") == ""


def test_html_to_text_paragraphs_and_entities():
    html = ("<h2>Title &amp; more</h2><p>First   paragraph\n with &lt;brackets&gt;.</p>"
            "<p>Line one<br>line two</p><script>var x = 1;</script><ul><li>a</li><li>b</li></ul>tail &#8212; end")
    assert html_to_text(html) == (
        "Title & more\n\nFirst paragraph with <brackets>.\n\nLine one\nline two\n\na\n\nb\n\ntail \u2014 end"
    )


def test_html_to_text_plain_input():
    assert html_to_text("just text") == "just text"
    assert html_to_text("one\n\n\ntwo") == "one\n\ntwo"
