"""File sizes at the edge of what a 64-bit integer holds, through ``catalogue build``.

A size is at most 2**63-1 bytes (E045 otherwise, named by file and line), but a study's
sizes may add up to more than that: the build publishes it, the bulk tables' int64
``bytes`` column saturating at 2**63-1 and the JSON record exact.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow.parquet as pq
from click.testing import CliRunner

from catalogue.cli import main
from catalogue.readers.manifest import CLEAN_FROM
from catalogue.steps.files import COLUMNS_FROM

from .conftest import copy_root

TODAY = "2026-11-25"
INT64_MAX = 2**63 - 1
STUDY = Path("studies") / "S-BIAD1"


def build(content: Path, out: Path, *extra: str):
    return CliRunner().invoke(
        main,
        ["build", "--content", str(content), "--out", str(out), "--today", TODAY, *extra],
    )


def test_a_size_no_file_can_have_stops_the_build_naming_file_and_line(tmp_path):
    content = copy_root(tmp_path, "minimal")
    manifest = content / STUDY / "images.files.tsv"
    manifest.write_text("path\tsize\nworm.tif\t725953\nbig.tif\t99999999999999999999\n")
    out = tmp_path / "site"
    result = build(content, out)
    assert result.exit_code == 1, result.output
    assert "images.files.tsv:3: E045 size '99999999999999999999'" in result.output
    assert "Traceback" not in result.output and "OverflowError" not in result.output
    assert not (out / "api" / "v1" / "studies.parquet").exists()
    # --keep-going leaves the study out and publishes the rest, without crashing either
    kept = build(content, out, "--keep-going")
    assert kept.exit_code == 0, kept.output
    assert "S-BIAD1" not in (out / "api" / "v1" / "studies.json").read_text()


def test_a_study_whose_sizes_add_up_past_int64_is_published(tmp_path):
    content = copy_root(tmp_path, "minimal")
    folder = content / STUDY
    # a small manifest (read and tabled row by row): 1000 files of 2**62 bytes
    small = ["worm.tif\t725953"] + [f"f{i}.tif\t{2**62}" for i in range(999)]
    (folder / "images.files.tsv").write_text("path\tsize\n" + "\n".join(small) + "\n")
    # a large one (read and tabled a column at a time): of the largest size there is
    rows = max(COLUMNS_FROM, CLEAN_FROM // 200 + 1)
    prefix = "d" * 180
    large = [f"{prefix}/{i:06d}.tif\t{INT64_MAX}" for i in range(rows)]
    (folder / "large.files.tsv").write_text("path\tsize\n" + "\n".join(large) + "\n")
    assert (folder / "large.files.tsv").stat().st_size >= CLEAN_FROM
    study = folder / "study.yaml"
    study.write_text(
        study.read_text()
        + "  - id: large\n    title: Large\n    biosample: worm\n"
        + "    image_acquisition: wide\n    files: large.files.tsv\n"
    )
    out = tmp_path / "site"
    result = build(content, out)
    assert result.exit_code == 0, result.output
    assert "failed" not in result.output

    exact = 725953 + 999 * 2**62 + rows * INT64_MAX
    api = out / "api" / "v1"
    listed = json.loads((api / "studies.json").read_text())["studies"]
    assert [s["bytes"] for s in listed] == [exact]
    record = json.loads((api / "studies" / "S-BIAD1.json").read_text())
    assert [(d["id"], d["total_size"]) for d in record["datasets"]] == [
        ("images", 725953 + 999 * 2**62),
        ("large", rows * INT64_MAX),
    ]
    studies = pq.read_table(api / "studies.parquet").to_pylist()
    assert [(s["accession"], s["files"], s["bytes"]) for s in studies] == [
        ("S-BIAD1", 1000 + rows, INT64_MAX)
    ]
    with (api / "studies.csv").open(newline="") as fh:
        assert [r["bytes"] for r in csv.DictReader(fh)] == [str(INT64_MAX)]
    # every file keeps its own size, exact, in the files table
    files = pq.read_table(api / "files.parquet", columns=["dataset", "size"]).to_pylist()
    sizes: dict[str, list[int]] = {}
    for f in files:
        sizes.setdefault(f["dataset"], []).append(f["size"])
    assert sizes["images"] == [725953] + [2**62] * 999
    assert sizes["large"] == [INT64_MAX] * rows
