"""`catalogue build` on the demo content and on small test trees."""

from __future__ import annotations

import datetime as dt
import html
import io
import json
import re
import shutil
from pathlib import Path

import pytest
from PIL import Image

from catalogue.readers.tree import load

from .conftest import DEMO, ROOTS, TODAY, build_site, copy_root, site_files, tree_digest

ACCESSION = re.compile(rb"S-(?:BIAD|BSST|JCBD)-?\d+")


def demo_states():
    catalogue, problems = load(DEMO, TODAY)
    assert catalogue is not None, problems
    return catalogue


def test_every_public_study_has_a_page_and_an_api_record(demo_site: Path):
    catalogue = demo_states()
    public = [e.study.accession for e in catalogue.public()]
    assert len(public) >= 8
    titles = {e.study.accession: e.study.title for e in catalogue.public()}
    for acc in public:
        page = (demo_site / "studies" / acc / "index.html").read_text(encoding="utf-8")
        assert f"<h1>{html.escape(titles[acc], quote=False)}</h1>" in page
        assert (demo_site / "api" / "v1" / "studies" / f"{acc}.json").is_file()
    listing = json.loads((demo_site / "api/v1/studies.json").read_text())
    pages = sorted(p.parent.name for p in (demo_site / "studies").glob("*/index.html"))
    assert listing["count"] == len(listing["studies"]) == len(pages) == len(public)
    assert sorted(s["accession"] for s in listing["studies"]) == sorted(public) == pages


def test_home_counts_and_browse(demo_site: Path):
    public = demo_states().public()
    home = (demo_site / "index.html").read_text()
    assert f"<strong>{len(public)}</strong> studies" in home
    browse = (demo_site / "studies" / "index.html").read_text()
    for e in public:
        assert f'href="/studies/{e.study.accession}/"' in browse


def test_study_page_shows_rembi_authors_and_files(demo_site: Path):
    page = (demo_site / "studies" / "S-BIAD1492" / "index.html").read_text()
    assert "https://orcid.org/" in page or "Svoboda" in page
    assert "Biosamples" in page and "Image acquisition" in page
    assert "https://data.example.org/pub/S-BIAD1492/BBBC024/" in page
    assert "Cite this study" in page
    assert "application/ld+json" in page


def test_embargoed_study_appears_nowhere(demo_site: Path):
    catalogue = demo_states()
    embargoed = [e for e in catalogue.studies if e.state(TODAY).value == "embargoed"]
    assert embargoed, "the demo must contain an embargoed study"
    for e in embargoed:
        needles = [e.study.accession.encode(), e.study.title.encode()]
        for path, data in site_files(demo_site):
            for needle in needles:
                assert needle not in data, f"{needle!r} leaked into {path}"


def test_build_in_the_past_publishes_no_accession(tmp_path: Path):
    out = tmp_path / "build"
    build_site(DEMO, out, today=dt.date(2000, 1, 1))
    for path, data in site_files(out):
        found = ACCESSION.search(data)
        assert found is None, f"{found.group().decode()} appears in {path}"
    assert json.loads((out / "api/v1/studies.json").read_text())["count"] == 0
    assert "<strong>0</strong> studies" in (out / "index.html").read_text()


def test_release_day_publishes_the_study(tmp_path: Path):
    catalogue = demo_states()
    e = next(e for e in catalogue.studies if e.state(TODAY).value == "embargoed")
    day = e.study.release_date
    before, on = tmp_path / "before", tmp_path / "on"
    build_site(DEMO, before, today=day - dt.timedelta(days=1))
    build_site(DEMO, on, today=day)
    assert not (before / "studies" / e.study.accession).exists()
    assert (on / "studies" / e.study.accession / "index.html").is_file()
    assert e.study.accession in (on / "sitemap.xml").read_text()


def test_sitemap_lists_exactly_the_public_studies(demo_site: Path):
    text = (demo_site / "sitemap.xml").read_text()
    listed = sorted(re.findall(r"/studies/([^/<]+)/</loc>", text))
    assert listed == sorted(e.study.accession for e in demo_states().public())
    assert "Sitemap: http://localhost:8000/sitemap.xml" in (demo_site / "robots.txt").read_text()


def test_thumbnails_render_real_pixels(demo_site: Path):
    catalogue = demo_states()
    shown = 0
    for e in catalogue.public():
        page = (demo_site / "studies" / e.study.accession / "index.html").read_text()
        for src in re.findall(r'<img src="(/thumbnails/[0-9a-f]+\.webp)"', page):
            img = Image.open(io.BytesIO((demo_site / src.lstrip("/")).read_bytes()))
            grey = img.convert("L")
            lo, hi = grey.getextrema()
            assert hi - lo > 40, f"{src} of {e.study.accession} looks blank"
            shown += 1
    assert shown >= 4


def test_same_input_gives_identical_output(tmp_path: Path, demo_site: Path):
    again = tmp_path / "again"
    build_site(DEMO, again, jobs=1)
    assert tree_digest(again) == tree_digest(demo_site)


def test_second_build_does_nothing_and_edit_rebuilds_only_that_study(tmp_path: Path):
    content = copy_root(tmp_path, "minimal")
    out = tmp_path / "build"
    build_site(content, out)
    before = tree_digest(out)
    messages = build_site(content, out)
    assert any("(0 steps run," in m for m in messages), messages
    assert tree_digest(out) == before
    study = content / "studies" / "S-BIAD1" / "study.yaml"
    study.write_text(study.read_text().replace("A *worm*.", "A *nematode* worm."))
    messages = build_site(content, out)
    after = tree_digest(out)
    changed = {k for k in after if before.get(k) != after[k]} | (set(before) - set(after))
    changed = {
        k for k in changed if not k.startswith("search/index/") and k != ".catalogue-state.json"
    }
    # the listings show titles, not descriptions: only the study's own outputs differ,
    # and the feed and the DataCite record, which carry the description
    assert changed == {
        "studies/S-BIAD1/index.html",
        "api/v1/studies/S-BIAD1.json",
        "studies/S-BIAD1/datacite.xml",
        "studies/S-BIAD1/ro-crate-metadata.json",
        "feed.xml",
    }
    clean = tmp_path / "clean"
    build_site(content, clean, clean=True)
    assert tree_digest(clean) == after


def test_failed_build_leaves_previous_site_intact(tmp_path: Path):
    content = copy_root(tmp_path, "minimal")
    out = tmp_path / "build"
    build_site(content, out)
    before = tree_digest(out)
    (content / "studies" / "S-BIAD1" / "study.yaml").write_text("format: 1\ntitle: [broken\n")
    from catalogue.pipeline.builder import BuildOptions, run_build

    messages: list[str] = []
    assert not run_build(BuildOptions(content=content, out=out, today=TODAY), messages.append)
    assert tree_digest(out) == before
    assert any("E001" in m for m in messages)
    assert not list(tmp_path.glob(".build.*"))


def test_user_text_is_sanitised(tmp_path: Path):
    content = copy_root(tmp_path, "minimal")
    study = content / "studies" / "S-BIAD1" / "study.yaml"
    study.write_text(
        study.read_text()
        .replace(
            "description: A *worm*.",
            'description: "Hi <script>alert(1)</script> [x](javascript:alert(2)) '
            '<img src=x onerror=alert(3)> <b>bold</b>"',
        )
        .replace(
            "title: Worm fluorescence in sixteen bits", "title: 'Worm </script><script>alert(4)'"
        )
    )
    out = tmp_path / "build"
    build_site(content, out)
    page = (out / "studies" / "S-BIAD1" / "index.html").read_text()
    assert "<script>alert" not in page
    assert "javascript:" not in page
    assert "onerror" not in page
    assert "<b>bold</b>" in page


def test_emails_are_never_published(tmp_path: Path):
    content = copy_root(tmp_path, "minimal")
    study = content / "studies" / "S-BIAD1" / "study.yaml"
    study.write_text(
        study.read_text().replace(
            "orcid: 0000-0002-1825-0097}", "orcid: 0000-0002-1825-0097, email: ada@secret.example}"
        )
    )
    out = tmp_path / "build"
    build_site(content, out)
    for path, data in site_files(out):
        assert b"ada@secret.example" not in data, path


EMAIL = re.compile(rb"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


def test_no_submitter_email_of_the_demo_content_is_in_any_output(demo_site: Path):
    """The demo's real studies carry their submitters' e-mail addresses (authors'
    `email`, as the source records give them; never published): none of them is in any
    output file, compressed ones and the bulk tables read inside."""
    emails: set[bytes] = set()
    for path in DEMO.rglob("*.yaml"):
        emails.update(EMAIL.findall(path.read_bytes()))
    assert len(emails) >= 20, emails  # the demo has them: the check below means something
    found = [
        f"{path.relative_to(demo_site)}: {e.decode()}"
        for path, data in site_files(demo_site)
        for e in emails
        if e in data
    ]
    assert not found, found


def test_unreadable_image_gets_placeholder_and_warning(tmp_path: Path):
    content = copy_root(tmp_path, "minimal")
    samples = Path(__file__).resolve().parent / "data" / "images"
    shutil.copy(samples / "truncated.tif", content / "data" / "S-BIAD1" / "worm.tif")
    messages = build_site(content, tmp_path / "build")
    warnings = [m for m in messages if "W050" in m]
    assert len(warnings) == 1 and "worm.tif" in warnings[0]
    page = (tmp_path / "build" / "studies" / "S-BIAD1" / "index.html").read_text()
    assert 'alt="Preview unavailable"' in page


@pytest.mark.parametrize("name", ["index.html", "404.html", "search/index.html", "sitemap.xml"])
def test_site_skeleton(demo_site: Path, name: str):
    assert (demo_site / name).stat().st_size > 100


def test_serve_watch_rebuilds_on_change(tmp_path: Path):
    import subprocess
    import sys
    import time
    import urllib.request

    from .conftest import free_port

    content = copy_root(tmp_path, "minimal")
    out = tmp_path / "build"
    build_site(content, out)
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "catalogue",
        "serve",
        "--content",
        str(content),
        "--out",
        str(out),
        "--port",
        str(port),
        "--watch",
        "--today",
        "2026-11-25",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/studies/S-BIAD1/"
        deadline = time.monotonic() + 20
        while True:
            try:
                page = urllib.request.urlopen(url, timeout=1).read().decode()
                break
            except OSError:
                assert time.monotonic() < deadline, "serve did not start"
                time.sleep(0.1)
        assert "sixteen bits" in page
        study = content / "studies" / "S-BIAD1" / "study.yaml"
        study.write_text(study.read_text().replace("sixteen bits", "sixteen-bit depth"))
        deadline = time.monotonic() + 30
        while "sixteen-bit depth" not in page:
            assert time.monotonic() < deadline, "the site was not rebuilt"
            time.sleep(0.3)
            page = urllib.request.urlopen(url, timeout=2).read().decode()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_feed_lists_latest_releases(demo_site: Path):
    import xml.etree.ElementTree as ET

    ns = {"a": "http://www.w3.org/2005/Atom"}
    root = ET.fromstring((demo_site / "feed.xml").read_bytes())
    entries = root.findall("a:entry", ns)
    public = sorted(
        demo_states().public(),
        key=lambda e: (e.study.release_date, e.study.accession),
        reverse=True,
    )
    assert [e.find("a:id", ns).text for e in entries] == [
        f"http://localhost:8000/studies/{p.study.accession}/" for p in public[:50]
    ]
    assert root.find("a:updated", ns).text == f"{public[0].study.release_date}T00:00:00Z"
    assert 'type="application/atom+xml"' in (demo_site / "index.html").read_text()


def test_stats_count_only_public_studies(demo_site: Path):
    stats = json.loads((demo_site / "api/v1/stats.json").read_text())
    public = demo_states().public()
    assert stats["studies"] == len(public)
    assert stats["growth"][-1]["total"] == len(public)
    human = sum(1 for e in public if any(o.label == "Homo sapiens" for o in e.study.organisms))
    assert {"name": "Homo sapiens", "studies": human} in stats["organisms"]
    page = (demo_site / "stats" / "index.html").read_text()
    assert f"<strong>{len(public)}</strong> studies" in page


def test_citation_exports(tmp_path: Path):
    content = copy_root(tmp_path, "minimal")
    study = content / "studies" / "S-BIAD1" / "study.yaml"
    study.write_text(
        study.read_text().replace(
            "title: Worm fluorescence in sixteen bits", "title: Worms & nuclei_100% {raw}"
        )
    )
    out = tmp_path / "build"
    build_site(content, out)
    bib = (out / "studies/S-BIAD1/citation.bib").read_text()
    assert bib.startswith("@misc{SBIAD1,\n")
    assert r"title = {{Worms \& nuclei\_100\% \{raw\}}}" in bib
    assert "url = {http://localhost:8000/studies/S-BIAD1/}" in bib
    ris = (out / "studies/S-BIAD1/citation.ris").read_bytes().decode()
    assert ris.startswith("TY  - DATA\r\n") and ris.endswith("ER  - \r\n")
    assert "AU  - Example, Ada\r\n" in ris and "PY  - 2024\r\n" in ris
    page = (out / "studies/S-BIAD1/index.html").read_text()
    assert 'href="/studies/S-BIAD1/citation.bib"' in page


def test_failing_pages_are_all_reported_and_the_site_is_kept(tmp_path: Path):
    """A template error in some studies names each failing step; nothing is published."""
    from catalogue.pipeline.builder import BuildOptions, run_build
    from catalogue.render import TEMPLATES

    content = copy_root(tmp_path, "minimal")
    second = content / "studies" / "S-BIAD2" / "study.yaml"
    second.write_text(second.read_text().replace("2030-01-01", "2024-01-01"))
    out = tmp_path / "build"
    build_site(content, out)
    before = tree_digest(out)
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    page = templates / "study.html"
    page.write_text(
        page.read_text().replace(
            "{% block main %}",
            "{% block main %}{% if study.accession %}{{ no_such_value }}{% endif %}",
            1,
        )
    )
    messages: list[str] = []
    options = BuildOptions(content=content, out=out, today=TODAY, templates=templates)
    assert not run_build(options, messages.append)
    failed = [m for m in messages if m.startswith("error: step page:study:")]
    assert len(failed) == 2 and "no_such_value" in failed[0]
    assert "2 step(s) failed; the previous site is unchanged" in messages[-1]
    assert tree_digest(out) == before


def test_serve_on_a_busy_port_is_a_message(demo_site: Path):
    import socket

    from click.testing import CliRunner

    from catalogue.cli import main

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(main, ["serve", "--out", str(demo_site), "--port", str(port)])
    assert result.exit_code == 1
    assert f"cannot serve on 127.0.0.1:{port}" in result.output
    assert "Traceback" not in result.output


def test_check_urls_refuses_an_empty_or_foreign_list(demo_site: Path, tmp_path: Path):
    from click.testing import CliRunner

    from catalogue.cli import main

    empty = tmp_path / "empty.txt"
    empty.write_text("")
    result = CliRunner().invoke(main, ["check-urls", str(empty), "--out", str(demo_site)])
    assert result.exit_code == 2 and "lists no URL" in result.output
    binary = tmp_path / "bin.txt"
    binary.write_bytes(b"\xff\xfe\x00garbage\n")
    result = CliRunner().invoke(main, ["check-urls", str(binary), "--out", str(demo_site)])
    assert result.exit_code == 2 and "is not a URL path" in result.output


def test_plain_text_is_escaped_once(demo_site: Path):
    """Descriptions reduced to text (feed, meta description, JSON-LD) read as written."""
    feed = (demo_site / "feed.xml").read_text()
    assert "&amp;amp;" not in feed
    for page in (demo_site / "studies").glob("*/index.html"):
        text = page.read_text()
        assert "&amp;amp;" not in text and "\\u0026amp;" not in text and "&amp;gt;" not in text


def test_progress_is_shown_on_a_terminal_only(tmp_path: Path):
    import io

    from catalogue.pipeline.builder import BuildOptions, run_build

    terminal = io.StringIO()
    messages: list[str] = []
    options = BuildOptions(
        content=ROOTS / "minimal" / "content", out=tmp_path / "b", today=TODAY, progress=terminal
    )
    assert run_build(options, messages.append)
    shown = terminal.getvalue()
    assert "\rimages 1/1" in shown and "\rpages " in shown
    assert not any("\r" in m for m in messages)  # the log keeps only whole lines


@pytest.mark.parametrize("jobs", [1, 2])
def test_failed_first_build_leaves_no_trace_and_the_next_one_builds(tmp_path: Path, jobs: int):
    """No previous site: a failed build must not leave an empty skeleton of folders that
    the next build refuses as a stranger's folder (found building into a new --out)."""
    from catalogue.pipeline.builder import BuildOptions, run_build
    from catalogue.render import TEMPLATES

    content = copy_root(tmp_path, "minimal")
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    page = templates / "study.html"
    page.write_text(page.read_text().replace("{% block main %}", "{% block main %}{{ nope }}", 1))
    for out in (tmp_path / "new", tmp_path / "empty"):
        if out.name == "empty":
            out.mkdir()
        messages: list[str] = []
        options = BuildOptions(
            content=content, out=out, today=TODAY, templates=templates, jobs=jobs
        )
        assert not run_build(options, messages.append)
        assert any(m.startswith("error: step page:study:") for m in messages)
        if out.name == "new":
            assert not out.exists()
            assert messages[-1].endswith(f"nothing was written to {out}")
        else:
            assert list(out.iterdir()) == []  # the folder the user made stays, empty
        ok = BuildOptions(content=content, out=out, today=TODAY, jobs=jobs)
        assert run_build(ok, messages.append), messages[-3:]
        assert (out / "studies/S-BIAD1/index.html").is_file()
