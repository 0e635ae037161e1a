"""`catalogue inspect` and `catalogue thumbnail`: header facts of real and generated files."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
import tifffile
from click.testing import CliRunner
from PIL import Image

from catalogue.cli import main
from catalogue.imaging.metadata import inspect_image
from catalogue.imaging.thumbnail import placeholder_webp, site_thumbnail

from .ngff import OME_XML_INSTRUMENT, SAMPLES, pyramid, two_halves, write_container, write_image


@pytest.fixture(scope="module")
def samples() -> Path:
    assert SAMPLES.is_dir(), f"sample images missing: {SAMPLES}"  # a failure, never a skip
    return SAMPLES


def test_ome_tiff_sample(samples: Path) -> None:
    record = inspect_image(samples / "multi-channel-z-series.ome.tif")
    assert record["readable"] and record["format"] == "OME-TIFF"
    assert record["dimensions"] == {"X": 439, "Y": 167, "Z": 5, "C": 3, "T": 1}
    assert record["pixel_type"] == "int8"
    assert record["levels"] == [{"X": 439, "Y": 167}]
    assert len(record["channels"]) == 3


def test_svs_sample_has_pixel_size_and_magnification(samples: Path) -> None:
    record = inspect_image(samples / "CMU-1-Small-Region.svs")
    assert record["format"] == "SVS"
    assert record["dimensions"] == {"X": 2220, "Y": 2967, "Z": 1, "C": 3, "T": 1}
    assert record["pixel_type"] == "uint8"
    assert record["series"] == 4
    assert record["physical_size"]["X"] == {"value": 0.499, "unit": "µm"}
    assert record["instrument"]["objectives"] == [{"magnification": 20.0}]


def test_metamorph_sample_calibration_channel_and_objective(samples: Path) -> None:
    record = inspect_image(samples / "worm_fitc_16bit.tif")
    assert record["dimensions"] == {"X": 696, "Y": 520, "Z": 1, "C": 1, "T": 1}
    assert record["pixel_type"] == "uint16"
    # XCalibration 6.25 um (the 72 dpi resolution tags are not a calibration)
    assert record["physical_size"] == {
        "X": {"value": 6.25, "unit": "µm"},
        "Y": {"value": 6.25, "unit": "µm"},
    }
    assert record["channels"][0]["name"] == "FITC"
    assert record["instrument"]["objectives"][0]["na"] == 0.1


def test_zarr_samples(samples: Path) -> None:
    image = inspect_image(samples / "human_D03_3ch.ome.zarr")
    assert image["format"] == "OME-Zarr" and image["layout"] == "image"
    assert image["ngff_version"] == "0.4" and image["zarr_format"] == 2
    assert image["dimensions"] == {"X": 512, "Y": 512, "Z": 1, "C": 3, "T": 1}
    assert [level["X"] for level in image["levels"]] == [512, 256, 128, 64, 32]
    assert image["channels"] == [
        {"name": "d0", "colour": "#0000FF"},
        {"name": "d1", "colour": "#00FF00"},
        {"name": "d2", "colour": "#FF0000"},
    ]
    assert image["physical_size"] == {}  # scales without units are not physical sizes
    plate = inspect_image(samples / "human_plate.ome.zarr")
    assert plate["layout"] == "plate" and plate["image_path"] == "D/3/0"
    assert plate["plate"]["rows"] == 1 and plate["plate"]["wells"] == 1
    assert plate["dimensions"] == image["dimensions"]


def test_ome_xml_instrument_objective_channels_units(tmp_path: Path) -> None:
    path = tmp_path / "cells.ome.tif"
    data = np.zeros((6, 96, 128), np.uint16)
    tifffile.imwrite(path, data, description=OME_XML_INSTRUMENT.encode(), metadata=None)
    record = inspect_image(path)
    assert record["format"] == "OME-TIFF"
    assert record["dimensions"] == {"X": 128, "Y": 96, "Z": 3, "C": 2, "T": 1}
    assert record["physical_size"] == {
        "X": {"value": 0.065, "unit": "µm"},
        "Y": {"value": 0.065, "unit": "µm"},
        "Z": {"value": 250.0, "unit": "nm"},
    }
    assert record["channels"][0] == {
        "name": "DAPI",
        "colour": "#0000FF",
        "emission_wavelength": "461",
    }
    assert record["channels"][1]["colour"] == "#00FF00"
    instrument = record["instrument"]
    assert instrument["microscope"] == "Zeiss LSM 880"
    assert instrument["objectives"][0]["magnification"] == 63.0
    assert instrument["objectives"][0]["na"] == 1.4
    assert instrument["objectives"][0]["immersion"] == "Oil"
    assert instrument["detectors"] == [{"model": "GaAsP", "type": "PMT"}]
    assert record["acquisition_date"] == "2024-05-06T10:11:12"


def test_pyramid_levels_and_zarr_units(tmp_path: Path) -> None:
    path = tmp_path / "pyr.ome.tif"
    data = np.zeros((1024, 1536), np.uint8)
    with tifffile.TiffWriter(path, bigtiff=True) as tif:
        tif.write(data, subifds=2, tile=(128, 128))
        for factor in (2, 4):
            tif.write(data[::factor, ::factor], subfiletype=1, tile=(128, 128))
    levels = inspect_image(path)["levels"]
    assert levels == [{"X": 1536, "Y": 1024}, {"X": 768, "Y": 512}, {"X": 384, "Y": 256}]
    root = write_image(
        tmp_path / "v5.ome.zarr",
        pyramid(two_halves(), 2),
        version="0.5",
        units={"x": "micrometer", "y": "micrometer"},
        pixel_size={"x": 0.25, "y": 0.25},
    )
    record = inspect_image(root)
    assert record["ngff_version"] == "0.5" and record["zarr_format"] == 3
    assert record["physical_size"] == {
        "X": {"value": 0.25, "unit": "µm"},
        "Y": {"value": 0.25, "unit": "µm"},
    }


def test_container_reads_ome_xml_of_the_container(tmp_path: Path) -> None:
    record = inspect_image(write_container(tmp_path / "c.zarr", [[two_halves()], [two_halves()]]))
    assert record["layout"] == "container" and record["images"] == 2
    assert record["ngff_version"] == "0.4"
    assert record["instrument"]["microscope"] == "Zeiss LSM 880"


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("empty.tif", b"", {"readable": False, "warning": "empty file"}),
        ("junk.tif", b"junk" * 100, {"readable": False, "warning": "unrecognised file format"}),
        ("a.czi", b"ZISRAWFILE" + bytes(64), {"readable": False, "format": "CZI"}),
    ],
)
def test_unreadable_files(tmp_path: Path, name: str, content: bytes, expected: dict) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    record = inspect_image(path)
    assert expected.items() <= record.items()


def test_inspect_command(samples: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["inspect", str(samples / "human_plate.ome.zarr")])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["layout"] == "plate"
    broken = runner.invoke(main, ["inspect", str(samples / "truncated.tif")])
    assert broken.exit_code == 1
    assert "invalid offset" in json.loads(broken.output)["warning"]
    assert "Traceback" not in broken.output
    badge = tmp_path / "x.dm4"
    badge.write_bytes(b"\x00\x00\x00\x04" + bytes(64))
    known = runner.invoke(main, ["inspect", str(badge)])
    assert known.exit_code == 0 and json.loads(known.output)["format"] == "DM4"
    garbage = tmp_path / "x.nd2"
    garbage.write_bytes(b"\xda\xce\xbe\x0a" + bytes(64))
    bad = runner.invoke(main, ["inspect", str(garbage)])
    assert bad.exit_code == 1 and json.loads(bad.output)["format"] == "ND2"
    assert "Traceback" not in bad.output
    missing = runner.invoke(main, ["inspect", str(tmp_path / "nope.tif")])
    assert missing.exit_code == 1 and json.loads(missing.output)["warning"] == "file not found"


def test_thumbnail_command_writes_what_the_build_writes(samples: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    for name in ("human_D03_3ch.ome.zarr", "worm_fitc_16bit.tif"):
        out = tmp_path / f"{name}.webp"
        result = runner.invoke(main, ["thumbnail", str(samples / name), "-o", str(out)])
        assert result.exit_code == 0, result.output
        assert out.read_bytes() == site_thumbnail(samples / name).webp
    out = tmp_path / "small.webp"
    result = runner.invoke(
        main, ["thumbnail", str(samples / "ihc_histology_rgb.png"), "-o", str(out), "--size", "64"]
    )
    assert result.exit_code == 0
    with Image.open(io.BytesIO(out.read_bytes())) as image:
        assert image.size == (64, 64)
    broken = tmp_path / "broken.webp"
    result = runner.invoke(main, ["thumbnail", str(samples / "truncated.tif"), "-o", str(broken)])
    assert result.exit_code == 1
    assert "invalid offset" in result.output and "Traceback" not in result.output
    assert broken.read_bytes() == placeholder_webp("no preview")


def test_thumbnail_command_writes_an_ordinary_file(tmp_path):
    import os
    import stat

    from click.testing import CliRunner

    from catalogue.cli import main

    out = tmp_path / "worm.webp"
    source = Path(__file__).resolve().parent / "data/images/worm_fitc_16bit.tif"
    result = CliRunner().invoke(main, ["thumbnail", str(source), "-o", str(out)])
    assert result.exit_code == 0, result.output
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask
