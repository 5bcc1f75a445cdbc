def test_home_to_story_to_related(site, page, screenshots):
    base, store, _ = site
    page.goto(base + "/")
    assert page.locator("ol.stories li").count() >= 10
    page.screenshot(path=str(screenshots / "home.png"), full_page=True)
    page.locator("ol.stories li", has_text="6 publishers").first.locator("a.title").click()
    assert "/stories/" in page.url
    assert page.locator(".publisher-group").count() >= 5          # wire copies sit under "also published by"
    page.screenshot(path=str(screenshots / "story.png"), full_page=True)
    page.locator(".publisher-group a.title").first.click()
    related = page.locator("#related-articles + ol li")
    assert related.count() >= 1
    assert "ago" in related.first.inner_text()
