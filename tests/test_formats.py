"""Vendor and EM formats (ND2, LIF, CZI, LSM, MRC) on real files: thumbnails, inspect,
harvest, bad files and the missing-extra message."""

from __future__ import annotations

import io
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from catalogue.imaging.base import ThumbnailSettings
from catalogue.imaging.harvest import harvest_study
from catalogue.imaging.metadata import inspect_image
from catalogue.imaging.thumbnail import placeholder_webp, render_thumbnail, site_thumbnail

from .ngff import SAMPLES

MINIMAL = Path(__file__).parent / "roots" / "minimal" / "content"

# file -> (format, dimensions, pixel type, physical X in its unit, unit, channel names)
FILES: dict[str, tuple[str, dict[str, int], str, float, str, list[str | None]]] = {
    "example-cerevisiae.nd2": (
        "ND2",
        {"X": 256, "Y": 256, "Z": 1, "C": 2, "T": 1},
        "uint16",
        0.108333,
        "µm",
        ["DIC", "FITC BP"],
    ),
    "LeicaLASX_wavelength-sweep_example.lif": (
        "LIF",
        {"X": 64, "Y": 64, "Z": 1, "C": 1, "T": 1},
        "uint8",
        0.104814,
        "µm",
        [None],
    ),
    "xyz__multiple_images.czi": (
        "CZI",
        {"X": 251, "Y": 251, "Z": 2, "C": 1, "T": 1},
        "uint16",
        0.195644,
        "µm",
        ["ChA"],
    ),
    "032113-18.lsm": (
        "LSM",
        {"X": 512, "Y": 512, "Z": 1, "C": 3, "T": 1},
        "uint8",
        1.03783,
        "µm",
        ["Ch1-T1", "Ch2-T2", "T PMT-T2"],
    ),
    "EMD-3001.map": (
        "MRC",
        {"X": 73, "Y": 43, "Z": 25, "C": 1, "T": 1},
        "float",
        0.44825,
        "Å",
        [],
    ),
}


def decode(webp: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(webp)).convert("RGB"))


@pytest.mark.parametrize("name", sorted(FILES))
def test_real_file_inspect(name: str) -> None:
    fmt, dims, pixel_type, size_x, unit, channels = FILES[name]
    record = inspect_image(SAMPLES / name)
    assert record["readable"], record
    assert record["format"] == fmt
    assert record["dimensions"] == dims
    assert record["pixel_type"] == pixel_type
    assert record["physical_size"]["X"] == {"value": size_x, "unit": unit}
    assert [c["name"] for c in record["channels"]] == channels


def test_inspect_reads_instrument_and_z_step() -> None:
    nd2 = inspect_image(SAMPLES / "example-cerevisiae.nd2")
    assert nd2["instrument"]["objectives"][0] == {
        "model": "PLAN APO λD 40x OFN25 DIC N2",
        "magnification": 40.0,
        "na": 0.95,
    }
    czi = inspect_image(SAMPLES / "xyz__multiple_images.czi")
    assert czi["physical_size"]["Z"] == {"value": 0.3, "unit": "µm"}
    assert czi["instrument"]["microscope"] == "Zeiss LSM 880, AxioObserver"
    assert czi["series"] == 2
    lif = inspect_image(SAMPLES / "LeicaLASX_wavelength-sweep_example.lif")
    assert lif["series"] == 3 and lif["instrument"]["objectives"][0]["na"] == 1.3
    lsm = inspect_image(SAMPLES / "032113-18.lsm")
    assert lsm["instrument"]["objectives"][0]["magnification"] == 20.0
    mrc = inspect_image(SAMPLES / "EMD-3001.map")
    assert mrc["physical_size"]["Z"] == {"value": 0.45875, "unit": "Å"}
    assert mrc["kind"] == "volume"


@pytest.mark.parametrize("name", sorted(FILES))
def test_real_file_thumbnail_shows_the_image(name: str) -> None:
    dims = FILES[name][1]
    thumb = render_thumbnail(SAMPLES / name)
    assert thumb.warning is None and thumb.badge is None and thumb.webp
    scale = min(1.0, 256 / max(dims["X"], dims["Y"]))
    assert (thumb.width, thumb.height) == (round(dims["X"] * scale), round(dims["Y"] * scale))
    pixels = decode(thumb.webp)
    assert pixels.std() > 20  # structure, not a flat or black square
    assert (pixels > 200).mean() > 0.005 and (pixels < 60).mean() > 0.005
    assert render_thumbnail(SAMPLES / name).webp == thumb.webp  # deterministic


def test_two_channel_nd2_is_a_colour_merge() -> None:
    pixels = decode(render_thumbnail(SAMPLES / "example-cerevisiae.nd2").webp or b"").astype(int)
    # DIC is grey (its stored colour is white), FITC green: green must dominate somewhere
    assert ((pixels[..., 1] - pixels[..., 0]) > 60).mean() > 0.01


@pytest.mark.parametrize("name", sorted(FILES))
def test_header_bounds_are_checked_before_pixels(name: str) -> None:
    tight = ThumbnailSettings(max_pixels=1000, max_held_bytes=1000)
    thumb = render_thumbnail(SAMPLES / name, tight)
    assert thumb.webp is None and thumb.warning and "too large" in thumb.warning


@pytest.mark.parametrize("name", sorted(FILES))
def test_truncated_file_is_a_placeholder_with_a_warning(tmp_path: Path, name: str) -> None:
    data = (SAMPLES / name).read_bytes()
    broken = tmp_path / name
    broken.write_bytes(data[:4096])  # the header survives, the pixels do not
    published = site_thumbnail(broken)
    assert published.webp == placeholder_webp("no preview")
    assert published.warning, name
    assert str(broken) not in published.warning
    record = inspect_image(broken)
    if record["readable"]:  # a header at the start can survive; the pixels cannot
        assert name.endswith((".lsm", ".czi"))
    else:
        assert record["warning"]


def test_missing_library_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "nd2", None)  # what an absent package looks like
    record = inspect_image(SAMPLES / "example-cerevisiae.nd2")
    assert not record["readable"]
    assert "pip install 'catalogue[formats]'" in record["warning"]
    published = site_thumbnail(SAMPLES / "example-cerevisiae.nd2")
    assert published.info.get("badge") == "ND2" and published.warning is None


def test_harvest_fills_columns_from_vendor_files(tmp_path: Path) -> None:
    root = tmp_path / "content"
    shutil.copytree(MINIMAL, root)
    data = root / "data" / "S-BIAD1"
    for name in ("example-cerevisiae.nd2", "xyz__multiple_images.czi", "EMD-3001.map"):
        shutil.copy(SAMPLES / name, data / name)
    rows = [["path", "size"], *[[name, "1"] for name in sorted(FILES) if (data / name).exists()]]
    manifest = root / "studies" / "S-BIAD1" / "images.files.tsv"
    manifest.write_text("".join("\t".join(r) + "\n" for r in rows), encoding="utf-8")
    report = harvest_study(root, "S-BIAD1", echo=lambda _: None)
    assert report.manifests[0].read == 3
    lines = [line.split("\t") for line in manifest.read_text(encoding="utf-8").splitlines()]
    table = {row[0]: dict(zip(lines[0], row, strict=True)) for row in lines[1:]}
    assert table["example-cerevisiae.nd2"]["SizeC"] == "2"
    assert table["example-cerevisiae.nd2"]["PhysicalSizeX"] == "0.108333"
    assert table["xyz__multiple_images.czi"]["SizeZ"] == "2"
    assert table["EMD-3001.map"]["PixelType"] == "float"
    assert table["EMD-3001.map"]["PhysicalSizeXUnit"] == "Å"


def test_imagej_hyperstack(tmp_path: Path) -> None:
    """An ImageJ hyperstack as tifffile writes it in ImageJ mode (no small real one with
    a suitable licence was found): axes, Z spacing, channel labels, frame interval."""
    import tifffile

    yy, xx = np.mgrid[0:96, 0:128]
    planes = np.zeros((2, 3, 2, 96, 128), np.uint16)  # T Z C Y X
    planes[:, :, 0] = (xx * 300).astype(np.uint16)
    planes[:, :, 1] = (yy * 400).astype(np.uint16)
    path = tmp_path / "hyper.tif"
    tifffile.imwrite(
        path,
        planes,
        imagej=True,
        resolution=(1 / 0.25, 1 / 0.25),
        metadata={
            "axes": "TZCYX",
            "spacing": 1.5,
            "unit": "um",
            "finterval": 2.0,
            "Labels": ["GFP", "RFP"] * 6,
        },
    )
    record = inspect_image(path)
    assert record["format"] == "ImageJ TIFF"
    assert record["dimensions"] == {"X": 128, "Y": 96, "Z": 3, "C": 2, "T": 2}
    assert record["physical_size"]["X"] == {"value": 0.25, "unit": "µm"}
    assert record["physical_size"]["Z"] == {"value": 1.5, "unit": "µm"}
    assert [c["name"] for c in record["channels"]] == ["GFP", "RFP"]
    assert record["frame_interval"] == {"value": 2.0, "unit": "s"}
    pixels = decode(render_thumbnail(path).webp or b"")
    assert pixels.std() > 20
