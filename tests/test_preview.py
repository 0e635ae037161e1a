"""`catalogue preview`: a private, self-contained bundle of one (embargoed) study."""

from __future__ import annotations

import re
import shutil
import threading
import urllib.request
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from click.testing import CliRunner

from catalogue.cli import main
from catalogue.publish.serve import make_server

from .conftest import ROOTS, build_site, site_files, tree_digest

TODAY = "2026-11-25"


@pytest.fixture(scope="module")
def content(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("preview") / "content"
    shutil.copytree(ROOTS / "lifecycle" / "content", dest)
    return dest


def preview(content: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        main, ["preview", *args, "--content", str(content), "--today", TODAY]
    )
    assert "Traceback" not in result.stderr
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def bundle(content: Path) -> Path:
    out = content.parent / "previews"
    code, stdout, stderr = preview(content, "S-BIAD2", "--out", str(out))
    assert code == 0, stderr
    folder = Path(stdout.strip())
    assert folder.parent == out
    return folder


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.folders: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and name in ("href", "src", "data-meta"):
                self.links.append(value)
            elif value and name == "data-base":  # a folder the file table script reads from
                self.folders.append(value)


def links_of(html: str) -> list[str]:
    parser = Links()
    parser.feed(html)
    return parser.links


def test_the_bundle_sits_at_an_unguessable_address(bundle: Path):
    assert re.fullmatch(r"[0-9a-f]{32}", bundle.name)
    assert (bundle / "studies/S-BIAD2/index.html").is_file()
    # the folder above it neither lists its bundles nor lets robots in
    assert "Nothing here" in (bundle.parent / "index.html").read_text()
    assert (bundle.parent / "robots.txt").read_text() == "User-agent: *\nDisallow: /\n"


def test_the_bundle_holds_the_study_its_files_and_thumbnail(bundle: Path):
    page = (bundle / "studies/S-BIAD2/index.html").read_text()
    assert "Embargoed quokka heart atlas" in page
    assert "Confidential preview" in page and "under embargo until 2030-01-01" in page
    thumbs = list((bundle / "thumbnails").glob("*.webp"))
    assert len(thumbs) == 1 and f"../../thumbnails/{thumbs[0].name}" in page
    assert (bundle / "studies/S-BIAD2/files/sections/index.html").is_file()
    assert (bundle / "studies/S-BIAD2/files/sections/files.tsv").is_file()
    assert (bundle / "api/v1/studies/S-BIAD2.json").is_file()
    assert (bundle / "static/style.css").is_file()
    # nothing of the rest of the archive
    for path, data in site_files(bundle):
        for needle in (b"S-BIAD1", b"S-BIAD3", b"Worm fluorescence", b"wombat"):
            assert needle not in data, (needle, path)
    assert not (bundle / "studies/index.html").exists()
    assert not (bundle / "sitemap.xml").exists()


def test_the_bundle_is_not_indexed_and_leaks_no_address(bundle: Path):
    assert (bundle / "robots.txt").read_text() == "User-agent: *\nDisallow: /\n"
    for page in bundle.rglob("*.html"):
        html = page.read_text()
        assert '<meta name="robots" content="noindex, nofollow, noarchive">' in html, page
        assert '<meta name="referrer" content="no-referrer">' in html, page
        assert 'rel="canonical"' not in html, page


def test_every_link_in_the_bundle_is_relative_and_resolves(bundle: Path):
    checked = 0
    for page in bundle.rglob("*.html"):
        folder = page.parent
        parser = Links()
        parser.feed(page.read_text())
        for base in parser.folders:
            assert not base.startswith("/") and (folder / base).is_dir(), (base, page)
        for link in parser.links:
            if link.startswith(("https://", "http://", "mailto:", "#")):
                continue
            assert not link.startswith("/"), f"{link} in {page} is not relative"
            target = (folder / urlsplit(link).path).resolve()
            if link.endswith("/") or target.is_dir():
                target = target / "index.html"
            assert target.is_file(), f"{link} in {page.relative_to(bundle)} leads nowhere"
            assert target.is_relative_to(bundle.resolve())
            checked += 1
    assert checked > 10


@pytest.fixture()
def served(bundle: Path) -> Iterator[str]:
    """The previews folder served from a sub-path of a web server, as a reviewer sees it."""
    server = make_server(bundle.parent.parent, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/{bundle.parent.name}/{bundle.name}/"
    finally:
        server.shutdown()
        server.server_close()


def test_the_bundle_works_from_any_folder_of_a_web_server(served: str):
    with urllib.request.urlopen(served) as response:  # the landing page
        assert b"studies/S-BIAD2/" in response.read()
    page_url = urljoin(served, "studies/S-BIAD2/")
    with urllib.request.urlopen(page_url) as response:
        html = response.read().decode()
    resources = [
        link
        for link in links_of(html)
        if not link.startswith(("http://", "https://", "mailto:", "#"))
    ]
    assert any(r.endswith("style.css") for r in resources)
    assert any(r.endswith(".webp") for r in resources)
    for link in resources:
        with urllib.request.urlopen(urljoin(page_url, link)) as response:
            assert response.status == 200, link


def test_the_public_build_knows_nothing_of_the_preview(content: Path, bundle: Path, tmp_path: Path):
    out = tmp_path / "build"
    build_site(content, out)
    for path, data in site_files(out):
        assert bundle.name.encode() not in data, path
        assert b"S-BIAD2" not in data, path


def test_preview_refuses_to_write_into_the_public_site(content: Path, tmp_path: Path):
    out = tmp_path / "build"
    build_site(content, out)
    before = tree_digest(out)
    code, _, stderr = preview(content, "S-BIAD2", "--out", str(out / "previews"))
    assert code == 1 and "inside the public site" in stderr
    assert tree_digest(out) == before


@pytest.mark.parametrize(
    ("accession", "message"),
    [
        ("S-BIAD4", "S-BIAD4 is reserved but has no study folder yet"),
        ("S-BIAD3", "S-BIAD3 is withdrawn; there is nothing to preview"),
        ("S-BIAD99", "there is no study S-BIAD99"),
    ],
)
def test_what_cannot_be_previewed_is_said(
    content: Path, tmp_path: Path, accession: str, message: str
):
    code, _, stderr = preview(content, accession, "--out", str(tmp_path / "p"))
    assert code == 1
    assert message in stderr


def test_a_token_gives_the_same_address_and_the_same_bytes(content: Path, tmp_path: Path):
    out = tmp_path / "previews"
    token = "reviewers-of-paper-1234"
    code, stdout, _ = preview(content, "S-BIAD2", "--out", str(out), "--token", token)
    assert code == 0 and Path(stdout.strip()) == out / token
    first = tree_digest(out / token)
    code, _, _ = preview(content, "S-BIAD2", "--out", str(out), "--token", token)
    assert code == 0 and tree_digest(out / token) == first
    assert sorted(p.name for p in out.iterdir()) == sorted(["index.html", "robots.txt", token])


def test_bad_token_and_missing_out_are_usage_errors(content: Path, tmp_path: Path):
    code, _, stderr = preview(content, "S-BIAD2", "--out", str(tmp_path), "--token", "short")
    assert code == 2 and "--token" in stderr
    code, _, stderr = preview(content, "S-BIAD2")
    assert code == 2 and "--out" in stderr


def test_a_public_study_can_be_previewed_too(content: Path, tmp_path: Path):
    code, stdout, stderr = preview(content, "S-BIAD1", "--out", str(tmp_path / "p"))
    assert code == 0, stderr
    page = (Path(stdout.strip()) / "studies/S-BIAD1/index.html").read_text()
    assert "It was released on 2024-02-01" in page
