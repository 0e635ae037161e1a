"""The Content-Security-Policy: in every page, in `catalogue serve`'s headers and in the
generated server configs; every page type works in Chromium under it without a single
violation, and an inline script or style slipped into a page does not run."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from catalogue.csp import CONTENT_SECURITY_POLICY, DIRECTIVES

from .conftest import ROOTS, build_site, free_port

REPORT = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error("CSP violation: " + e.violatedDirective + " " + e.blockedURI);
});
"""


@contextlib.contextmanager
def serve(site: Path) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "catalogue", "serve", "--out", str(site), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(url + "/", timeout=1).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("catalogue serve did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_the_policy_allows_only_the_sites_own_code():
    assert DIRECTIVES["script-src"] == "'self'"
    assert DIRECTIVES["style-src"] == "'self'"
    assert DIRECTIVES["worker-src"] == "'self'"
    assert DIRECTIVES["object-src"] == "'none'"
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
    assert "unsafe-eval" not in CONTENT_SECURITY_POLICY


def test_every_page_carries_the_policy_and_no_inline_code(demo_site: Path):
    import re

    pages = sorted(demo_site.rglob("*.html"))
    assert len(pages) > 20
    meta = f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">'
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert meta in html.replace("&#39;", "'"), page
        head = html.split("</head>")[0]
        assert head.index("Content-Security-Policy") < head.find("<link") or "<link" not in head
        # no inline script (data blocks such as JSON-LD are not scripts), handler or style
        for attrs in re.findall(r"<script\b([^>]*)>", html):
            assert "src=" in attrs or "application/ld+json" in attrs, (page, attrs)
        assert not re.search(r"<style\b", html), page
        assert not re.search(r"\sstyle=", html), page
        assert not re.search(r"\son[a-z]+=", html), page


def test_serve_sends_the_policy(demo_server: str):
    for path in ["/", "/no/such/page/", "/static/style.css"]:
        try:
            response = urllib.request.urlopen(demo_server + path, timeout=5)
        except urllib.error.HTTPError as exc:
            response = exc
        assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY, path


def check_page(pg: Page, problems: list[str], url: str, status: int = 200) -> None:
    response = pg.goto(url, wait_until="networkidle")
    assert response is not None and response.status == status, url
    assert [p for p in problems if "CSP" in p or "Content Security Policy" in p] == [], url


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/studies/",
        "/studies/S-BIAD628/",
        "/studies/S-BIAD9001/",
        "/stats/",
        "/search/?q=anemone",
        "/studies/S-BIAD9001/files/screen-a/",
        "/viewer/S-BIAD9009/human_D03_3ch.ome.zarr/",  # the OME-Zarr viewer
    ],
)
def test_no_policy_violation_on_any_page_type(demo_server: str, page, path: str):
    pg, problems = page
    pg.add_init_script(REPORT)
    check_page(pg, problems, demo_server + path)
    if path.startswith("/search/"):  # the search itself runs under the policy
        expect(pg.locator("#results .result")).to_have_count(1, timeout=30_000)
    if "/files/" in path:  # so does the file table (a worker)
        expect(pg.locator("#ff-status")).to_contain_text("files match", timeout=30_000)
    assert problems == [], problems


def test_no_policy_violation_on_404_tombstone_and_redirect_pages(tmp_path: Path, page):
    site = tmp_path / "build"
    build_site(ROOTS / "lifecycle" / "content", site)
    pg, problems = page
    pg.add_init_script(REPORT)
    with serve(site) as url:
        check_page(pg, problems, url + "/no/such/page/", 404)
        check_page(pg, problems, url + "/studies/S-BIAD3/")  # tombstone
        check_page(pg, problems, url + "/studies/S-BIAD5/")  # static redirect page
        pg.wait_for_url("**/studies/S-BIAD1/")
    assert [p for p in problems if "404" not in p] == []


def test_an_inline_script_or_style_slipped_into_a_page_does_not_run(tmp_path: Path, page):
    site = tmp_path / "build"
    build_site(ROOTS / "minimal" / "content", site)
    study = site / "studies/S-BIAD1/index.html"
    html = study.read_text(encoding="utf-8")
    html = html.replace(
        "</main>",
        '<p id="styled" style="color: rgb(255, 0, 0)">x</p>'
        "<script>window.inlineRan = true</script>"
        '<img src="/nothing.png" id="h" onerror="window.handlerRan = true">'
        "</main>",
    )
    study.write_text(html, encoding="utf-8")
    pg, problems = page
    with serve(site) as url:
        pg.goto(url + "/studies/S-BIAD1/", wait_until="networkidle")
        assert pg.evaluate("window.inlineRan") is None
        assert pg.evaluate("window.handlerRan") is None
        colour = pg.evaluate("getComputedStyle(document.getElementById('styled')).color")
        assert colour != "rgb(255, 0, 0)"
    assert any("Content Security Policy" in p for p in problems), problems


def test_the_policy_is_enforced_by_the_meta_tag_alone(tmp_path: Path, page):
    """A host that sends no headers (a plain bucket): the page's own tag still applies."""
    site = tmp_path / "build"
    build_site(ROOTS / "minimal" / "content", site)
    study = site / "studies/S-BIAD1/index.html"
    html = study.read_text(encoding="utf-8")
    study.write_text(
        html.replace("</main>", "<script>window.inlineRan = true</script></main>"),
        encoding="utf-8",
    )
    pg, _ = page
    pg.goto(study.as_uri())
    assert pg.evaluate("window.inlineRan") is None
    shutil.rmtree(site)


def test_generated_server_configs_send_the_policy(demo_site: Path):
    """nginx, Apache and Netlify/Cloudflare configs carry it (tests/webserver.py checks
    that real nginx and Apache send every common header on every kind of file)."""
    from catalogue import hosting

    assert hosting.COMMON_HEADERS["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    nginx = (demo_site / "nginx-headers.conf").read_text()
    assert f'add_header Content-Security-Policy "{CONTENT_SECURITY_POLICY}" always;' in nginx
    apache = (demo_site / ".htaccess").read_text()
    assert f'Header always set Content-Security-Policy "{CONTENT_SECURITY_POLICY}"' in apache
    netlify = (demo_site / "_headers").read_text().splitlines()
    assert netlify[1:] == [
        "/*",
        "  X-Content-Type-Options: nosniff",
        f"  Content-Security-Policy: {CONTENT_SECURITY_POLICY}",
    ]
