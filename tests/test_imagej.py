"""A real ImageJ hyperstack (ImageJ 1.53t, 2 channels × 3 slices × 2 frames, 16-bit):
what inspect reads, the thumbnail's colours, and what conversion to OME-Zarr keeps."""

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
from catalogue.imaging.thumbnail import render_thumbnail

from .ngff import SAMPLES
from .test_convert import read_back

HYPERSTACK = SAMPLES / "imagej_hyperstack_tzcyx.tiff"


def test_inspect_reads_the_hyperstack_axes_channels_and_calibration() -> None:
    record = inspect_image(HYPERSTACK)
    assert record["readable"] and record["format"] == "ImageJ TIFF"
    assert record["axes"] == "TZCYX"
    assert record["dimensions"] == {"X": 169, "Y": 169, "Z": 3, "C": 2, "T": 2}
    assert record["pixel_type"] == "uint16"
    # 8.04878 pixels per micron in the resolution tags, spacing=0.125, finterval=10
    assert record["physical_size"]["X"] == {"value": 0.124242, "unit": "µm"}
    assert record["physical_size"]["Y"] == {"value": 0.124242, "unit": "µm"}
    assert record["physical_size"]["Z"] == {"value": 0.125, "unit": "µm"}
    assert record["frame_interval"] == {"value": 10.0, "unit": "s"}
    # the composite's LUTs: channel 1 red, channel 2 green (no labels in the file)
    assert [c["colour"] for c in record["channels"]] == ["#FF0000", "#00FF00"]


def test_thumbnail_is_the_composite_in_the_files_own_colours() -> None:
    webp = render_thumbnail(HYPERSTACK).webp
    image = np.asarray(Image.open(io.BytesIO(webp)).convert("RGB")).astype(int)
    assert image.shape == (169, 169, 3)
    red, green, blue = image[..., 0], image[..., 1], image[..., 2]
    # red and green pixels, hardly any blue: the LUT colours, not the default
    # green/magenta (whose blue equals its red)
    assert (red > 100).sum() > 200 and (green > 100).sum() > 200
    assert blue.mean() < 0.2 * red.mean()
    assert render_thumbnail(HYPERSTACK).webp == webp  # deterministic


def test_conversion_keeps_axes_channels_z_t_and_sizes(tmp_path: Path) -> None:
    out = tmp_path / "hela.ome.zarr"
    result = CliRunner().invoke(main, ["convert", str(HYPERSTACK), "-o", str(out)])
    assert result.exit_code == 0, result.output
    levels, metadata = read_back(out)
    source = tifffile.imread(HYPERSTACK)  # (t, z, c, y, x)
    assert levels[0].shape == (2, 2, 3, 169, 169)  # (t, c, z, y, x)
    assert np.array_equal(levels[0], np.moveaxis(source, 2, 1))
    axes = {a["name"]: a.get("unit") for a in metadata["axes"]}
    assert axes == {
        "t": "second",
        "c": None,
        "z": "micrometer",
        "y": "micrometer",
        "x": "micrometer",
    }
    scale = metadata["coordinateTransformations"][0][0]["scale"]
    assert scale == pytest.approx([10.0, 1.0, 0.125, 0.124242, 0.124242])
    ome = json.loads((out / "zarr.json").read_text())["attributes"]["ome"]
    assert [c["color"] for c in ome["omero"]["channels"]] == ["FF0000", "00FF00"]
    # and the catalogue reads the same facts back from the OME-Zarr
    again = inspect_image(out)
    assert again["dimensions"] == {"X": 169, "Y": 169, "Z": 3, "C": 2, "T": 2}
    assert again["physical_size"]["Z"] == {"value": 0.125, "unit": "µm"}
