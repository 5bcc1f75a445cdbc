"""Read state in a real browser: opening one copy of wire text marks its duplicate read, and
the "Mark read" / "Mark unread" buttons change both copies at once (issue 13, item 1)."""

from __future__ import annotations

import re

from .conftest import _hash

PASSWORD = "a wire reader password"


def _wire_pair(store):
    """(original, copy) from the demo newsroom as its pipeline deduplicated it: a copy listed on
    its publisher's first page, so the publisher page shows it."""
    for copy in store.list_articles(limit=1000):
        if copy.duplicate_of is None or copy.source_id is None:
            continue
        if copy.id in {a.id for a in store.list_articles(source_id=copy.source_id, limit=20)}:
            return store.get_article(copy.duplicate_of), copy
    raise AssertionError("the demo newsroom has no wire copy on its publisher's first page")


def _item(page, article_id):
    return page.locator(f'li.article-item[data-open="/articles/{article_id}"]')


def test_reading_one_wire_copy_marks_its_duplicate_read(site, page, screenshots):
    base, store, _ = site
    user = store.find_user("wirereader") or store.create_user("wirereader", _hash(PASSWORD))
    original, copy = _wire_pair(store)
    assert original.source_id != copy.source_id
    page.goto(base + "/login")
    page.fill("#username", "wirereader")
    page.fill("#password", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(re.compile(r"/$|/for-you$|/account$"))

    source_page = f"{base}/sources/{copy.source_id}"
    page.goto(source_page)
    item = _item(page, copy.id)
    assert "is-unread" in item.get_attribute("class")
    assert item.locator("button.read-toggle").inner_text() == "Mark read"

    # Opening the original marks it read, and its copy with it.
    page.goto(f"{base}/articles/{original.id}")
    assert page.locator(".reading-state .read-state").inner_text() == "Read"
    page.goto(source_page)
    item = _item(page, copy.id)
    assert "is-read" in item.get_attribute("class")
    assert item.locator(".read-state").inner_text() == "Read"
    page.screenshot(path=str(screenshots / "wire-copy-read.png"), full_page=True)

    # "Mark unread" on the copy unmarks both; "Mark read" marks both again.
    item.locator("button.read-toggle").click()
    page.wait_for_url(source_page)
    assert "is-unread" in _item(page, copy.id).get_attribute("class")
    assert store.read_ids(user.id, [original.id, copy.id]) == set()
    _item(page, copy.id).locator("button.read-toggle").click()
    page.wait_for_url(source_page)
    assert _item(page, copy.id).locator("button.read-toggle").inner_text() == "Mark unread"
    assert store.read_ids(user.id, [original.id, copy.id]) == {original.id, copy.id}
    page.goto(f"{base}/articles/{original.id}")
    assert page.locator(".reading-state button.read-toggle").inner_text() == "Mark unread"
