"""The reader's journey in a real browser: home -> story (hashtags, AI block, related) ->
sign up -> comment -> a moderator hides it -> search. Script in feeds and comments never runs."""

from __future__ import annotations

import re

from .conftest import MOD_PASSWORD

XSS_COMMENT = "Nice <script>window.__xss='comment'</script> <img src=x onerror=\"window.__xss='comment-img'\">"


def _no_script_ran(page):
    assert page.evaluate("() => window.__xss === undefined"), page.evaluate("() => window.__xss")
    assert page.dialogs == []


def _log_in(page, base, username, password):
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("main form button[type=submit]")


def test_reader_journey(site, page, browser, screenshots):
    base, store, _ = site
    # 1. Home: top stories with publisher counts.
    page.goto(base + "/")
    page.screenshot(path=str(screenshots / "home.png"), full_page=True)
    story_link = page.locator("ol.stories li", has_text="6 publishers").first.locator("a.title")
    title = story_link.inner_text()
    story_link.click()
    assert re.search(r"/stories/\d+$", page.url)
    story_url = page.url
    assert page.locator("h1").first.inner_text() == title

    # 2. The story page: hashtags, AI block with citations, coverage, related articles.
    tags = page.locator("section.ai ul.hashtags a.hashtag")
    assert 3 <= tags.count() <= 8
    assert page.locator("section.brief cite.citation").count() >= 2
    assert page.locator("section.disagreements").count() == 1
    page.screenshot(path=str(screenshots / "story.png"), full_page=True)
    page.fill("#ask-q", "How many prisoners were released?")
    page.click("section.ask button[type=submit]")
    assert page.locator(".answer cite.citation").count() >= 1
    page.goto(story_url)
    page.locator(".publisher-group a.title").first.click()
    related = page.locator("#related-articles ~ ol li")
    assert related.count() >= 3 and "ago" in related.first.inner_text()
    page.go_back()

    # 3. Sign up, then comment (with a script payload that must stay text).
    page.click("text=Sign up")
    page.fill("#username", "reader1")
    page.fill("#password", "a reader password")
    page.fill("#password2", "a reader password")
    page.click("main form button[type=submit]")
    page.screenshot(path=str(screenshots / "after-signup.png"), full_page=True)
    page.goto(story_url)
    page.fill("#comment-body", XSS_COMMENT)
    page.click("text=Post comment")
    body = page.locator(".comment-body").first
    assert "<script>" in body.inner_text() and "onerror" in body.inner_text()
    _no_script_ran(page)

    # 4. A moderator (another browser context) hides the comment.
    mod_context = browser.new_context()
    mod = mod_context.new_page()
    _log_in(mod, base, "mod", MOD_PASSWORD)
    mod.goto(story_url)
    mod.locator(".comment form", has=mod.locator("button", has_text="Hide")).first.locator("button").click()
    assert mod.locator(".comment .flag", has_text="hidden by a moderator").count() == 1
    mod_context.close()
    anonymous = browser.new_context().new_page()
    anonymous.goto(story_url)
    assert "window.__xss" not in anonymous.locator("#comments").inner_text()
    anonymous.context.close()

    # 5. Search, with highlights.
    page.goto(base + "/")
    page.fill("header input[name=q]", "astrolabe")
    page.keyboard.press("Enter")
    page.wait_for_url("**/search?**")
    assert page.locator("mark").count() >= 1
    _no_script_ran(page)


def test_script_in_feed_titles_and_content_never_runs(site, page):
    base, store, _ = site
    article = next(a for a in store.list_articles(limit=1000) if a.source_name == "The Mischief Post")
    for path in ("/", f"/articles/{article.id}", f"/stories/{article.story_id}", "/search?q=harbour+lights",
                 f"/stories/{article.story_id}.atom"):
        page.goto(base + path)
        _no_script_ran(page)
    page.goto(base + f"/articles/{article.id}")
    heading = page.locator("h1").inner_text()
    assert heading.startswith("Harbour lights") and "<script>" in heading   # shown as text, never markup
    assert page.locator("article img").count() == 0
