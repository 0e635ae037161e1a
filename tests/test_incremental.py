"""Rebuilds cost what changed, and still write exactly what a clean build writes."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from catalogue.readers import tree
from catalogue.readers.tree import load

from .conftest import TODAY, build_site, copy_root, tree_digest


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    """The study folders whose study.yaml was parsed and validated (not taken from cache)."""
    monkeypatch.setenv("CATALOGUE_CACHE_DIR", str(tmp_path / "cache"))
    seen: list[str] = []
    real = tree.load_study

    def spy(folder: Path, *args: object, **kw: object):  # type: ignore[no-untyped-def]
        seen.append(folder.name)
        return real(folder, *args, **kw)

    monkeypatch.setattr(tree, "load_study", spy)
    return seen


def test_unchanged_studies_are_not_parsed_again(tmp_path: Path, parsed: list[str]):
    content = copy_root(tmp_path, "minimal")
    first, _ = load(content, TODAY)
    assert sorted(parsed) == ["S-BIAD1", "S-BIAD2"]
    parsed.clear()
    again, _ = load(content, TODAY)
    assert parsed == [] and again == first
    # another day can change what a study's checks say: nothing is reused across days
    load(content, TODAY.replace(year=TODAY.year + 1))
    assert sorted(parsed) == ["S-BIAD1", "S-BIAD2"]


def test_an_edit_that_keeps_size_and_time_stamp_is_still_seen(tmp_path: Path, parsed: list[str]):
    content = copy_root(tmp_path, "minimal")
    path = content / "studies" / "S-BIAD1" / "study.yaml"
    load(content, TODAY)
    stat = path.stat()
    path.write_text(path.read_text().replace("Worm fluorescence", "Wurm fluorescence"))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # within one clock tick
    assert path.stat().st_size == stat.st_size
    parsed.clear()
    edited, _ = load(content, TODAY)
    assert parsed == ["S-BIAD1"]
    assert edited is not None
    assert edited.studies[0].study.title == "Wurm fluorescence in sixteen bits"
    # touched but unchanged: hashed, found equal, not parsed
    parsed.clear()
    os.utime(path)
    load(content, TODAY)
    assert parsed == []


def test_the_fast_paths_follow_the_rules_of_the_modules_they_restate():
    from catalogue.pipeline import fingerprint
    from catalogue.readers import summary_cache
    from catalogue.render import TEMPLATES

    base = summary_cache.cache_dir()
    assert base is not None and fingerprint.cache_base() == base.parent
    assert fingerprint.default_templates() == TEMPLATES


def _set(text: str, key: str, value: str) -> str:
    return re.sub(rf"^{key}: .*$", f"{key}: {value}", text, count=1, flags=re.M)


def _edit(content: Path, rng: random.Random, step: int) -> str:
    """One random edit a maintainer could make; returns what it did."""
    studies = sorted(p for p in (content / "studies").iterdir() if p.is_dir())
    study = rng.choice(studies)
    path = study / "study.yaml"
    text = path.read_text()
    kind = rng.choice(["title", "description", "release", "manifest", "add", "remove", "touch"])
    if kind == "title":
        path.write_text(
            re.sub(r"^title: .*$", f"title: Retitled study {step}", text, count=1, flags=re.M)
        )
    elif kind == "description":
        path.write_text(
            re.sub(
                r"^description: .*$",
                f"description: Now with *step {step}*.",
                text,
                count=1,
                flags=re.M,
            )
        )
    elif kind == "release":
        year = rng.choice([2020, 2024, 2031])  # 2031: embargoed again
        path.write_text(
            re.sub(r"^release_date: .*$", f"release_date: {year}-03-01", text, count=1, flags=re.M)
        )
    elif kind == "manifest":
        for manifest in study.glob("*.files.tsv"):
            lines = manifest.read_text().splitlines()
            lines.append(f"extra/{step}.tif\t{100 + step}\t\tGFP")
            manifest.write_text("\n".join(lines) + "\n")
    elif kind == "add":
        number = 100 + step
        copy = content / "studies" / f"S-BIAD{number}"
        if copy.exists():
            return "nothing"
        shutil.copytree(studies[0], copy)
        yaml_path = copy / "study.yaml"
        yaml_path.write_text(
            re.sub(
                r"^accession: .*$",
                f"accession: S-BIAD{number}",
                yaml_path.read_text(),
                count=1,
                flags=re.M,
            )
        )
        with (content / "accessions.tsv").open("a") as fh:
            fh.write(f"S-BIAD{number}\t2024-02-0{step % 9 + 1}\t\n")
    elif (
        kind == "remove"
        and len(studies) > 1
        and study.name.startswith("S-BIAD1")
        and len(study.name) > len("S-BIAD1")
    ):
        shutil.rmtree(study)
        ledger = content / "accessions.tsv"
        rows = [r for r in ledger.read_text().splitlines() if not r.startswith(study.name + "\t")]
        ledger.write_text("\n".join(rows) + "\n")
    else:
        os.utime(path)
        kind = "touch"
    return f"{kind} {study.name}"


@pytest.mark.parametrize("check", ["1", "0"], ids=["groups-checked", "groups-trusted"])
def test_incremental_builds_equal_clean_builds_after_random_edits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, check: str
):
    """Random edit sequences: after each edit, the site updated in place is byte for byte
    the site a clean build writes into an empty folder; with the unchanged studies' steps
    taken from the previous build as they were (``groups-trusted``) and with each such
    group planned anyway and compared (``groups-checked``, as in the rest of the suite)."""
    monkeypatch.setenv("CATALOGUE_CHECK_GROUPS", check)
    rng = random.Random(20261201)
    content = copy_root(tmp_path, "minimal")
    out = tmp_path / "build"
    build_site(content, out)
    done = []
    deadline = time.monotonic() + 60
    for step in range(8):
        if time.monotonic() > deadline:
            break
        done.append(_edit(content, rng, step))
        time.sleep(0.01)
        build_site(content, out)
        clean = tmp_path / f"clean-{step}"
        build_site(content, clean, clean=True)
        assert tree_digest(out) == tree_digest(clean), done
        shutil.rmtree(clean)
    assert len(done) >= 4


def test_a_killed_build_leaves_a_working_site_and_the_next_build_completes_it(tmp_path: Path):
    """SIGKILL at moments spread over a build: the site is always one that either build
    would have written file by file, nothing is left beside it, and the next build
    (incremental) writes exactly what a clean build writes."""
    content = copy_root(tmp_path, "minimal")
    out = tmp_path / "build"
    build_site(content, out)
    cmd = [sys.executable, "-m", "catalogue", "build", "--content", str(content)]
    cmd += ["--out", str(out), "--today", TODAY.isoformat()]
    study = content / "studies" / "S-BIAD1" / "study.yaml"
    rng = random.Random(7)
    for kill in range(4):
        study.write_text(
            re.sub(
                r"^title: .*$",
                f"title: Killed build {kill}",
                study.read_text(),
                count=1,
                flags=re.M,
            )
        )
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 2.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert (out / "index.html").is_file() and (out / "studies/S-BIAD1/index.html").is_file()
        # at most the one work folder of the build, with its journal for the next build
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(".build.staging")]
    build_site(content, out)
    assert not (tmp_path / ".build.catalogue-work").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["build", "content"]
    clean = tmp_path / "clean"
    build_site(content, clean, clean=True)
    assert tree_digest(out) == tree_digest(clean)
    assert "Killed build 3" in (out / "studies/S-BIAD1/index.html").read_text()


def test_nothing_changed_is_a_walk_and_any_change_is_a_build(tmp_path: Path):
    content = copy_root(tmp_path, "minimal")
    out = tmp_path / "build"
    build_site(content, out)
    time.sleep(2.1)  # fingerprints taken within a clock tick of an edit are not trusted
    full = build_site(content, out)
    assert "(0 steps run," in full[-1]
    messages = build_site(content, out)
    assert messages[-1].startswith("build: nothing changed;"), messages
    assert "(0 steps run," in messages[-1]
    # what the last full build said (problems, warnings, notes) is said again
    assert messages[:-1] == [m for m in full if not m.startswith("build: ")]
    assert messages[:-1], "the minimal tree has a note about versions to repeat"
    study = content / "studies" / "S-BIAD1" / "study.yaml"
    study.write_text(study.read_text().replace("sixteen bits", "sixteen bit depth"))
    messages = build_site(content, out)
    assert not messages[-1].startswith("build: nothing changed")
    assert "sixteen bit depth" in (out / "studies/S-BIAD1/index.html").read_text()
    # another day is another build (embargoes end), even with the same files
    messages = build_site(content, out, today=TODAY.replace(year=TODAY.year + 5))
    assert not messages[-1].startswith("build: nothing changed")


def test_the_study_cache_takes_the_walks_stamps_but_never_a_stale_walk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The build checks the cached studies against the stamps its fingerprint walk just
    took, asking the system about none of them; a walk left from before an edit (here:
    one that found nothing changed, then the edit, then a --clean build, which does not
    walk) is never trusted."""
    from catalogue.pipeline import fingerprint
    from catalogue.readers import study_cache

    monkeypatch.setenv("CATALOGUE_CACHE_DIR", str(tmp_path / "cache"))
    content = copy_root(tmp_path, "minimal")
    out = tmp_path / "build"
    build_site(content, out)
    asked: list[str] = []
    real = study_cache._stamp

    def spy(path: str) -> study_cache.Stamp:
        asked.append(path)
        return real(path)

    monkeypatch.setattr(study_cache, "_stamp", spy)
    study = content / "studies" / "S-BIAD1" / "study.yaml"
    study.write_text(study.read_text().replace("sixteen bits", "sixteen bit depth"))
    time.sleep(2.1)  # so that neither the cache nor the fingerprint is racy below
    build_site(content, out)
    assert "sixteen bit depth" in (out / "studies/S-BIAD1/index.html").read_text()
    # S-BIAD1 was read again (its new stamps are taken for the cache); S-BIAD2 not asked
    assert asked and not [p for p in asked if "/S-BIAD2/" in p], asked
    assert (
        fingerprint.unchanged(
            content, out, TODAY.isoformat(), None, fingerprint.default_templates(), print, 0.0
        )
        == ""
    )
    study.write_text(study.read_text().replace("sixteen bit depth", "sixteen-bit depth"))
    build_site(content, out, clean=True)
    assert "sixteen-bit depth" in (out / "studies/S-BIAD1/index.html").read_text()


def test_the_files_table_is_joined_from_parts_and_an_edit_encodes_one(tmp_path: Path):
    """api/v1/files.parquet (and files.csv) of 80 studies in parts: after a description
    edit and a manifest edit, the table written by copying the unchanged parts from the
    previous one is byte for byte the clean table, only the edited study's rows are read
    again, and pyarrow and DuckDB read every row."""
    import duckdb
    import pyarrow.parquet as pq

    from catalogue.render import make_environment, templates_digest
    from catalogue.steps import bulk
    from catalogue.steps.context import RenderContext
    from catalogue.steps.parquet_join import decode, encode, read_footer

    from .conftest import ROOT

    content = tmp_path / "synth"
    subprocess.run(
        [sys.executable, str(ROOT / "scripts/synth.py"), "--studies", "80"]
        + ["--files-per-study", "4", "--out", str(content), "--jobs", "1"],
        check=True,
        stdout=subprocess.DEVNULL,
    )

    def table(site: Path, previous: Path | None) -> tuple[int, list[str]]:
        catalogue, problems = load(content, TODAY)
        assert catalogue is not None, problems
        ctx = RenderContext(
            catalogue=catalogue,
            site=catalogue.site,
            env=make_environment(),
            templates_digest=templates_digest(),
        )
        read: list[str] = []
        real = bulk.file_tables

        def spy(ctx, entry, *args):  # type: ignore[no-untyped-def]
            read.append(entry.study.accession)
            return real(ctx, entry, *args)

        def opener(rel: str):  # type: ignore[no-untyped-def]
            (site / rel).parent.mkdir(parents=True, exist_ok=True)
            return (site / rel).open("wb")

        bulk.file_tables = spy  # type: ignore[assignment]
        try:
            (step,) = [s for s in bulk.bulk_steps(ctx, content, previous) if s.id == "bulk:files"]
            result = step.make(opener)
        finally:
            bulk.file_tables = real  # type: ignore[assignment]
        return result.info["parts"], read

    first = tmp_path / "first"
    parts, read = table(first, None)
    assert parts > 2 and len(read) == 80
    studies = sorted((content / "studies").iterdir())
    described, listed = studies[3], studies[40]
    yaml_path = described / "study.yaml"
    yaml_path.write_text(yaml_path.read_text().replace("Synthetic study", "Edited study", 1))
    manifest = next(listed.glob("*.files.tsv"))
    lines = manifest.read_text().splitlines()
    cells = lines[1].split("\t")
    cells[1] = str(int(cells[1]) + 1)  # the size column
    manifest.write_text("\n".join([lines[0], "\t".join(cells), *lines[2:]]) + "\n")
    again = tmp_path / "again"
    _, read = table(again, first)
    assert read and len(read) < 80 / 2 and listed.name in read and described.name not in read
    clean = tmp_path / "clean"
    table(clean, None)
    for name in ("api/v1/files.parquet", "api/v1/files.csv"):
        assert (again / name).read_bytes() == (clean / name).read_bytes(), name
    assert (again / "api/v1/files.parquet").read_bytes() != (
        first / "api/v1/files.parquet"
    ).read_bytes()
    rows = pq.read_table(again / "api/v1/files.parquet")
    assert rows.num_rows == 80 * 4
    assert rows.to_pylist() == pq.read_table(clean / "api/v1/files.parquet").to_pylist()
    path = again / "api/v1/files.parquet"
    count, size = duckdb.sql(
        f"select count(*), sum(size) from '{path}' where accession = '{listed.name}'"
    ).fetchall()[0]
    sizes = [int(r.split("\t")[1]) for r in manifest.read_text().splitlines()[1:]]
    assert (count, size) == (len(sizes), sum(sizes))
    csv_rows = (again / "api/v1/files.csv").read_text().splitlines()
    assert len(csv_rows) == 80 * 4 + 1 and csv_rows[0].startswith("accession,dataset,path")
    # the Thrift codec writes back exactly what it read
    with path.open("rb") as fh:
        footer = read_footer(fh)
        fh.seek(footer.data_end)
        raw = fh.read(path.stat().st_size - footer.data_end - 8)
    assert encode(decode(raw)) == raw


def test_an_edit_re_indexes_only_what_changed_and_the_index_equals_a_clean_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The search index of 60 studies, updated after a description edit (a new word) and
    a title edit: only the files those studies touch are returned, only the edited
    studies are re-tokenised, and every file equals the clean index."""
    monkeypatch.setenv("CATALOGUE_CACHE_DIR", str(tmp_path / "cache"))
    from catalogue.render import make_environment, templates_digest
    from catalogue.search import index
    from catalogue.steps import query_index
    from catalogue.steps.context import RenderContext

    from .conftest import ROOT

    content = tmp_path / "synth"
    subprocess.run(
        [sys.executable, str(ROOT / "scripts/synth.py"), "--studies", "60"]
        + ["--files-per-study", "2", "--out", str(content), "--jobs", "1"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    site = tmp_path / "site"
    tokenised: list[str] = []
    real = index.study_keys

    def spy(text: index.StudyText) -> index.StudyKeys:
        tokenised.append(text.accession)
        return real(text)

    monkeypatch.setattr(index, "study_keys", spy)

    def run(where: Path | None, reuse: bool = True) -> dict[str, bytes]:
        catalogue, problems = load(content, TODAY)
        assert catalogue is not None, problems
        ctx = RenderContext(
            catalogue=catalogue,
            site=catalogue.site,
            env=make_environment(),
            templates_digest=templates_digest(),
        )
        (step,) = query_index.query_index_steps(ctx, where, reuse)
        files = step.make().files
        for rel, data in files.items() if where is not None and reuse else ():
            (where / rel).parent.mkdir(parents=True, exist_ok=True)
            (where / rel).write_bytes(data)
        return files

    everything = run(site)
    assert len(tokenised) == 60
    studies = sorted((content / "studies").iterdir())
    described, retitled = studies[7], studies[33]
    path = described / "study.yaml"
    path.write_text(path.read_text().replace("Synthetic study", "Synthetic zyzzyva study", 1))
    path = retitled / "study.yaml"
    path.write_text(
        re.sub(r"^title: .*$", "title: Aardvark retina", path.read_text(), count=1, flags=re.M)
    )
    tokenised.clear()
    changed = run(site)
    assert sorted(tokenised) == sorted([described.name, retitled.name])
    assert "search/index/meta.json" in changed and len(changed) < len(everything)
    # the result blocks of the two studies, and no other
    catalogue, _ = load(content, TODAY)
    assert catalogue is not None
    order = [e.study.accession for e in catalogue.public()]  # the index's numbering
    blocks = {order.index(s.name) // index.DOC_BLOCK for s in (described, retitled)}
    assert {n for n in changed if n.split("/")[-1][0] in "dv"} == {
        f"search/index/{kind}{b}.json" for b in blocks for kind in "dv"
    }
    tokenised.clear()
    clean = run(site, reuse=False)  # what `build --clean` asks of the same site
    assert len(tokenised) == 0  # the keys of the clean build come from the site's key cache
    on_disk = {f"search/index/{p.name}": p.read_bytes() for p in (site / "search/index").iterdir()}
    assert on_disk == clean
    shard = index.shard_of("zyzzyva", index.shard_count(60))
    postings = json.loads(on_disk[f"search/index/w{shard}.json"])
    ids, _ = index.decode_gaps(postings["zyzzyva"], masks=True)
    assert ids == [order.index(described.name)]
