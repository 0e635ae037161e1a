"""The study lifecycle on tests/roots/lifecycle: embargo, release, withdrawal, redirects,
versions from git and the URL contract (urls.txt and `catalogue check-urls`).

The tree holds a study in every state on TODAY (2026-11-25):

- S-BIAD1 public, with a manifest and a thumbnail; S-BIAD5 was merged into it;
- S-BIAD2 embargoed until 2030 (manifest, thumbnail, organism and title of its own);
  S-BIAD7 was renamed to it, so that redirect must stay hidden too;
- S-BIAD3 withdrawn; S-BIAD4 reserved (ledger only);
- S-BIAD6 embargoed until 2026-12-01, released by the next nightly build after it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from catalogue.cli import main
from catalogue.readers.tree import load

from .conftest import ROOTS, TODAY, build_site, site_files, tree_digest

LIFECYCLE = ROOTS / "lifecycle" / "content"
RELEASE_6 = dt.date(2026, 12, 1)
RELEASE_2 = dt.date(2030, 1, 1)

# every way the embargoed study S-BIAD2 (and the accessions that must stay dark with it)
# could show up in the output
EMBARGOED = [
    b"S-BIAD2",
    b"s-biad2",
    b"Embargoed quokka heart atlas",
    b"quokka",
    b"Setonix",
    b"Wilhelmina",
    b"S-BIAD7",
    b"s-biad7",
]
RESERVED = [b"S-BIAD4", b"s-biad4"]
SOON = [b"S-BIAD6", b"s-biad6", b"numbat", b"Nell Nightly"]


def copy_tree(dest: Path) -> Path:
    content = dest / "content"
    shutil.copytree(LIFECYCLE, content)
    return content


# --- a git history for the tree ---------------------------------------------------------

GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Curator",
    "GIT_AUTHOR_EMAIL": "curator@archive.example",
    "GIT_COMMITTER_NAME": "Curator",
    "GIT_COMMITTER_EMAIL": "curator@archive.example",
}


def git(repo: Path, *args: str, date: str | None = None) -> str:
    env = {**os.environ, **GIT_ENV}
    if date:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = f"{date}T12:00:00+00:00"
    done = subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout


def commit(repo: Path, message: str, date: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message, date=date)
    return git(repo, "rev-parse", "HEAD").strip()


def make_repo(dest: Path) -> tuple[Path, dict[str, str]]:
    """The lifecycle tree as the content/ folder of a git repository, built up in commits
    with fixed dates and authors (so the commit hashes are always the same)."""
    repo = dest / "repo"
    final = repo / "content"
    shutil.copytree(LIFECYCLE, final)
    saved = {
        p.relative_to(final).as_posix(): p.read_bytes() for p in final.rglob("*") if p.is_file()
    }
    shutil.rmtree(final)
    repo.mkdir(exist_ok=True)
    git(repo, "init", "-q", "-b", "main")
    (repo / "README.md").write_text("An archive.\n")

    def put(rel: str, data: bytes | None = None) -> None:
        path = final / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(saved[rel] if data is None else data)

    s1 = saved["studies/S-BIAD1/study.yaml"].decode()
    v1 = s1.replace("; S-BIAD5 was merged into this study", "").replace(
        "[worm, fluorescence]", "[worm]"
    )
    v2 = v1.replace("[worm]", "[worm, fluorescence]")
    manifest = saved["studies/S-BIAD1/images.files.tsv"]
    shas: dict[str, str] = {}
    for rel in ("site.yaml", "accessions.tsv", "data/S-BIAD1/worm.tif"):
        put(rel)
    put("studies/S-BIAD1/study.yaml", v1.encode())
    shas["add1"] = commit(repo, "Add S-BIAD1", "2024-01-05")
    put(
        "studies/S-BIAD5/study.yaml",
        s1.replace("S-BIAD1", "S-BIAD5").replace("sixteen bits", "sixteen-bit depth").encode(),
    )
    put("studies/S-BIAD5/images.files.tsv", manifest.replace(b"FITC", b"GFP"))
    shas["add5"] = commit(repo, "Add S-BIAD5", "2024-01-06")
    for rel in ("studies/S-BIAD2/study.yaml", "studies/S-BIAD2/sections.files.tsv"):
        put(rel)
    put("data/S-BIAD2/quokka_heart_01.png")
    s3 = saved["studies/S-BIAD3/study.yaml"].decode()
    put("studies/S-BIAD3/study.yaml", s3.split("withdrawn:")[0].encode())
    put("studies/S-BIAD1/study.yaml", v2.encode())
    shas["add23"] = commit(
        repo, "Add S-BIAD2 and S-BIAD3, and fix keywords of S-BIAD1", "2024-02-01"
    )
    git(repo, "mv", "content/studies/S-BIAD5/images.files.tsv", "content/studies/S-BIAD1/")
    git(repo, "rm", "-q", "content/studies/S-BIAD5/study.yaml")
    put("studies/S-BIAD1/study.yaml")
    put("redirects.tsv", saved["redirects.tsv"].split(b"S-BIAD7")[0])
    shas["merge"] = commit(repo, "Merge S-BIAD5 into S-BIAD1", "2024-06-01")
    put("studies/S-BIAD3/study.yaml")
    shas["withdraw"] = commit(repo, "Withdraw S-BIAD3: samples mislabelled", "2025-06-01")
    put("studies/S-BIAD6/study.yaml")
    put("studies/S-BIAD1/images.files.tsv")
    shas["add6"] = commit(
        repo, "Add S-BIAD6; correct the channel of S-BIAD1 as in S-BIAD2", "2026-11-20"
    )
    put("redirects.tsv")
    shas["rename7"] = commit(repo, "Rename S-BIAD7 to S-BIAD2", "2026-11-24")
    for rel in saved:
        assert (final / rel).read_bytes() == saved[rel], rel
    return final, shas


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    return make_repo(tmp_path_factory.mktemp("lifecycle-git"))


@pytest.fixture(scope="module")
def site(repo: tuple[Path, dict[str, str]], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("lifecycle-site") / "build"
    build_site(repo[0], out)
    return out


def read(site: Path, rel: str) -> str:
    return (site / rel).read_text(encoding="utf-8")


# --- embargo ----------------------------------------------------------------------------


def test_the_tree_holds_every_state():
    catalogue, problems = load(LIFECYCLE, TODAY)
    assert catalogue is not None, problems
    assert not problems
    states = {a: catalogue.state_of(a) for a in (f"S-BIAD{n}" for n in range(1, 8))}
    assert {a: s.value if s else None for a, s in states.items()} == {
        "S-BIAD1": "public",
        "S-BIAD2": "embargoed",
        "S-BIAD3": "withdrawn",
        "S-BIAD4": "reserved",
        "S-BIAD5": "reserved",  # merged: only the ledger and redirects.tsv know it
        "S-BIAD6": "embargoed",
        "S-BIAD7": "reserved",
    }


def test_embargoed_and_reserved_studies_are_in_no_byte_of_the_output(site: Path):
    files = list(site_files(site))
    assert any(p.name == "meta.json" and p.parent.name == "index" for p, _ in files), (
        "search index was not built"
    )
    for path, data in files:
        for needle in EMBARGOED + RESERVED + SOON:
            assert needle not in data, f"{needle!r} leaked into {path.relative_to(site)}"


def test_embargoed_study_has_no_thumbnail_and_no_file_list(site: Path):
    thumbs = sorted((site / "thumbnails").glob("*.webp"))
    assert len(thumbs) == 1, thumbs  # S-BIAD1's only
    assert not list(site.glob("studies/*/files/sections"))


def test_release_day_publishes_everywhere(repo: tuple[Path, dict[str, str]], tmp_path: Path):
    """The nightly build after the release date publishes the study in every output."""
    out = tmp_path / "build"
    build_site(repo[0], out, today=RELEASE_2 - dt.timedelta(days=1))
    for _, data in site_files(out):
        assert b"S-BIAD2" not in data and b"quokka" not in data
    before = set(read(out, "urls.txt").split())
    build_site(repo[0], out, today=RELEASE_2)  # incremental, as the nightly job runs it
    page = read(out, "studies/S-BIAD2/index.html")
    assert "Embargoed quokka heart atlas" in page
    listing = json.loads(read(out, "api/v1/studies.json"))
    assert "S-BIAD2" in [s["accession"] for s in listing["studies"]]
    assert json.loads(read(out, "api/v1/studies/S-BIAD2.json"))["status"] == "public"
    assert "/studies/S-BIAD2/</loc>" in read(out, "sitemap.xml")
    assert len(list((out / "thumbnails").glob("*.webp"))) == 2
    assert (out / "studies/S-BIAD2/files/sections/index.html").is_file()
    index = b"".join(d for p, d in site_files(out / "search" / "index"))
    assert b"quokka" in index and b"Setonix brachyurus" in index
    # its short links and the accession renamed to it appear on the same day
    assert "/S-BIAD2 /studies/S-BIAD2/ 301!" in read(out, "_redirects")
    assert "/S-BIAD7 /studies/S-BIAD2/ 301!" in read(out, "_redirects")
    assert '"/S-BIAD7" "/studies/S-BIAD2/";' in read(out, "nginx-redirects-map.conf")
    urls = set(read(out, "urls.txt").split())
    assert {"/studies/S-BIAD2/", "/S-BIAD2", "/S-BIAD7/", "/api/v1/studies/S-BIAD7.json"} <= urls
    assert before < urls
    clean = tmp_path / "clean"
    build_site(repo[0], clean, today=RELEASE_2, clean=True)
    assert tree_digest(clean) == tree_digest(out)


def test_nightly_build_releases_what_became_due(tmp_path: Path):
    content = copy_tree(tmp_path)
    out = tmp_path / "build"
    build_site(content, out, today=RELEASE_6 - dt.timedelta(days=1))
    assert not (out / "studies" / "S-BIAD6").exists()
    assert "S-BIAD6" not in read(out, "urls.txt")
    messages = build_site(content, out, today=RELEASE_6)
    assert (out / "studies/S-BIAD6/index.html").is_file()
    assert "/S-BIAD6 /studies/S-BIAD6/ 301!" in read(out, "_redirects")
    assert "<strong>2</strong> studies" in read(out, "index.html")
    assert any("2 public studies" in m for m in messages), messages
    # S-BIAD2 is still under embargo
    for _, data in site_files(out):
        assert b"S-BIAD2" not in data


# --- withdrawal -------------------------------------------------------------------------


def test_withdrawn_study_has_a_tombstone_at_its_url(site: Path):
    page = read(site, "studies/S-BIAD3/index.html")
    assert "S-BIAD3: withdrawn" in page
    assert "2025-06-01" in page
    assert "The depositors found that the samples were mislabelled." in page
    assert "How to cite it" in page
    assert (
        "Walter Drawn, Ada Example (2024). <cite>Withdrawn wombat retina study</cite>. "
        "Lifecycle test archive, S-BIAD3. http://localhost:8000/studies/S-BIAD3/ "
        "(withdrawn 2025-06-01)." in page
    )
    assert '<meta name="robots" content="noindex">' in page
    assert 'class="study-head"' not in page  # the tombstone, not the study page


def test_withdrawn_study_is_out_of_search_listings_and_sitemap(site: Path):
    for rel in ("index.html", "studies/index.html", "sitemap.xml", "api/v1/studies.json"):
        assert "S-BIAD3" not in read(site, rel), rel
    for path, data in site_files(site):
        if "search" in path.parts:
            assert b"wombat" not in data and b"S-BIAD3" not in data, path


def test_withdrawn_api_record_is_minimal(site: Path):
    record = json.loads(read(site, "api/v1/studies/S-BIAD3.json"))
    assert record == {
        "accession": "S-BIAD3",
        "title": "Withdrawn wombat retina study",
        "status": "withdrawn",
        "withdrawn": {
            "date": "2025-06-01",
            "reason": "The depositors found that the samples were mislabelled.",
        },
        "url": "http://localhost:8000/studies/S-BIAD3/",
    }


def test_only_withdrawn_studies_build_no_search_index(tmp_path: Path):
    """A site whose only study is withdrawn must not index its tombstone."""
    content = tmp_path / "content"
    shutil.copytree(LIFECYCLE, content)
    for acc in ("S-BIAD1", "S-BIAD2", "S-BIAD6"):
        shutil.rmtree(content / "studies" / acc)
    (content / "redirects.tsv").unlink()
    out = tmp_path / "build"
    build_site(content, out)
    assert not (out / "search" / "index").exists()
    assert "nothing to search" in (out / "search" / "index.html").read_text()
    assert (out / "studies/S-BIAD3/index.html").is_file()


# --- redirects --------------------------------------------------------------------------


def refresh_target(html: str) -> str:
    found = re.search(r'<meta http-equiv="refresh" content="0; url=([^"]+)">', html)
    assert found, html
    return found.group(1)


@pytest.mark.parametrize(
    ("page", "target"),
    [
        ("S-BIAD1/index.html", "/studies/S-BIAD1/"),
        ("s-biad1/index.html", "/studies/S-BIAD1/"),
        ("S-BIAD3/index.html", "/studies/S-BIAD3/"),  # withdrawn: to the tombstone
        ("S-BIAD5/index.html", "/studies/S-BIAD1/"),  # merged
        ("s-biad5/index.html", "/studies/S-BIAD1/"),
        ("studies/S-BIAD5/index.html", "/studies/S-BIAD1/"),
    ],
)
def test_static_redirect_pages(site: Path, page: str, target: str):
    html = read(site, page)
    assert refresh_target(html) == target
    assert f'<link rel="canonical" href="http://localhost:8000{target}">' in html
    assert f'<a href="{target}">' in html
    assert '<meta name="robots" content="noindex">' in html


def test_merged_accession_keeps_an_api_record(site: Path):
    assert json.loads(read(site, "api/v1/studies/S-BIAD5.json")) == {
        "accession": "S-BIAD5",
        "status": "moved",
        "moved_to": "S-BIAD1",
        "url": "http://localhost:8000/studies/S-BIAD1/",
        "api_url": "http://localhost:8000/api/v1/studies/S-BIAD1.json",
    }


def test_study_folders_hold_only_studies_and_old_names(site: Path):
    folders = sorted(p.parent.name for p in (site / "studies").glob("*/index.html"))
    assert folders == ["S-BIAD1", "S-BIAD3", "S-BIAD5"]


def test_server_rules_for_every_host(site: Path):
    netlify = read(site, "_redirects").splitlines()
    assert "/S-BIAD1 /studies/S-BIAD1/ 301!" in netlify
    assert "/s-biad1/ /studies/S-BIAD1/ 301!" in netlify
    assert "/studies/S-BIAD5/* /studies/S-BIAD1/ 301!" in netlify
    assert "/studies/S-BIAD3/* /studies/S-BIAD3/ 301" in netlify  # not forced: no loop
    assert "/api/v1/studies/S-BIAD5.json /api/v1/studies/S-BIAD1.json 301!" in netlify
    # a host that ignores case would send the study page to itself
    assert not any(line.startswith("/studies/s-biad1") for line in netlify)
    apache = read(site, ".htaccess")
    assert "RewriteRule ^S-BIAD1/?$ /studies/S-BIAD1/ [R=301,L]" in apache
    assert "RewriteRule ^studies/s-biad1/?$ /studies/S-BIAD1/ [R=301,L]" in apache
    assert "RewriteRule ^studies/S-BIAD5/. /studies/S-BIAD1/ [R=301,L]" in apache
    assert "RewriteRule ^studies/S-BIAD3/. /studies/S-BIAD3/ [R=301,L]" in apache
    assert "ErrorDocument 404 /404.html" in apache
    nginx = read(site, "nginx-redirects-map.conf")
    assert '"/S-BIAD1/" "/studies/S-BIAD1/";' in nginx
    assert '"/studies/s-biad1/" "/studies/S-BIAD1/";' in nginx  # see test_nginx.py
    assert '"~*^/studies/S-BIAD5/." "/studies/S-BIAD1/";' in nginx
    assert '"~*^/studies/S-BIAD3/." "/studies/S-BIAD3/";' in nginx
    assert "return 301 $catalogue_redirect;" in read(site, "nginx-redirects.conf")


def test_redirects_under_a_base_path(tmp_path: Path):
    content = copy_tree(tmp_path)
    out = tmp_path / "build"
    build_site(content, out, base_url="https://example.org/archive")
    assert refresh_target(read(out, "S-BIAD1/index.html")) == "/archive/studies/S-BIAD1/"
    assert "/archive/S-BIAD5 /archive/studies/S-BIAD1/ 301!" in read(out, "_redirects")
    apache = read(out, ".htaccess")
    assert "RewriteRule ^S-BIAD5/?$ /archive/studies/S-BIAD1/ [R=301,L]" in apache
    assert "ErrorDocument 404 /archive/404.html" in apache
    urls = read(out, "urls.txt").split()
    assert "/archive/studies/S-BIAD1/" in urls and "/archive/" in urls
    assert all(u.startswith("/archive/") for u in urls)


def test_lower_case_pages_are_left_out_on_case_insensitive_file_systems(site: Path):
    from catalogue.steps.redirects import case_sensitive, plan_redirects

    assert case_sensitive(site.parent)  # the test machine's file system
    catalogue, _ = load(LIFECYCLE, TODAY)
    assert catalogue is not None
    from catalogue.render import make_environment
    from catalogue.steps.context import RenderContext

    ctx = RenderContext(catalogue, catalogue.site, make_environment(), "")
    pages = [p for m in plan_redirects(ctx, lower_case_pages=False) for p in m.pages]
    assert pages == [p for p in pages if p == p.replace("s-biad", "S-BIAD")]
    assert "studies/S-BIAD5/index.html" in pages


def redirect_problems(tmp_path: Path, text: str) -> list[str]:
    content = copy_tree(tmp_path)
    (content / "redirects.tsv").write_text(text, encoding="utf-8")
    catalogue, problems = load(content, TODAY)
    assert catalogue is None
    return [p.format_text() for p in problems]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("old\tnew\n", "content/redirects.tsv:1: E060 header must be: from<TAB>to<TAB>note"),
        ("from\tto\nS-BIAD5\n", "content/redirects.tsv:2: E060 row has 1 cells; expected 2 or 3"),
        ("from\tto\nS-BIAD5\tbiad1\n", "content/redirects.tsv:2: E060 'biad1' is not an accession"),
        (
            "from\tto\nS-BIAD3\tS-BIAD1\n",
            "content/redirects.tsv:2: E061 S-BIAD3 still has a study folder; "
            "remove the folder or this redirect",
        ),
        (
            "from\tto\nS-BIAD5\tS-BIAD4\n",
            "content/redirects.tsv:2: E062 S-BIAD5 redirects to S-BIAD4, which has no study",
        ),
        (
            "from\tto\nS-BIAD5\tS-BIAD7\nS-BIAD7\tS-BIAD5\n",
            "content/redirects.tsv:2: E063 S-BIAD5 is part of a redirect loop",
        ),
        (
            "from\tto\nS-BIAD5\tS-BIAD1\nS-BIAD5\tS-BIAD2\n",
            "content/redirects.tsv:3: E064 S-BIAD5 is redirected twice (first on line 2)",
        ),
    ],
)
def test_bad_redirects_are_reported_with_their_line(tmp_path: Path, text: str, expected: str):
    found = redirect_problems(tmp_path, text)
    assert any(line.endswith(expected) for line in found), found


def test_redirect_chains_lead_to_the_final_study(tmp_path: Path):
    content = copy_tree(tmp_path)
    (content / "redirects.tsv").write_text("from\tto\nS-BIAD5\tS-BIAD7\nS-BIAD7\tS-BIAD1\n")
    out = tmp_path / "build"
    build_site(content, out)
    assert refresh_target(read(out, "S-BIAD5/index.html")) == "/studies/S-BIAD1/"
    assert refresh_target(read(out, "S-BIAD7/index.html")) == "/studies/S-BIAD1/"


# --- versions ---------------------------------------------------------------------------


def test_versions_are_read_from_git(site: Path, repo: tuple[Path, dict[str, str]]):
    shas = repo[1]
    record = json.loads(read(site, "api/v1/studies/S-BIAD1.json"))
    assert record["versions"] == [
        {
            "commit": shas["add6"],
            "date": "2026-11-20",
            "subject": "",  # the commit also added S-BIAD6, still under embargo
            "changes": [{"status": "modified", "path": "images.files.tsv"}],
        },
        {
            "commit": shas["merge"],
            "date": "2024-06-01",
            "subject": "Merge S-BIAD5 into S-BIAD1",
            "changes": [
                {"status": "modified", "path": "study.yaml"},
                {"status": "renamed", "path": "images.files.tsv"},
            ],
        },
        {
            "commit": shas["add23"],
            "date": "2024-02-01",
            "subject": "",  # it added the embargoed S-BIAD2
            "changes": [{"status": "modified", "path": "study.yaml"}],
        },
        {
            "commit": shas["add5"],
            "date": "2024-01-06",
            "subject": "Add S-BIAD5",  # followed through the rename
            "changes": [{"status": "added", "path": "S-BIAD5/images.files.tsv"}],
        },
        {
            "commit": shas["add1"],
            "date": "2024-01-05",
            "subject": "Add S-BIAD1",
            "changes": [{"status": "added", "path": "study.yaml"}],
        },
    ]
    page = read(site, "studies/S-BIAD1/index.html")
    assert '<h2 id="h-versions">Versions</h2>' in page
    short = shas["merge"][:12]
    assert (
        f'<code title="commit {shas["merge"]}">{short}</code> · Merge S-BIAD5 into S-BIAD1' in page
    )
    assert '<time datetime="2024-01-05">2024-01-05</time>' in page
    assert "5 versions" in page


def test_a_subject_naming_an_embargoed_study_is_redacted(
    repo: tuple[Path, dict[str, str]], tmp_path: Path
):
    out = tmp_path / "build"
    build_site(repo[0], out, today=RELEASE_6)
    record = json.loads(read(out, "api/v1/studies/S-BIAD6.json"))
    assert record["versions"][0]["subject"] == (
        "Add S-BIAD6; correct the channel of S-BIAD1 as in [not yet public]"
    )
    for _, data in site_files(out):
        assert b"S-BIAD2" not in data


def test_versions_are_a_declared_input(repo: tuple[Path, dict[str, str]], tmp_path: Path):
    """A commit that changes a study and one that changes it back leave the content as it
    was, yet the study's page and record must show two more versions; nothing else moves."""
    content, _ = repo
    work = tmp_path / "work"
    shutil.copytree(content.parent, work)
    content = work / "content"
    out = tmp_path / "build"
    build_site(content, out)
    before = tree_digest(out)
    manifest = content / "studies/S-BIAD1/images.files.tsv"
    original = manifest.read_bytes()
    manifest.write_bytes(original.replace(b"FITC", b"FITC-A"))
    commit(work, "Try another channel name for S-BIAD1", "2026-11-21")
    manifest.write_bytes(original)
    commit(work, "Revert the channel name of S-BIAD1", "2026-11-22")
    build_site(content, out)
    after = tree_digest(out)
    changed = {k for k in after if before.get(k) != after[k]} - {".catalogue-state.json"}
    # the page and record list the versions; the study's last change (date_modified)
    # moves in its DataCite and RO-Crate records, the sitemap and the study tables
    assert changed == {
        "studies/S-BIAD1/index.html",
        "api/v1/studies/S-BIAD1.json",
        "studies/S-BIAD1/datacite.xml",
        "studies/S-BIAD1/ro-crate-metadata.json",
        "api/v1/studies.json",
        "api/v1/studies.csv",
        "api/v1/studies.parquet",
        "sitemap.xml",
    }
    assert "Revert the channel name of S-BIAD1" in read(out, "studies/S-BIAD1/index.html")
    again = tmp_path / "again"
    build_site(content, again, jobs=1)
    assert tree_digest(again) == after


def test_a_tree_outside_git_builds_without_versions(tmp_path: Path):
    content = copy_tree(tmp_path)
    messages = build_site(content, tmp_path / "build")
    assert any("not a git checkout" in m for m in messages), messages
    page = read(tmp_path / "build", "studies/S-BIAD1/index.html")
    assert "h-versions" not in page
    assert json.loads(read(tmp_path / "build", "api/v1/studies/S-BIAD1.json"))["versions"] == []


def test_version_history_parser_streams_many_commits():
    """The parser reads git's -z output in chunks; a record split across chunks is whole."""
    import io

    from catalogue.versions import _records, parse_record

    body = b"".join(
        b"\x1e%040x\x1f%d\x1fEdit %d\x00\nM\x00studies/S-BIAD1/study.yaml\x00" % (n, n, n)
        for n in range(5000)
    )
    records = list(_records(io.BytesIO(body)))
    assert len(records) == 5000
    sha, when, subject, entries = parse_record(records[4321])  # type: ignore[misc]
    assert (when, subject, entries) == (4321, "Edit 4321", [("M", ["studies/S-BIAD1/study.yaml"])])
    assert sha == f"{4321:040x}"


# --- the URL contract -------------------------------------------------------------------


def check(previous: Path, out: Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["check-urls", str(previous), "--out", str(out)])
    return result.exit_code, result.stdout, result.stderr


def test_urls_txt_lists_every_public_url(site: Path):
    urls = read(site, "urls.txt").splitlines()
    assert urls == sorted(urls) and len(urls) == len(set(urls))
    for expected in (
        "/",
        "/studies/",
        "/search/",
        "/404.html",
        "/sitemap.xml",
        "/robots.txt",
        "/urls.txt",
        "/api/v1/studies.json",
        "/studies/S-BIAD1/",
        "/api/v1/studies/S-BIAD1.json",
        "/studies/S-BIAD3/",  # tombstone
        "/api/v1/studies/S-BIAD3.json",
        "/S-BIAD1",
        "/S-BIAD1/",
        "/s-biad1",
        "/studies/s-biad1/",
        "/S-BIAD5",
        "/studies/S-BIAD5/",
        "/studies/S-BIAD5/*",
        "/api/v1/studies/S-BIAD5.json",
        "/studies/S-BIAD1/files/images/",
    ):
        assert expected in urls, expected
    for url in urls:
        assert not url.startswith(("/search/index/", "/thumbnails/", "/static/")), url
        assert ".catalogue-state" not in url and "nginx" not in url and "htaccess" not in url
    # every listed page exists as a file, or is a redirect rule
    rules = read(site, "_redirects") + read(site, "nginx-redirects-map.conf")
    for url in urls:
        rel = url.lstrip("/") + ("index.html" if url.endswith("/") else "")
        assert (site / rel).is_file() or f'"{url}"' in rules or f"{url} " in rules, url


def test_check_urls_passes_when_nothing_is_lost(tmp_path: Path):
    content = copy_tree(tmp_path)
    out = tmp_path / "build"
    build_site(content, out)
    deployed = tmp_path / "deployed-urls.txt"
    shutil.copy(out / "urls.txt", deployed)
    code, stdout, stderr = check(deployed, out)
    assert (code, stdout) == (0, ""), stderr
    assert "still answer" in stderr
    # releases add URLs; withdrawing a study keeps its URL (tombstone)
    study = content / "studies/S-BIAD1/study.yaml"
    study.write_text(
        study.read_text() + "withdrawn: {date: 2026-11-25, reason: Duplicate of another study.}\n"
    )
    build_site(content, out, today=RELEASE_6)
    code, stdout, stderr = check(deployed, out)
    assert (code, stdout) == (0, ""), stderr


def test_check_urls_passes_after_a_merge(tmp_path: Path):
    content = copy_tree(tmp_path)
    out = tmp_path / "build"
    build_site(content, out, today=RELEASE_6)
    deployed = tmp_path / "deployed-urls.txt"
    shutil.copy(out / "urls.txt", deployed)
    shutil.rmtree(content / "studies/S-BIAD6")
    with (content / "redirects.tsv").open("a") as fh:
        fh.write("S-BIAD6\tS-BIAD1\tmerged\n")
    build_site(content, out, today=RELEASE_6)
    code, stdout, stderr = check(deployed, out)
    assert (code, stdout) == (0, ""), stderr


def test_check_urls_names_every_url_that_is_gone(tmp_path: Path):
    content = copy_tree(tmp_path)
    out = tmp_path / "build"
    build_site(content, out)
    deployed = tmp_path / "deployed-urls.txt"
    shutil.copy(out / "urls.txt", deployed)
    # a study put back under embargo after release: its URLs would break
    study = content / "studies/S-BIAD1/study.yaml"
    study.write_text(
        study.read_text().replace("release_date: 2024-02-01", "release_date: 2031-01-01")
    )
    (content / "redirects.tsv").write_text("from\tto\n")
    build_site(content, out)
    code, stdout, stderr = check(deployed, out)
    assert code == 1
    gone = stdout.splitlines()
    for url in ("/studies/S-BIAD1/", "/S-BIAD1", "/api/v1/studies/S-BIAD1.json", "/S-BIAD5/"):
        assert f"gone: {url}" in gone, gone
    assert "gone: /studies/S-BIAD5/*" in gone
    assert "gone: /studies/S-BIAD3/" not in gone
    assert f"{len(gone)} of " in stderr


def test_check_urls_reads_full_urls_and_stdin(site: Path):
    listing = "# deployed\n\nhttp://localhost:8000/studies/S-BIAD1/\nhttp://localhost:8000/\n"
    result = CliRunner().invoke(main, ["check-urls", "-", "--out", str(site)], input=listing)
    assert result.exit_code == 0, result.stderr
    result = CliRunner().invoke(
        main, ["check-urls", "-", "--out", str(site)], input="/studies/S-BIAD2/\n"
    )
    assert result.exit_code == 1 and result.stdout == "gone: /studies/S-BIAD2/\n"


def test_check_urls_without_a_build_is_a_usage_error(tmp_path: Path):
    listing = tmp_path / "urls.txt"
    listing.write_text("/\n")
    code, _, stderr = check(listing, tmp_path / "nothing")
    assert code == 2 and "run `catalogue build` first" in stderr
    result = CliRunner().invoke(main, ["check-urls", str(tmp_path / "missing.txt")])
    assert result.exit_code == 2 and "Traceback" not in result.stderr


def test_a_study_withdrawn_before_its_release_stays_dark(tmp_path: Path):
    content = copy_tree(tmp_path)
    study = content / "studies/S-BIAD2/study.yaml"
    study.write_text(study.read_text() + "withdrawn: {date: 2026-01-01, reason: Paper rejected.}\n")
    out = tmp_path / "build"
    build_site(content, out)
    for path, data in site_files(out):
        for needle in EMBARGOED:
            assert needle not in data, f"{needle!r} leaked into {path.relative_to(out)}"
    build_site(content, out, today=RELEASE_2)  # on its day, the tombstone answers its URL
    assert "S-BIAD2: withdrawn" in read(out, "studies/S-BIAD2/index.html")
    assert "S-BIAD2" not in read(out, "sitemap.xml")
