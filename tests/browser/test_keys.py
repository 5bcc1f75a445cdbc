"""Keyboard shortcuts (static/keys.js) and reading comfort (dark mode, reduced motion) in a
real browser against the demo site of tests/browser/conftest.py. The keys only drive links and
forms already on the page; the policy `script-src 'self'` must never be violated."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

READER, PASSWORD = "keys-reader", "a keyboard reader password"
# The forms keys.js submits for "m" (mark read) and "s" (follow), as it finds them.
READ_FORM = "form.mark-read, form.mark-read-form, form[data-mark-read], form[action$='/read']"


@pytest.fixture
def csp_page(page):
    """The conftest's page, collecting every Content-Security-Policy report from the console."""
    page.csp = []
    page.on("console", lambda msg: page.csp.append(msg.text) if "Content Security Policy" in msg.text else None)
    return page


def _current(page) -> dict:
    return page.evaluate("""() => {
        const all = [...document.querySelectorAll('[data-item]')];
        const cur = document.querySelector('.kbd-current');
        const focused = document.activeElement && document.activeElement.closest('[data-item]');
        return {index: all.indexOf(cur), count: document.querySelectorAll('.kbd-current').length,
                focused: focused ? all.indexOf(focused) : -1,
                focusedTag: document.activeElement.tagName,
                open: cur ? cur.getAttribute('data-open') : null};
    }""")


def _sign_up(page, base, username=READER):
    page.goto(base + "/signup")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.fill("#password2", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("nav.account .username").inner_text() == username


def test_j_k_o_move_through_items_and_open_one(site, csp_page):
    base, _, _ = site
    page = csp_page
    page.goto(base + "/")
    assert page.locator("[data-item]").count() >= 3
    assert _current(page)["index"] == -1                       # nothing chosen until a key is pressed
    page.keyboard.press("j")
    first = _current(page)
    assert (first["index"], first["count"], first["focused"], first["focusedTag"]) == (0, 1, 0, "A")
    page.keyboard.press("j")
    second = _current(page)
    assert (second["index"], second["count"], second["focused"]) == (1, 1, 1)
    page.keyboard.press("k")
    first = _current(page)
    assert (first["index"], first["count"], first["focused"]) == (0, 1, 0)
    page.keyboard.press("k")                                   # stays on the first, never wraps
    assert _current(page)["index"] == 0
    target = first["open"]
    assert re.fullmatch(r"/(stories|articles)/\d+", target), target
    page.keyboard.press("o")
    page.wait_for_url(base + target)
    # Enter opens too (the chosen item's link holds the focus).
    page.goto(base + "/")
    page.keyboard.press("j")
    page.keyboard.press("j")
    target = _current(page)["open"]
    page.keyboard.press("Enter")
    page.wait_for_url(base + target)
    assert page.csp == [], page.csp


def test_slash_focuses_search_and_typing_there_is_not_a_key(site, csp_page):
    base, _, _ = site
    page = csp_page
    page.goto(base + "/")
    page.keyboard.press("/")
    assert page.evaluate("() => document.activeElement.id") == "site-q"
    assert page.input_value("#site-q") == ""                   # the "/" itself is not typed
    page.keyboard.type("jk?o")
    assert page.input_value("#site-q") == "jk?o"
    assert page.locator(".kbd-current").count() == 0 and not page.locator("#keys-help").is_visible()
    assert page.url == base + "/"
    page.keyboard.press("Control+j")                           # modifiers leave the page alone
    page.keyboard.press("Escape")
    page.evaluate("() => document.activeElement.blur()")
    page.keyboard.press("Alt+j")
    assert page.locator(".kbd-current").count() == 0
    assert page.csp == [], page.csp


def test_question_mark_toggles_the_help_and_escape_closes_it(site, csp_page):
    base, _, _ = site
    page = csp_page
    page.goto(base + "/")
    help_ = page.locator("#keys-help")
    assert not help_.is_visible()
    assert "press ?" in page.locator("footer .keys-hint").inner_text()
    page.keyboard.press("?")
    assert help_.is_visible()
    assert all(k in help_.inner_text() for k in ("Next / previous item", "Search", "Mark read"))
    page.keyboard.press("j")                                   # keys wait while the list is open
    assert page.locator(".kbd-current").count() == 0
    page.keyboard.press("Escape")
    assert not help_.is_visible()
    page.keyboard.press("?")
    assert help_.is_visible()
    page.keyboard.press("?")
    assert not help_.is_visible()
    page.keyboard.press("?")
    help_.locator("button", has_text="Close").click()          # a plain <form method=dialog>
    assert not help_.is_visible()
    assert page.csp == [], page.csp


def test_s_follows_the_story(site, csp_page):
    base, store, _ = site
    page = csp_page
    _sign_up(page, base)
    story = max(store.list_stories(limit=50), key=lambda s: s.article_count)
    page.goto(base + f"/stories/{story.id}")
    follow = page.locator("main form.follow-form button").first
    assert follow.inner_text().startswith("Follow")
    with page.expect_navigation():
        page.keyboard.press("s")
    assert page.url == base + f"/stories/{story.id}"             # the form's `next`: back to the story
    assert page.locator("main form.follow-form button").first.inner_text().startswith("Unfollow")
    with page.expect_navigation():
        page.keyboard.press("s")
    assert page.locator("main form.follow-form button").first.inner_text().startswith("Follow")
    assert page.csp == [], page.csp


def test_m_on_an_article_page_submits_the_pages_own_form(site, csp_page):
    """With no item chosen, m submits the article's own mark-read form, not a related item's.
    (Opening the article already marked it read, so its form offers "Mark unread".)"""
    base, store, _ = site
    page = csp_page
    _sign_up(page, base, READER + "-2")
    article = next(a for a in store.list_articles(limit=200) if a.story_id)
    page.goto(base + f"/articles/{article.id}")
    assert page.locator("main [data-item] " + READ_FORM.split(", ")[0]).count() >= 1   # related items have theirs
    own = page.locator("main .reading-state form.mark-read button")
    assert own.inner_text().strip() == "Mark unread"
    with page.expect_request(lambda r: r.method == "POST") as posted:
        page.keyboard.press("m")
    assert posted.value.url == base + f"/articles/{article.id}/read"
    assert "read=0" in posted.value.post_data
    page.wait_for_load_state()
    assert page.csp == [], page.csp


def test_m_marks_the_chosen_item_read(site, csp_page):
    """On a list, m submits the chosen item's own mark-read form; the page comes back with the
    item marked read for this reader and the item's button offering "Mark unread"."""
    base, store, _ = site
    page = csp_page
    _sign_up(page, base, READER + "-3")
    user = store.find_user(READER + "-3")
    page.goto(base + "/")
    index = page.evaluate("""(sel) => [...document.querySelectorAll('[data-item]')]
        .findIndex((item) => item.querySelector(sel) !== null)""", READ_FORM)
    assert index >= 0, "no item with a mark-read form on the home page"
    for _ in range(index + 1):
        page.keyboard.press("j")
    target = _current(page)["open"]
    article_id = int(target.rsplit("/", 1)[1])
    assert user.id not in _read_ids(store, article_id)
    with page.expect_navigation():
        page.keyboard.press("m")
    assert user.id in _read_ids(store, article_id)
    item = page.locator(f"[data-item][data-open='{target}']").first
    assert item.locator("form.mark-read button").inner_text().strip() == "Mark unread"
    assert page.csp == [], page.csp


def _read_ids(store, article_id: int) -> set[int]:
    from newsloom.store.schema import article_reads

    with store.read() as conn:
        rows = conn.execute(sa.select(article_reads.c.user_id).where(article_reads.c.article_id == article_id))
        return {r.user_id for r in rows}


@pytest.mark.parametrize("motion", ["reduce", "no-preference"])
def test_dark_mode_and_reduced_motion(site, browser, motion, screenshots):
    base, _, _ = site
    seen = {}
    for scheme in ("light", "dark"):
        context = browser.new_context(color_scheme=scheme, reduced_motion=motion)
        page = context.new_page()
        csp: list[str] = []
        page.on("console", lambda msg: csp.append(msg.text) if "Content Security Policy" in msg.text else None)
        page.goto(base + "/", wait_until="load")
        page.keyboard.press("j")
        if motion == "no-preference":                          # let the highlight fade in
            page.wait_for_function("() => getComputedStyle(document.querySelector('.kbd-current'))"
                                   ".backgroundColor !== 'rgba(0, 0, 0, 0)'")
        seen[scheme] = page.evaluate("""() => {
            const css = (el) => getComputedStyle(el);
            const cur = document.querySelector('.kbd-current');
            return {bg: css(document.body).backgroundColor, fg: css(document.body).color,
                    current: css(cur).backgroundColor, duration: css(cur).transitionDuration,
                    scroll: css(document.documentElement).scrollBehavior};
        }""")
        if motion == "reduce":
            page.keyboard.press("?")
            page.screenshot(path=str(screenshots / f"keys-{scheme}.png"))
        context.close()
        assert csp == [], (scheme, csp)
    light, dark = seen["light"], seen["dark"]
    assert light["bg"] == "rgb(255, 255, 255)" and dark["bg"] != light["bg"] and dark["fg"] != light["fg"]
    assert dark["current"] != light["current"] != light["bg"]  # the chosen item stands out in both
    for s in seen.values():
        if motion == "reduce":
            assert s["duration"] == "0s" and s["scroll"] == "auto", s
        else:
            assert s["duration"] != "0s" and s["scroll"] == "smooth", s


def test_pages_work_without_javascript(site, browser):
    """No script: the hint stays hidden, the list of keys closed, links and forms still work."""
    base, _, _ = site
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(base + "/")
    assert not page.locator("footer .keys-hint").is_visible() and not page.locator("#keys-help").is_visible()
    page.fill("header input[name=q]", "astrolabe")
    page.keyboard.press("Enter")
    page.wait_for_url("**/search?**")
    page.goto(base + "/")
    href = page.locator("[data-item] a.title").first.get_attribute("href")
    page.locator("[data-item] a.title").first.click()
    page.wait_for_url(base + href)
    context.close()
