"""`catalogue add-files` and `catalogue check-data`: a folder of images → a manifest that
validates, with exact checksums and harvested headers; the data checked against it."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from catalogue.cli import main
from catalogue.deposit import addfiles, hashing
from catalogue.deposit.progress import Progress
from catalogue.deposit.studyedit import EditError, add_dataset

from .conftest import ROOT, SAMPLES, copy_root

IMAGES = SAMPLES / "images"
TODAY = "2026-11-30"


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def rows(manifest: Path) -> list[dict[str, str]]:
    lines = manifest.read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    return [dict(zip(header, ln.split("\t"), strict=True)) for ln in lines[1:]]


@pytest.fixture()
def content(tmp_path: Path) -> Path:
    return copy_root(tmp_path, "minimal")


@pytest.fixture()
def plate(tmp_path: Path) -> Path:
    """A depositor's folder: plate/well/field images, real files from tests/data."""
    folder = tmp_path / "deposit"
    for rel, source in [
        ("P1/A01/f1.tif", "worm_fitc_16bit.tif"),
        ("P1/A01/f2.ome.tif", "multi-channel-z-series.ome.tif"),
        ("P1/B02/f1.png", "ihc_histology_rgb.png"),
    ]:
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(IMAGES / source, folder / rel)
    (folder / "README.txt").write_text("how the plate was imaged\n", encoding="utf-8")
    return folder


def add(content: Path, folder: Path, *extra: str, dataset: str = "plates", acc: str = "S-BIAD2"):
    return run("add-files", acc, dataset, str(folder), "--content", str(content), "-j", "1", *extra)


def test_a_folder_becomes_a_manifest_and_a_dataset_that_validate(content: Path, plate: Path):
    study_yaml = content / "studies/S-BIAD2/study.yaml"
    before = study_yaml.read_text(encoding="utf-8")
    result = add(content, plate, "--pattern", "{plate}/{well}/{field}.*", "--title", "Plate 1")
    assert result.exit_code == 0, result.output
    manifest = content / "studies/S-BIAD2/plates.files.tsv"
    table = {r["path"]: r for r in rows(manifest)}
    assert sorted(table) == ["P1/A01/f1.tif", "P1/A01/f2.ome.tif", "P1/B02/f1.png", "README.txt"]
    for rel, row in table.items():
        assert row["size"] == str((plate / rel).stat().st_size)
        assert row["sha256"] == sha(plate / rel)
    worm = table["P1/A01/f1.tif"]
    assert (worm["SizeX"], worm["SizeY"], worm["PixelType"]) == ("696", "520", "uint16")
    assert (worm["PhysicalSizeX"], worm["PhysicalSizeXUnit"]) == ("6.25", "µm")
    assert (table["P1/A01/f2.ome.tif"]["SizeZ"], table["P1/A01/f2.ome.tif"]["SizeC"]) == ("5", "3")
    assert (worm["Plate"], worm["Well"], worm["Field"]) == ("P1", "A01", "f1")
    assert table["README.txt"]["Plate"] == "" and table["README.txt"]["SizeX"] == ""
    assert "1 files do not match --pattern" in result.output
    # study.yaml: the old text untouched, one dataset appended
    after = study_yaml.read_text(encoding="utf-8")
    assert after.startswith(before)
    assert yaml.safe_load(after)["datasets"] == [
        {"id": "plates", "title": "Plate 1", "files": "plates.files.tsv"}
    ]
    result = run("validate", "--content", str(content), "--today", TODAY)
    assert result.exit_code == 0, result.output


def test_rerun_reads_only_new_and_changed_files(content: Path, plate: Path):
    assert add(content, plate).exit_code == 0
    manifest = content / "studies/S-BIAD2/plates.files.tsv"
    first = manifest.read_bytes()
    again = add(content, plate)
    assert again.exit_code == 0, again.output
    assert "4 files unchanged since the last run" in again.output
    assert "0 read" in again.output
    assert manifest.read_bytes() == first  # not rewritten
    (plate / "README.txt").write_text("longer text about the plate\n", encoding="utf-8")
    shutil.copyfile(IMAGES / "worm_fitc_16bit.tif", plate / "P1/B02/f2.tif")
    third = add(content, plate)
    assert third.exit_code == 0, third.output
    assert "2 read, 3 unchanged" in third.output
    table = {r["path"]: r for r in rows(manifest)}
    assert table["README.txt"]["sha256"] == sha(plate / "README.txt")
    assert table["P1/B02/f2.tif"]["SizeX"] == "696"
    assert list(table)[-1] == "P1/B02/f2.tif"  # new rows after the old ones


def test_an_interrupted_run_resumes_where_it_stopped(
    content: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(40):
        (folder / f"{i:03d}.bin").write_bytes(os.urandom(100 + i))
    monkeypatch.setattr(hashing, "CHUNK_FILES", 10)
    real = hashing.process_chunk
    calls = []

    def interrupted(tasks):
        calls.append(len(tasks))
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(tasks)

    monkeypatch.setattr(hashing, "process_chunk", interrupted)
    options = addfiles.AddOptions(content, "S-BIAD2", "bins", folder, jobs=1)
    with pytest.raises(KeyboardInterrupt):
        addfiles.add_files(options)
    assert not (content / "studies/S-BIAD2/bins.files.tsv").exists()
    monkeypatch.setattr(hashing, "process_chunk", real)
    report = addfiles.add_files(options)
    assert (report.reused, report.hashed) == (20, 20)
    assert len(rows(content / "studies/S-BIAD2/bins.files.tsv")) == 40


def test_hidden_files_links_and_odd_entries_are_reported_not_included(
    content: Path, plate: Path, tmp_path: Path
):
    (plate / ".DS_Store").write_bytes(b"\0")
    (plate / "P1/.hidden").mkdir()
    (plate / "P1/.hidden/x.tif").write_bytes(b"x")
    (tmp_path / "outside.txt").write_text("secret", encoding="utf-8")
    (plate / "escape.txt").symlink_to(tmp_path / "outside.txt")
    (plate / "inside.tif").symlink_to(plate / "P1/A01/f1.tif")
    os.mkfifo(plate / "pipe")
    zarr = plate / "img.ome.zarr"
    shutil.copytree(IMAGES / "human_D03_3ch.ome.zarr", zarr)
    result = add(content, plate)
    assert result.exit_code == 0, result.output
    out = result.output
    assert f"{plate}/.DS_Store: hidden file" in out
    assert f"{plate}/P1/.hidden: hidden file" in out
    assert f"{plate}/escape.txt: symbolic link leaving the folder" in out
    assert f"{plate}/inside.tif: symbolic link to P1/A01/f1.tif inside the folder" in out
    assert f"{plate}/pipe: not a regular file" in out
    paths = {r["path"] for r in rows(content / "studies/S-BIAD2/plates.files.tsv")}
    assert not {".DS_Store", "P1/.hidden/x.tif", "escape.txt", "inside.tif", "pipe"} & paths
    # Zarr metadata files are hidden names but data: kept
    assert {"img.ome.zarr/.zattrs", "img.ome.zarr/.zgroup", "img.ome.zarr/0/.zarray"} <= paths


def test_unreadable_files_are_reported(content: Path, plate: Path, tmp_path: Path):
    """Run as a depositor would: without the privilege of reading every file."""
    secret = plate / "P1/secret.tif"
    secret.write_bytes(b"II*\0")
    secret.chmod(0o000)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CATALOGUE_CACHE_DIR": str(tmp_path / "c")}
    cmd = [sys.executable, "-m", "catalogue", "add-files", "S-BIAD2", "plates", str(plate)]
    cmd += ["--content", str(content), "-j", "1"]
    if os.geteuid() == 0:  # root without the capabilities that bypass file permissions
        caps = "-dac_override,-dac_read_search"
        cmd = ["setpriv", f"--inh-caps={caps}", f"--bounding-set={caps}", *cmd]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert f"{secret}: file is not readable (permissions): not included" in proc.stderr
    paths = {r["path"] for r in rows(content / "studies/S-BIAD2/plates.files.tsv")}
    assert "P1/secret.tif" not in paths and "P1/A01/f1.tif" in paths


def test_an_existing_manifest_is_extended_and_curators_cells_kept(content: Path, tmp_path: Path):
    folder = tmp_path / "worms"
    folder.mkdir()
    shutil.copyfile(IMAGES / "worm_fitc_16bit.tif", folder / "worm.tif")
    shutil.copyfile(IMAGES / "ihc_histology_rgb.png", folder / "ihc.png")
    manifest = content / "studies/S-BIAD1/images.files.tsv"
    result = add(content, folder, dataset="images", acc="S-BIAD1")
    assert result.exit_code == 0, result.output
    table = rows(manifest)
    assert [r["path"] for r in table] == ["worm.tif", "ihc.png"]
    assert table[0]["Channel"] == "FITC"  # the curator's column and cell survive
    assert table[0]["sha256"] == sha(folder / "worm.tif")
    assert table[1]["SizeX"] == "512"
    study = yaml.safe_load((content / "studies/S-BIAD1/study.yaml").read_text(encoding="utf-8"))
    assert [d["id"] for d in study["datasets"]] == ["images"]  # not added twice
    assert run("validate", "--content", str(content), "--today", TODAY).exit_code == 0


@pytest.mark.parametrize("mode", ["copy", "link"])
def test_copy_or_link_into_data_root_then_check_data_agrees(content: Path, plate: Path, mode: str):
    result = add(content, plate, f"--{mode}")
    assert result.exit_code == 0, result.output
    placed = content / "data/S-BIAD2/P1/A01/f1.tif"
    assert placed.read_bytes() == (plate / "P1/A01/f1.tif").read_bytes()
    assert os.path.samefile(placed, plate / "P1/A01/f1.tif") == (mode == "link")
    check = run("check-data", "S-BIAD2", "--checksums", "--content", str(content), "-j", "1")
    assert check.exit_code == 0, check.output
    assert "4 listed, 4 on disk, 4 checksums compared: OK" in check.output


def test_check_data_names_every_problem(content: Path, plate: Path, tmp_path: Path):
    assert add(content, plate).exit_code == 0
    root = tmp_path / "mirror"
    shutil.copytree(plate, root / "S-BIAD2")
    data = root / "S-BIAD2"
    (data / "P1/B02/f1.png").unlink()  # missing
    (data / "stray.csv").write_text("a,b\n", encoding="utf-8")  # extra
    with (data / "README.txt").open("a", encoding="utf-8") as fh:  # size
        fh.write("more\n")
    raw = bytearray((data / "P1/A01/f1.tif").read_bytes())
    raw[-1] ^= 0xFF  # same size, other bytes
    (data / "P1/A01/f1.tif").write_bytes(bytes(raw))
    quick = run("check-data", "S-BIAD2", "--root", str(root), "--content", str(content))
    assert quick.exit_code == 1
    rel_manifest = "studies/S-BIAD2/plates.files.tsv"
    assert f"{data}/stray.csv: extra file, not listed in any manifest" in quick.output
    assert f"P1/B02/f1.png: missing: {data}/P1/B02/f1.png not found" in quick.output
    assert "README.txt: size mismatch: listed 25 bytes" in quick.output
    assert "sha256 mismatch" not in quick.output  # only with --checksums
    assert rel_manifest + ":" in quick.output  # the manifest line listing the file
    full = run(
        "check-data", "S-BIAD2", "--root", str(root), "--checksums", "--content", str(content)
    )
    assert full.exit_code == 1
    assert f"P1/A01/f1.tif: sha256 mismatch: listed {sha(plate / 'P1/A01/f1.tif')}" in full.output
    assert "4 problem(s)" in full.output
    unknown = run("check-data", "S-BIAD77", "--content", str(content))
    assert unknown.exit_code == 2 and "unknown accession S-BIAD77" in unknown.output


def test_bad_input_gets_a_clear_message_and_nothing_is_written(
    content: Path, plate: Path, tmp_path: Path
):
    study_yaml = content / "studies/S-BIAD1/study.yaml"
    before = study_yaml.read_bytes()
    missing = add(content, tmp_path / "nowhere")
    assert missing.exit_code == 1 and f"{tmp_path / 'nowhere'}: no such folder" in missing.output
    unknown = add(content, plate, acc="S-BIAD404")
    assert unknown.exit_code == 1 and "unknown accession S-BIAD404" in unknown.output
    assert "catalogue new" in unknown.output
    bad_id = add(content, plate, dataset="My Plates")
    assert bad_id.exit_code == 2 and "dataset id 'My Plates' must be" in bad_id.output
    # a dataset id whose manifest name another dataset already uses
    text = before.decode().replace("files: images.files.tsv", "files: plates.files.tsv")
    study_yaml.write_text(text, encoding="utf-8")
    (content / "studies/S-BIAD1/images.files.tsv").rename(
        content / "studies/S-BIAD1/plates.files.tsv"
    )
    clash = add(content, plate, dataset="plates", acc="S-BIAD1")
    assert clash.exit_code == 1
    assert "dataset id 'plates' clashes with dataset 'images'" in clash.output
    # a stray manifest that no dataset lists
    (content / "studies/S-BIAD2/loose.files.tsv").write_text("path\tsize\n", encoding="utf-8")
    stray = add(content, plate, dataset="loose")
    assert stray.exit_code == 1 and "exists but no dataset of S-BIAD2 lists it" in stray.output
    # a manifest with errors is not merged into
    bad = content / "studies/S-BIAD1/plates.files.tsv"
    bad.write_text("path\tsize\nx.tif\tbig\n", encoding="utf-8")
    broken = add(content, plate, dataset="images", acc="S-BIAD1")
    assert broken.exit_code == 1 and "E045" in broken.output
    assert bad.read_text(encoding="utf-8") == "path\tsize\nx.tif\tbig\n"
    assert not list((content / "studies").rglob(".*.tmp"))


def test_a_manifest_edited_during_the_run_is_never_overwritten(
    content: Path, plate: Path, monkeypatch: pytest.MonkeyPatch
):
    manifest = content / "studies/S-BIAD1/images.files.tsv"
    edited = "path\tsize\tsha256\tChannel\nworm.tif\t725953\t\tGFP (edited by hand)\n"
    real = hashing.run

    def edit_meanwhile(*args, **kwargs):
        manifest.write_text(edited, encoding="utf-8")  # someone saves the file in an editor
        yield from real(*args, **kwargs)

    monkeypatch.setattr(hashing, "run", edit_meanwhile)
    result = add(content, plate, dataset="images", acc="S-BIAD1")
    assert result.exit_code == 1
    assert f"{manifest} changed while add-files was running" in result.output
    assert manifest.read_text(encoding="utf-8") == edited  # the hand edit is kept, whole
    assert not list(manifest.parent.glob(".*.tmp"))
    monkeypatch.setattr(hashing, "run", real)
    again = add(content, plate, dataset="images", acc="S-BIAD1")
    assert again.exit_code == 0, again.output
    assert "4 files unchanged since the last run" in again.output  # the work was kept
    table = rows(manifest)
    assert table[0]["Channel"] == "GFP (edited by hand)" and len(table) == 5


def test_a_study_yaml_edited_during_the_run_is_never_overwritten(
    content: Path, plate: Path, monkeypatch: pytest.MonkeyPatch
):
    study_yaml = content / "studies/S-BIAD2/study.yaml"
    real = hashing.run

    def edit_meanwhile(*args, **kwargs):
        with study_yaml.open("a", encoding="utf-8") as fh:
            fh.write("keywords: [edited]\n")
        yield from real(*args, **kwargs)

    monkeypatch.setattr(hashing, "run", edit_meanwhile)
    result = add(content, plate)
    assert result.exit_code == 1 and "study.yaml changed while add-files" in result.output
    assert study_yaml.read_text(encoding="utf-8").endswith("keywords: [edited]\n")
    assert not (content / "studies/S-BIAD2/plates.files.tsv").exists()


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\ndatasets: []\n# datasets:\n#   - id: x\nb: 2\n",
        "a: 1\ndatasets:\n  - id: x\n    title: X\n\n# about b\nb: 2\n",
        "a: 1\ndatasets:\n- id: x\n  title: X\nb: 2",
        "a: 1\ndatasets: [{id: x, title: X}]\nb: 2\n",
        "a: 1  # one\ndatasets:\nb: 2\n",
        "a: 1\n",
    ],
)
def test_a_dataset_is_added_without_touching_the_rest(text: str):
    entry = {"id": "new", "title": "Yes: a title", "files": "new.files.tsv"}
    result = add_dataset(text, entry)
    before, after = yaml.safe_load(text), yaml.safe_load(result)
    assert after["datasets"] == [*(before.get("datasets") or []), entry]
    assert {k: v for k, v in after.items() if k != "datasets"} == {
        k: v for k, v in before.items() if k != "datasets"
    }
    for line in text.splitlines():  # every line and comment kept
        assert line in result.splitlines() or line.startswith("datasets:")


def test_study_yaml_that_cannot_be_edited_safely_is_refused():
    with pytest.raises(EditError):
        add_dataset("a: [1\n", {"id": "x", "title": "X"})
    with pytest.raises(EditError):
        add_dataset("datasets: {id: x}\n", {"id": "x", "title": "X"})


def test_progress_is_a_bar_on_a_terminal_and_plain_lines_in_a_log():
    tty, log = io.StringIO(), io.StringIO()
    for stream, is_tty in ((tty, True), (log, False)):
        bar = Progress("hashing", 10, 10_000_000, stream, is_tty)
        bar._shown = -1e9
        bar.add(5, 5_000_000)
        bar.add(5, 5_000_000)
        bar.close()
    assert tty.getvalue().startswith("\r\033[Khashing: 5/10 files, 5.0 MB/10.0 MB, ")
    assert " left" in tty.getvalue()
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue() and lines[0].startswith("hashing: 5/10 files")
    assert lines[-1].startswith("hashing: 10/10 files, 10.0 MB/10.0 MB")


def test_twenty_thousand_small_files_in_bounded_memory(content: Path, tmp_path: Path):
    """A large folder streams: the memory high-water mark after 20,000 files is that
    reached after 1,000 (measured in one process, in its own interpreter)."""
    for count in (1_000, 20_000):
        for d in range(max(1, count // 1000)):
            sub = tmp_path / f"f{count}" / f"d{d:02d}"
            sub.mkdir(parents=True)
            for i in range(min(count, 1000)):
                (sub / f"{i:04d}.txt").write_bytes(b"%d\n" % (d * 1000 + i))
    script = f"""
import resource
from pathlib import Path
from catalogue.deposit.addfiles import AddOptions, add_files
peaks = []
for count in (1_000, 20_000):
    options = AddOptions(Path({str(content)!r}), "S-BIAD2", f"d{{count}}",
                         Path({str(tmp_path)!r}) / f"f{{count}}", jobs=2)
    report = add_files(options)
    assert report.new_rows == count, report
    peaks.append(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
print(*peaks)
"""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CATALOGUE_CACHE_DIR": str(tmp_path / "c")}
    proc = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    small, large = map(int, proc.stdout.split())  # kB
    assert large - small < 12_000, (small, large)
    manifest = content / "studies/S-BIAD2/d20000.files.tsv"
    lines = manifest.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 20_001 and lines[-1].startswith("d19/0999.txt\t6\t")


def test_hashing_on_a_dask_cluster_gives_the_same_manifest(
    content: Path, plate: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """--executor dask-local: the same chunks on a real Dask LocalCluster."""
    local = add(content, plate, dataset="local")
    assert local.exit_code == 0, local.output
    monkeypatch.setenv("CATALOGUE_CACHE_DIR", str(tmp_path / "fresh-state"))  # read all again
    dask = add(content, plate, "--executor", "dask-local", dataset="dask")
    assert dask.exit_code == 0, dask.output
    assert "4 read, 0 unchanged" in dask.output
    studies = content / "studies/S-BIAD2"
    assert (studies / "dask.files.tsv").read_bytes() == (studies / "local.files.tsv").read_bytes()


def test_small_files_hashed_during_the_walk_match_one_worker_and_sha256(
    content: Path, plate: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Small files are hashed by the workers as they look at them, large files and images
    afterwards: with 1 or 2 workers, the manifest, the digests and the warnings (in the
    same order) are the same, and a re-run reads nothing."""
    monkeypatch.setattr(hashing, "CHUNK_FILES", 3)  # several chunks in flight
    for i in range(10):
        (plate / f"notes/n{i}.txt").parent.mkdir(exist_ok=True)
        (plate / f"notes/n{i}.txt").write_bytes(os.urandom(50 + i))
    (plate / "big.bin").write_bytes(os.urandom(hashing.SMALL + 5))
    (plate / "notes/.hidden").write_bytes(b"x")
    (plate / "notes/link.txt").symlink_to(plate / "notes/n0.txt")
    outputs = []
    for jobs in ("1", "2"):
        monkeypatch.setenv("CATALOGUE_CACHE_DIR", str(tmp_path / f"state{jobs}"))
        result = run(
            "add-files", "S-BIAD2", f"j{jobs}", str(plate), "--content", str(content), "-j", jobs
        )
        assert result.exit_code == 0, result.output
        assert "15 read, 0 unchanged" in result.output
        outputs.append([ln for ln in result.output.splitlines() if ln.startswith("warning")])
        again = run(
            "add-files", "S-BIAD2", f"j{jobs}", str(plate), "--content", str(content), "-j", jobs
        )
        assert "0 read, 15 unchanged" in again.output, again.output
    studies = content / "studies/S-BIAD2"
    assert (studies / "j1.files.tsv").read_bytes() == (studies / "j2.files.tsv").read_bytes()
    assert outputs[0] == outputs[1] and len(outputs[0]) >= 2
    table = {r["path"]: r for r in rows(studies / "j2.files.tsv")}
    for rel in ("notes/n7.txt", "big.bin", "P1/A01/f1.tif", "README.txt"):
        assert table[rel]["sha256"] == sha(plate / rel)
        assert table[rel]["size"] == str((plate / rel).stat().st_size)
    assert table["P1/A01/f1.tif"]["SizeX"] == "696"
