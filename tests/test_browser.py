"""A reader in a real browser (Debian's Chromium driven by Playwright) on the served demo."""

from __future__ import annotations

import re

from playwright.sync_api import expect

UNIQUE_WORD = "anemone"  # only S-BIAD628 contains it (content/CREDITS.md, "Test hooks")
UNIQUE_STUDY = "S-BIAD628"
ORGANISM = "Nematostella vectensis"


def test_search_filter_and_open_study(demo_server: str, page):
    pg, problems = page
    pg.goto(f"{demo_server}/search/", wait_until="networkidle")
    pg.locator("#search-input").fill(UNIQUE_WORD)
    results = pg.locator("#results .result")
    expect(results).to_have_count(1, timeout=10_000)
    expect(pg.locator("#status")).to_have_text("1 study found")
    # narrow by organism with the filter panel; the filtered view is in the URL
    pg.get_by_label(re.compile(rf"^{re.escape(ORGANISM)} \(1\)")).check()
    expect(results).to_have_count(1, timeout=10_000)
    assert "organism=Nematostella+vectensis" in pg.url
    results.first.locator("a").first.click()
    pg.wait_for_url(re.compile(rf"/studies/{UNIQUE_STUDY}/$"))
    expect(pg.locator("h1")).to_be_visible()
    assert UNIQUE_STUDY in pg.locator(".accession").inner_text()
    assert problems == []


def test_filter_alone_lists_exactly_that_organism(demo_server: str, page):
    from catalogue.readers.tree import load

    from .conftest import DEMO, TODAY

    catalogue, _ = load(DEMO, TODAY)
    assert catalogue is not None
    human = sorted(
        e.study.accession
        for e in catalogue.public()
        if any(o.label == "Homo sapiens" for o in e.study.organisms)
    )
    pg, problems = page
    pg.goto(f"{demo_server}/search/", wait_until="networkidle")
    pg.get_by_label(re.compile(r"^Homo sapiens \(\d+\)")).check()
    results = pg.locator("#results .result")
    expect(results).to_have_count(len(human), timeout=10_000)
    shown = sorted(t.split(" · ")[0] for t in results.locator(".result-meta").all_inner_texts())
    assert shown == human
    # the filtered view can be linked: opening the URL restores it
    pg.goto(pg.url)
    expect(results).to_have_count(len(human), timeout=10_000)
    assert pg.get_by_label(re.compile(r"^Homo sapiens")).is_checked()
    assert problems == []


def test_header_search_box_by_keyboard(demo_server: str, page):
    pg, problems = page
    pg.goto(f"{demo_server}/", wait_until="networkidle")
    pg.keyboard.press("Tab")  # skip link
    pg.keyboard.press("Tab")  # site title
    for _ in range(10):
        if pg.evaluate("document.activeElement && document.activeElement.id") == "q":
            break
        pg.keyboard.press("Tab")
    assert pg.evaluate("document.activeElement.id") == "q"
    pg.keyboard.type(UNIQUE_WORD)
    pg.keyboard.press("Enter")
    pg.wait_for_url(re.compile(r"/search/\?q="))
    results = pg.locator("#results .result")
    expect(results).to_have_count(1, timeout=10_000)
    # onward by keyboard: Tab from the search box through the filters reaches the result link
    link = results.first.locator("a")
    for _ in range(80):
        pg.keyboard.press("Tab")
        if link.evaluate("a => a === document.activeElement"):
            break
    pg.keyboard.press("Enter")
    pg.wait_for_url(re.compile(rf"/studies/{UNIQUE_STUDY}/$"))
    assert problems == []


def test_pages_load_without_console_errors(demo_server: str, page):
    pg, problems = page
    for path in ["/", "/studies/", f"/studies/{UNIQUE_STUDY}/", "/studies/S-BIAD9001/"]:
        response = pg.goto(f"{demo_server}{path}", wait_until="networkidle")
        assert response is not None and response.status == 200, path
    response = pg.goto(f"{demo_server}/no/such/page/", wait_until="networkidle")
    assert response is not None and response.status == 404
    assert "Page not found" in pg.content()
    assert [p for p in problems if "404" not in p] == []


def test_facet_keeps_keyboard_focus(demo_server: str, page):
    pg, problems = page
    pg.goto(f"{demo_server}/search/", wait_until="networkidle")
    box = pg.get_by_label(re.compile(r"^Homo sapiens \(\d+\)"))
    box.focus()
    pg.keyboard.press("Space")
    expect(pg.locator("#results .result").first).to_be_visible(timeout=10_000)
    expect(pg.get_by_label(re.compile(r"^Homo sapiens"))).to_be_focused()
    assert pg.get_by_label(re.compile(r"^Homo sapiens")).is_checked()
    assert problems == []
