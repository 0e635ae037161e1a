"""Study groups: an edit plans the edited study's steps again, not every study's, and the
site is still byte for byte what a clean build writes (catalogue/pipeline/groups.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from catalogue.pipeline import groups
from catalogue.pipeline.builder import BuildOptions, run_build
from catalogue.pipeline.plan import PlanError

from .conftest import TODAY, build_site, copy_root, tree_digest


@pytest.fixture
def planned(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The accessions whose group was planned (not taken from the previous build)."""
    monkeypatch.setenv(groups.CHECK, "0")  # the check plans reused groups too
    seen: list[str] = []
    real = groups.study_group

    def spy(ctx, content, entry):  # type: ignore[no-untyped-def]
        seen.append(entry.study.accession)
        return real(ctx, content, entry)

    monkeypatch.setattr(groups, "study_group", spy)
    return seen


def _edit(content: Path, accession: str, old: str, new: str) -> None:
    path = content / "studies" / accession / "study.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def _same_as_clean(content: Path, out: Path, tmp_path: Path, today: dt.date = TODAY) -> None:
    clean = tmp_path / "clean"
    build_site(content, clean, today=today, clean=True)
    assert tree_digest(out) == tree_digest(clean)


def test_an_edit_plans_only_the_edited_study(tmp_path: Path, planned: list[str]):
    content = copy_root(tmp_path, "lifecycle")
    out = tmp_path / "build"
    build_site(content, out)
    assert sorted(planned) == ["S-BIAD1", "S-BIAD3"]  # public and withdrawn; not embargoed
    planned.clear()
    _edit(content, "S-BIAD1", "Fluorescence images", "Fluorescent images")
    build_site(content, out)
    assert planned == ["S-BIAD1"]
    page = (out / "studies" / "S-BIAD1" / "index.html").read_text()
    assert "Fluorescent images" in page
    planned.clear()
    _same_as_clean(content, out, tmp_path)
    assert sorted(planned) == ["S-BIAD1", "S-BIAD3"]  # --clean plans everything


def test_a_site_setting_plans_every_study(tmp_path: Path, planned: list[str]):
    content = copy_root(tmp_path, "lifecycle")
    out = tmp_path / "build"
    build_site(content, out)
    planned.clear()
    site = content / "site.yaml"
    site.write_text(site.read_text().replace("Lifecycle test archive", "Lifecycle archive"))
    build_site(content, out)
    assert sorted(planned) == ["S-BIAD1", "S-BIAD3"]
    assert "Lifecycle archive" in (out / "studies" / "S-BIAD3" / "index.html").read_text()
    _same_as_clean(content, out, tmp_path)


def test_a_release_day_plans_the_released_study(tmp_path: Path, planned: list[str]):
    content = copy_root(tmp_path, "lifecycle")
    out = tmp_path / "build"
    build_site(content, out)
    assert not (out / "studies" / "S-BIAD6").exists()  # under embargo until 2026-12-01
    planned.clear()
    release = dt.date(2026, 12, 1)
    build_site(content, out, today=release)
    assert planned == ["S-BIAD6"]
    assert (out / "studies" / "S-BIAD6" / "index.html").is_file()
    _same_as_clean(content, out, tmp_path, today=release)


def test_a_group_key_that_misses_an_input_stops_the_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The check the suite runs under: a key blind to the study's sources would reuse an
    edited study's old page; planning the reused group anyway catches it."""
    monkeypatch.setenv(groups.CHECK, "1")
    monkeypatch.setattr(groups, "study_key", lambda ctx, shared, entry: entry.study.accession)
    content = copy_root(tmp_path, "lifecycle")
    out = tmp_path / "build"
    build_site(content, out)
    _edit(content, "S-BIAD1", "Fluorescence images", "Fluorescent images")
    options = BuildOptions(content=content, out=out, today=TODAY)
    with pytest.raises(PlanError, match="the steps of S-BIAD1 were reused"):
        run_build(options, echo=lambda message: None)


def test_a_description_edit_renders_no_listing_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """What a card, the home page, the statistics and the bulk tables show of a study is
    in its summary, kept between builds: a description is in none, so its edit renders
    the study's own page and records, and no list (home, browse, stats, feed)."""
    from catalogue.steps import pages

    rendered: list[str] = []
    real = pages._render

    def spy(ctx, template, out, **values):  # type: ignore[no-untyped-def]
        rendered.append(out)
        return real(ctx, template, out, **values)

    monkeypatch.setattr(pages, "_render", spy)
    content = copy_root(tmp_path, "lifecycle")
    out = tmp_path / "build"
    build_site(content, out, jobs=1)
    assert "index.html" in rendered and "studies/S-BIAD1/index.html" in rendered
    rendered.clear()
    _edit(content, "S-BIAD1", "Fluorescence images", "Fluorescent images")
    messages = build_site(content, out, jobs=1)
    assert rendered == ["studies/S-BIAD1/index.html"]
    assert any("build: pages 1 written" in m for m in messages), messages
    rendered.clear()
    _edit(content, "S-BIAD1", "title: Worm fluorescence", "title: Nematode fluorescence")
    build_site(content, out, jobs=1)
    assert "index.html" in rendered  # the title is on its card
    assert "Nematode fluorescence" in (out / "index.html").read_text()
    _same_as_clean(content, out, tmp_path)


def test_an_edit_unpickles_only_what_it_renders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A one-study edit must not materialise the unchanged studies' models (at 10,000
    studies that was two seconds of every edit): only the edited study's, and those of
    the one search shard it lies in. A stage that reads every study's model again fails
    this test."""
    import subprocess
    import sys
    import time

    from catalogue import model

    monkeypatch.setenv(groups.CHECK, "0")  # the check reads every group on purpose
    monkeypatch.setenv("CATALOGUE_CACHE_DIR", str(tmp_path / "cache"))
    synth = Path(__file__).resolve().parent.parent / "scripts" / "synth.py"
    content = tmp_path / "content"
    studies = 300
    subprocess.run(
        [sys.executable, str(synth), "--studies", str(studies), "--files-per-study", "3"]
        + ["--out", str(content)],
        check=True,
        capture_output=True,
    )
    out = tmp_path / "build"
    build_site(content, out, today=dt.date(2026, 11, 25), jobs=1)
    time.sleep(2.1)  # not within one clock tick of the build
    # a study the feed does not show (the feed renders its latest studies' descriptions)
    feed = (out / "feed.xml").read_text()
    edited = next(
        acc
        for acc in sorted(p.name for p in (content / "studies").iterdir())
        if f"/studies/{acc}/" not in feed
    )
    yaml = content / "studies" / edited / "study.yaml"
    yaml.write_text(yaml.read_text().replace("for scale tests.", "for scale tests (edited).", 1))
    before = model.LOADS[0]
    build_site(content, out, today=dt.date(2026, 11, 25), jobs=1)
    unpickled = model.LOADS[0] - before
    assert "(edited)" in (out / "studies" / edited / "index.html").read_text()
    assert 1 <= unpickled <= studies // 10, f"{unpickled} of {studies} studies unpickled"
