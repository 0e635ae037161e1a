"""Quality gates of every page type in Chromium: no axe-core violations in the light and
the dark theme, no sideways scrolling on a phone, the theme switch, keyboard paths to the
data. axe-core is vendored in tests/data/axe (see tests/data/SOURCES.md)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from .conftest import ROOTS, build_site, free_port

AXE = Path(__file__).parent / "data" / "axe" / "axe.min.js"

# page type -> path on the demo site ("tombstone" is served from tests/roots/lifecycle)
PAGES = {
    "home": "/",
    "browse": "/studies/",
    "browse by organism": "/browse/organism/",
    "study": "/studies/S-BIAD9001/",
    "files": "/studies/S-BIAD9001/files/screen-a/",
    "files of an OME-Zarr": "/studies/S-BIAD9009/files/image/",
    "search": "/search/?q=cell",
    "stats": "/stats/",
    "404": "/no/such/page/",
}


@pytest.fixture(scope="module")
def lifecycle_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A site with a withdrawn study (its tombstone page), served like the demo."""
    out = tmp_path_factory.mktemp("lifecycle") / "build"
    build_site(ROOTS / "lifecycle" / "content", out)
    port = free_port()
    exe = shutil.which("catalogue")
    cmd = [sys.executable, "-m", "catalogue", "serve", "--out", str(out), "--port", str(port)]
    if exe:
        cmd = [exe, *cmd[3:]]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url + "/", timeout=1).read()
            break
        except OSError:
            assert proc.poll() is None and time.monotonic() < deadline, "serve did not start"
            time.sleep(0.1)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def all_pages(demo: str, lifecycle: str) -> dict[str, str]:
    urls = {name: demo + path for name, path in PAGES.items()}
    urls["tombstone"] = lifecycle + "/studies/S-BIAD3/"
    return urls


def axe_violations(pg: Page, url: str, scheme: str) -> list[str]:
    pg.goto(url, wait_until="networkidle")
    pg.wait_for_timeout(200)  # scripts settle (file table, search results)
    pg.add_script_tag(path=str(AXE))
    # the dark theme changes colours only: there the colour rules run, all rules in light
    only = "runOnly: ['color-contrast', 'link-in-text-block'], " if scheme == "dark" else ""
    found = pg.evaluate(
        "async () => (await axe.run(document, {"
        + only
        + """resultTypes: ["violations"]})).violations.map(v => v.id + ": " + v.help +
          " — " + v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(" | "))"""
    )
    return list(found)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_axe_violations_on_any_page_type(demo_server, lifecycle_server, browser, scheme):
    assert AXE.is_file(), "tests/data/axe/axe.min.js is missing"
    # axe is injected by the test, which the site's CSP (rightly) forbids: bypass it here only
    context = browser.new_context(color_scheme=scheme, bypass_csp=True)
    pg = context.new_page()
    report = {}
    for name, url in all_pages(demo_server, lifecycle_server).items():
        found = axe_violations(pg, url, scheme)
        if found:
            report[name] = found
    context.close()
    assert report == {}, "\n".join(f"{k}: {v}" for k, vs in report.items() for v in vs)


@pytest.mark.parametrize("width", [320, 390])
def test_no_sideways_scrolling_on_a_phone(demo_server, lifecycle_server, browser, width):
    context = browser.new_context(viewport={"width": width, "height": 800})
    pg = context.new_page()
    wide = {}
    for name, url in all_pages(demo_server, lifecycle_server).items():
        pg.goto(url, wait_until="networkidle")
        pg.wait_for_timeout(100)
        scroll = pg.evaluate("document.documentElement.scrollWidth")
        if scroll > width:
            wide[name] = scroll
    context.close()
    assert wide == {}, f"pages wider than {width} px: {wide}"


def test_theme_switch_is_kept_and_applied_before_paint(demo_server, browser):
    context = browser.new_context(color_scheme="light")
    pg = context.new_page()
    pg.goto(demo_server + "/", wait_until="networkidle")
    switch = pg.get_by_role("button", name="Dark theme")
    expect(switch).to_have_attribute("aria-pressed", "false")
    background = "getComputedStyle(document.body).backgroundColor"
    light = pg.evaluate(background)
    switch.focus()
    pg.keyboard.press("Enter")
    expect(switch).to_have_attribute("aria-pressed", "true")
    dark = pg.evaluate(background)
    assert dark != light
    # the next page is dark from its first paint: the attribute is set by the blocking
    # script in <head>, before <body> exists
    pg.goto(demo_server + "/stats/", wait_until="commit")
    assert pg.evaluate("document.documentElement.dataset.theme") == "dark"
    pg.wait_for_load_state("networkidle")
    assert pg.evaluate(background) == dark
    context.close()


def test_phone_reader_reaches_the_data_in_one_screen(demo_server, browser):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    pg = context.new_page()
    for path in ("/studies/S-BIAD9001/", "/studies/S-BIAD1492/", "/studies/S-BIAD9009/"):
        pg.goto(demo_server + path, wait_until="networkidle")
        for name in ("Download", re.compile(r"^Browse files")):
            box = pg.get_by_role("link", name=name).first.bounding_box()
            assert box is not None and box["y"] + box["height"] <= 844, (path, name, box)
    context.close()


def test_download_commands_by_keyboard(demo_server, page):
    pg, problems = page
    pg.goto(demo_server + "/studies/S-BIAD9009/", wait_until="networkidle")
    download = pg.locator(".study-head").get_by_role("link", name="Download", exact=True)
    for _ in range(40):
        pg.keyboard.press("Tab")
        if download.evaluate("a => a === document.activeElement"):
            break
    pg.keyboard.press("Enter")
    assert pg.url.endswith("#download")
    # from there, Tab reaches the study's URL list, then the commands
    target = pg.locator("#download a", has_text="URL list")
    for _ in range(10):
        pg.keyboard.press("Tab")
        if target.evaluate("a => a === document.activeElement"):
            break
    assert target.evaluate("a => a === document.activeElement")
    assert problems == []
