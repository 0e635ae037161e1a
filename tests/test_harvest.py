"""`catalogue harvest`: header values into manifest columns, on a copy of a content tree."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import tifffile
import yaml
from click.testing import CliRunner

from catalogue.cli import main
from catalogue.imaging.harvest import HarvestError, harvest_study, proposal_yaml
from catalogue.readers.tree import load

from .ngff import OME_XML_INSTRUMENT, SAMPLES, two_halves, write_image

MINIMAL = Path(__file__).parent / "roots" / "minimal" / "content"
HEADER = ["path", "size", "sha256", "Channel", "SizeX"]


@pytest.fixture
def content(tmp_path: Path) -> Path:
    """The minimal root plus an OME-TIFF with OME-XML, the zarr sample, a generated
    NGFF 0.5 image and rows without local images; one curator-written SizeX."""
    assert SAMPLES.is_dir(), f"sample images missing: {SAMPLES}"  # a failure, never a skip
    root = tmp_path / "content"
    shutil.copytree(MINIMAL, root)
    for path in root.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    data = root / "data" / "S-BIAD1"
    tifffile.imwrite(
        data / "cells.ome.tif",
        np.zeros((6, 96, 128), np.uint16),
        description=OME_XML_INSTRUMENT.encode(),
        metadata=None,
    )
    shutil.copytree(SAMPLES / "human_D03_3ch.ome.zarr", data / "human.ome.zarr")
    write_image(
        data / "v5.ome.zarr",
        [two_halves()],
        version="0.5",
        units={"x": "micrometer", "y": "micrometer"},
        pixel_size={"x": 0.5, "y": 0.5},
    )
    (data / "table.csv").write_text("a,b\n1,2\n")
    (data / "broken.tif").write_bytes(b"II*\x00\xff\xff\xff\x7f" + bytes(64))
    rows = [
        HEADER,
        ["worm.tif", "725953", "", "FITC", ""],
        ["cells.ome.tif", "1", "", "", "999"],  # a curator's SizeX, wrong on purpose
        ["human.ome.zarr", "1", "", "", ""],
        ["v5.ome.zarr", "1", "", "", ""],
        ["table.csv", "8", "", "", ""],
        ["broken.tif", "72", "", "", ""],
        ["elsewhere/not-here.tif", "5", "", "", ""],
    ]
    manifest = root / "studies" / "S-BIAD1" / "images.files.tsv"
    manifest.write_text("".join("\t".join(r) + "\n" for r in rows), encoding="utf-8")
    return root


def read_manifest(content: Path) -> list[dict[str, str]]:
    lines = (content / "studies/S-BIAD1/images.files.tsv").read_text(encoding="utf-8")
    header, *rows = [line.split("\t") for line in lines.splitlines()]
    return [dict(zip(header, row, strict=True)) for row in rows]


def test_harvest_adds_columns_and_keeps_curator_values(content: Path) -> None:
    messages: list[str] = []
    report = harvest_study(content, "S-BIAD1", echo=messages.append)
    (manifest,) = report.manifests
    assert manifest.rewritten
    assert manifest.rows == 7 and manifest.local == 5 and manifest.read == 4
    assert manifest.kept == 1
    assert manifest.problems and manifest.problems[0].startswith("broken.tif: cannot read TIFF")
    rows = {row["path"]: row for row in read_manifest(content)}
    assert list(next(iter(rows.values()))) == [
        *HEADER,
        "SizeY",
        "SizeZ",
        "SizeC",
        "SizeT",
        "PixelType",
        "PhysicalSizeX",
        "PhysicalSizeXUnit",
        "PhysicalSizeY",
        "PhysicalSizeYUnit",
        "PhysicalSizeZ",
        "PhysicalSizeZUnit",
    ]
    worm = rows["worm.tif"]
    assert (worm["SizeX"], worm["SizeY"], worm["PixelType"]) == ("696", "520", "uint16")
    assert (worm["PhysicalSizeX"], worm["PhysicalSizeXUnit"]) == ("6.25", "µm")
    assert worm["Channel"] == "FITC"  # untouched
    cells = rows["cells.ome.tif"]
    assert cells["SizeX"] == "999"  # the curator's value stays
    assert (cells["SizeY"], cells["SizeZ"], cells["SizeC"]) == ("96", "3", "2")
    assert (cells["PhysicalSizeZ"], cells["PhysicalSizeZUnit"]) == ("250", "nm")
    human = rows["human.ome.zarr"]
    assert (human["SizeX"], human["SizeC"], human["PixelType"]) == ("512", "3", "uint8")
    assert human["PhysicalSizeX"] == ""  # its scales have no unit
    assert rows["v5.ome.zarr"]["PhysicalSizeX"] == "0.5"
    for untouched in ("table.csv", "broken.tif", "elsewhere/not-here.tif"):
        assert {k: v for k, v in rows[untouched].items() if k not in ("path", "size")} == {
            k: "" for k in rows[untouched] if k not in ("path", "size")
        }
    assert any("curator values kept" in m for m in messages)
    # The harvested manifest is still a valid manifest.
    catalogue, problems = load(content, dt.date(2026, 1, 1))
    assert catalogue is not None, problems


def test_overwrite_replaces_curator_values(content: Path) -> None:
    report = harvest_study(content, "S-BIAD1", overwrite=True)
    assert report.manifests[0].kept == 0
    rows = {row["path"]: row for row in read_manifest(content)}
    assert rows["cells.ome.tif"]["SizeX"] == "128"


def test_second_run_changes_nothing_and_leaves_no_temporary_files(content: Path) -> None:
    harvest_study(content, "S-BIAD1", overwrite=True)
    manifest = content / "studies/S-BIAD1/images.files.tsv"
    before = manifest.read_bytes(), os.stat(manifest).st_ino
    report = harvest_study(content, "S-BIAD1", overwrite=True)
    assert not report.manifests[0].rewritten and report.manifests[0].filled == 0
    assert (manifest.read_bytes(), os.stat(manifest).st_ino) == before
    assert sorted(p.name for p in manifest.parent.iterdir()) == ["images.files.tsv", "study.yaml"]


def test_rewrite_is_atomic(content: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    manifest = content / "studies/S-BIAD1/images.files.tsv"
    original = manifest.read_bytes()

    def fail(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(HarvestError, match="cannot rewrite studies/S-BIAD1/images.files.tsv"):
        harvest_study(content, "S-BIAD1")
    assert manifest.read_bytes() == original  # never half-written
    assert sorted(p.name for p in manifest.parent.iterdir()) == ["images.files.tsv", "study.yaml"]


def test_proposal_from_ome_xml(content: Path) -> None:
    report = harvest_study(content, "S-BIAD1")
    proposal = report.proposal
    assert "Zeiss LSM 880" in proposal["instrument"]
    assert "Plan-Apochromat 63x/1.40 Oil" in proposal["instrument"]
    assert "NA 1.4" in proposal["instrument"]
    assert "detector GaAsP PMT" in proposal["instrument"]
    assert "DAPI" in proposal["parameters"] and "FITC" in proposal["parameters"]
    fragment = yaml.safe_load(proposal_yaml(report))
    assert fragment["image_acquisitions"]["harvested"] == proposal
    # study.yaml is not touched
    assert "harvested" not in (content / "studies/S-BIAD1/study.yaml").read_text()


def test_many_rows_stream_in_batches(content: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from catalogue.imaging import harvest

    monkeypatch.setattr(harvest, "BATCH", 3)
    manifest = content / "studies/S-BIAD1/images.files.tsv"
    lines = manifest.read_text().splitlines()
    extra = [f"copy{i}.tif\t1\t\t\t" for i in range(20)]
    for i in range(20):
        shutil.copy(content / "data/S-BIAD1/worm.tif", content / f"data/S-BIAD1/copy{i}.tif")
    manifest.write_text("\n".join([*lines, *extra]) + "\n")
    report = harvest_study(content, "S-BIAD1")
    assert report.manifests[0].read == 24
    rows = read_manifest(content)
    assert [r["path"] for r in rows] == [line.split("\t")[0] for line in [*lines[1:], *extra]]
    assert all(r["SizeX"] == "696" for r in rows if r["path"].startswith("copy"))


def test_errors(content: Path, tmp_path: Path) -> None:
    with pytest.raises(HarvestError, match="no study S-BIAD7"):
        harvest_study(content, "S-BIAD7")
    with pytest.raises(HarvestError, match="lists no file manifests"):
        harvest_study(content, "S-BIAD2")
    with pytest.raises(HarvestError, match="site.yaml"):
        harvest_study(tmp_path / "nowhere", "S-BIAD1")


def test_harvest_command(content: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["harvest", "S-BIAD1", "--content", str(content), "-j", "1"])
    assert result.exit_code == 0, result.output
    assert "columns added: SizeY" in result.output
    assert "warning: studies/S-BIAD1/images.files.tsv: broken.tif" in result.output
    assert "# Proposed for study.yaml" in result.output
    assert "Zeiss LSM 880" in result.output
    missing = runner.invoke(main, ["harvest", "S-BIAD7", "--content", str(content)])
    assert missing.exit_code == 1 and "no study S-BIAD7" in missing.output
    assert "Traceback" not in missing.output
    bad = runner.invoke(main, ["harvest", "S-BIAD1", "--content", str(content), "--executor", "x"])
    assert bad.exit_code == 2 and "unknown executor" in bad.output
