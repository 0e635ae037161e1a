"""Thumbnails of real sample files and of generated edge cases, decoded and measured."""

import hashlib
import io
import logging
import struct
import subprocess
import sys
import time
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from catalogue.imaging import (
    THUMBNAILER_VERSION,
    Thumbnail,
    ThumbnailSettings,
    placeholder_webp,
    render_thumbnail,
)

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples" / "images"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def samples() -> Path:
    # Deliberately a failure, not a skip: without the samples nothing real is tested.
    assert SAMPLES.is_dir(), f"sample images missing: {SAMPLES}"
    return SAMPLES


def decode(thumb: Thumbnail) -> np.ndarray:
    """The thumbnail as an RGB array, after checking it is a WebP of the stated size."""
    assert thumb.webp is not None, thumb.warning
    assert thumb.warning is None
    with Image.open(io.BytesIO(thumb.webp)) as image:
        assert image.format == "WEBP"
        assert image.size == (thumb.width, thumb.height)
        return np.asarray(image.convert("RGB"))


def grey(rgb: np.ndarray) -> np.ndarray:
    return np.asarray(Image.fromarray(rgb).convert("L"), dtype=np.float64)


def assert_spread(rgb: np.ndarray) -> None:
    values = grey(rgb)
    assert values.std() > 10
    assert np.percentile(values, 99) - np.percentile(values, 1) > 40


def channel_difference(rgb: np.ndarray) -> np.ndarray:
    rgb = rgb.astype(int)
    return np.max(np.abs(rgb - np.roll(rgb, 1, axis=2)), axis=2)


# --- real samples --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "size"),
    [
        ("worm_fitc_16bit.tif", (256, 191)),
        ("multi-channel-z-series.ome.tif", (256, 97)),
        ("ihc_histology_rgb.png", (256, 256)),
        # 192 wide comes from the 2220 x 2967 baseline (the Thumbnail series gives 191).
        ("CMU-1-Small-Region.svs", (192, 256)),
    ],
)
def test_samples_render_with_contrast(samples: Path, name: str, size: tuple[int, int]) -> None:
    thumb = render_thumbnail(samples / name)
    rgb = decode(thumb)
    assert (thumb.width, thumb.height) == size
    assert_spread(rgb)


def test_worm_16bit_is_stretched_not_shifted(samples: Path) -> None:
    # Values 153..2153: ">> 8" would give at most 8, i.e. a black image.
    values = grey(decode(render_thumbnail(samples / "worm_fitc_16bit.tif")))
    assert np.percentile(values, 99.9) > 200
    assert 10 < values.mean() < 200


def test_ome_tiff_channels_get_distinct_colours(samples: Path) -> None:
    # The three channels of this sample are identical except for the one-pixel-wide
    # digit in "Channel = k/3", so colour shows only there, at native size.
    path = samples / "multi-channel-z-series.ome.tif"
    rgb = decode(render_thumbnail(path, ThumbnailSettings(max_size=512)))
    assert rgb.shape == (167, 439, 3)
    assert channel_difference(rgb).max() > 40


def test_svs_reads_baseline_without_extra_series(samples: Path) -> None:
    rgb = decode(render_thumbnail(samples / "CMU-1-Small-Region.svs"))
    # H&E: mostly white background with pink/purple tissue (red and blue above green).
    tissue = rgb[grey(rgb) < 200].astype(int)
    assert len(tissue) > 1000
    assert tissue[:, 0].mean() > tissue[:, 1].mean() + 20
    assert tissue[:, 2].mean() > tissue[:, 1].mean() + 20


# --- files that cannot be rendered ---------------------------------------------------


def assert_unrenderable(thumb: Thumbnail, path: Path) -> str:
    assert thumb.webp is None
    assert (thumb.width, thumb.height) == (0, 0)
    assert thumb.warning
    assert str(path) not in thumb.warning
    assert path.name not in thumb.warning
    return thumb.warning


def test_truncated_tiff_warns_quietly(
    samples: Path, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    path = samples / "truncated.tif"
    warning = assert_unrenderable(render_thumbnail(path), path)
    assert "invalid offset" in warning  # tifffile's log message ends up in the warning
    assert not [record for record in caplog.records if record.name.startswith("tifffile")]
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("empty.tif", b"", "empty file"),
        ("x.tif", b"not an image at all, just some text\n" * 20, "unrecognised file format"),
        ("x.png", np.random.default_rng(1).bytes(4096), "unrecognised file format"),
        ("x.czi", b"ZISRAWFILE" + bytes(100), "unsupported format (CZI)"),
        ("cut.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "cannot read PNG"),
        ("cut.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF", "cannot read JPEG"),
        ("bad.tif", b"II*\x00\xff\xff\xff\x7f" + bytes(64), "cannot read TIFF"),
    ],
)
def test_broken_files_warn(tmp_path: Path, name: str, content: bytes, expected: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    assert expected in assert_unrenderable(render_thumbnail(path), path)


def test_directory_and_missing_file_warn(samples: Path, tmp_path: Path) -> None:
    zarr = samples / "human_D03_3ch.ome.zarr"
    assert assert_unrenderable(render_thumbnail(zarr), zarr) == "not a regular file"
    missing = tmp_path / "missing.tif"
    assert assert_unrenderable(render_thumbnail(missing), missing) == "file not found"


def huge_contiguous_tiff(path: Path) -> None:
    # The data is never written, so the 10 GB file is sparse and appears instantly.
    tifffile.imwrite(path, shape=(100000, 100000), dtype=np.uint8, bigtiff=True)


def huge_tiled_tiff(path: Path) -> None:
    # Writing 150 000 real tiles would take a minute, so patch a small file's header.
    tifffile.imwrite(path, np.zeros((64, 64), np.uint8), tile=(16, 16), bigtiff=True)
    with tifffile.TiffFile(path, mode="r+") as tif:
        tif.pages[0].tags["ImageWidth"].overwrite(100000)
        tif.pages[0].tags["ImageLength"].overwrite(100000)


def huge_png(path: Path) -> None:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 100000, 100000, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 100001 * 4)
    signature = b"\x89PNG\r\n\x1a\n"
    path.write_bytes(
        signature + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("make", [huge_contiguous_tiff, huge_tiled_tiff, huge_png])
def test_huge_header_is_refused_without_decoding(tmp_path: Path, make) -> None:
    path = tmp_path / "huge.img"
    make(path)
    tracemalloc.start()
    try:
        start = time.perf_counter()
        thumb = render_thumbnail(path)
        elapsed = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert assert_unrenderable(thumb, path) == "image too large to preview (100000 × 100000)"
    assert elapsed < 2.0
    assert peak < 200 * 2**20


# --- generated TIFF edge cases -------------------------------------------------------


def ramp(height: int = 120, width: int = 160) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width]
    return (x + y).astype(np.float64) / (height + width - 2)


def test_float_tiff_with_nan_and_inf(tmp_path: Path) -> None:
    data = (ramp() * 1e-3).astype(np.float32)
    data[10:30, 10:30] = np.nan
    data[50, 50] = np.inf
    data[60, 60] = -np.inf
    tifffile.imwrite(tmp_path / "f.tif", data)
    rgb = decode(render_thumbnail(tmp_path / "f.tif"))
    assert (rgb.shape[1], rgb.shape[0]) == (160, 120)  # never enlarged
    assert_spread(rgb)
    assert rgb[15:25, 15:25].max() < 30  # NaN shown as black


@pytest.mark.parametrize("value", [0, 1000, np.nan])
def test_constant_image(tmp_path: Path, value: float) -> None:
    dtype = np.float32 if np.isnan(value) else np.uint16
    tifffile.imwrite(tmp_path / "c.tif", np.full((64, 80), value, dtype=dtype))
    rgb = decode(render_thumbnail(tmp_path / "c.tif"))
    assert rgb.shape == (64, 80, 3)
    assert rgb.std() < 2


def test_big_endian_uint16_and_int8(tmp_path: Path) -> None:
    tifffile.imwrite(tmp_path / "be.tif", (ramp() * 3000 + 100).astype(">u2"), byteorder=">")
    assert_spread(decode(render_thumbnail(tmp_path / "be.tif")))
    tifffile.imwrite(tmp_path / "i8.tif", (ramp() * 100 - 50).astype(np.int8))
    assert_spread(decode(render_thumbnail(tmp_path / "i8.tif")))


def halves(height: int = 100, width: int = 200) -> np.ndarray:
    """Two channels: the first bright on the left, the second bright on the right."""
    data = np.zeros((2, height, width), np.uint16)
    data[0, :, : width // 2] = 4000
    data[1, :, width // 2 :] = 3000
    data += 100
    return data


def test_two_channels_default_green_magenta(tmp_path: Path) -> None:
    tifffile.imwrite(tmp_path / "c2.tif", halves(), imagej=True, metadata={"axes": "CYX"})
    rgb = decode(render_thumbnail(tmp_path / "c2.tif")).astype(int)
    left, right = rgb[50, 20], rgb[50, 180]
    assert left[1] > 200 and left[0] < 60 and left[2] < 60
    assert right[0] > 200 and right[2] > 200 and right[1] < 60


def test_ome_channel_colour_attribute(tmp_path: Path) -> None:
    red, blue = 0xFF0000FF - 2**32, 0x0000FFFF  # signed 32-bit RGBA, as in OME-XML
    tifffile.imwrite(
        tmp_path / "col.ome.tif",
        halves(),
        ome=True,
        metadata={"axes": "CYX", "Channel": {"Name": ["a", "b"], "Color": [red, blue]}},
    )
    rgb = decode(render_thumbnail(tmp_path / "col.ome.tif")).astype(int)
    left, right = rgb[50, 20], rgb[50, 180]
    assert left[0] > 200 and left[1] < 60 and left[2] < 60
    assert right[2] > 200 and right[0] < 60 and right[1] < 60


def test_z_stack_is_max_projected_and_only_first_time_point(tmp_path: Path) -> None:
    data = np.zeros((2, 3, 90, 90), np.uint8)  # TZYX
    for z in range(3):
        data[0, z, 10:30, 10 + 30 * z : 30 + 30 * z] = 200  # one square per Z plane
    data[1] = 255  # the second time point would be all white
    tifffile.imwrite(tmp_path / "tz.ome.tif", data, ome=True, metadata={"axes": "TZYX"})
    values = grey(decode(render_thumbnail(tmp_path / "tz.ome.tif")))
    for z in range(3):
        assert values[20, 20 + 30 * z] > 200
    assert values[70, 45] < 30


def test_rgb_8bit_as_is_and_16bit_stretched(tmp_path: Path) -> None:
    flat = np.zeros((64, 64, 3), np.uint8)
    flat[...] = (200, 60, 30)
    flat[:32] = (30, 60, 200)
    tifffile.imwrite(tmp_path / "rgb8.tif", flat, photometric="rgb")
    rgb = decode(render_thumbnail(tmp_path / "rgb8.tif")).astype(int)
    assert np.abs(rgb[48, 32] - (200, 60, 30)).max() < 12
    assert np.abs(rgb[16, 32] - (30, 60, 200)).max() < 12

    deep = (np.dstack([ramp(), ramp()[::-1], ramp()[:, ::-1]]) * 900 + 50).astype(np.uint16)
    tifffile.imwrite(tmp_path / "rgb16.tif", deep, photometric="rgb")
    assert_spread(decode(render_thumbnail(tmp_path / "rgb16.tif")))


def test_rgba_tiff_over_white(tmp_path: Path) -> None:
    data = np.zeros((40, 40, 4), np.uint8)
    data[:, :20] = (255, 0, 0, 255)  # right half fully transparent
    tifffile.imwrite(tmp_path / "rgba.tif", data, photometric="rgb", extrasamples=[2])
    rgb = decode(render_thumbnail(tmp_path / "rgba.tif")).astype(int)
    assert rgb[20, 5, 0] > 230 and rgb[20, 5, 1] < 30
    assert rgb[20, 35].min() > 230


def test_tiled_multipage_uses_first_page(tmp_path: Path) -> None:
    with tifffile.TiffWriter(tmp_path / "pages.tif") as tif:
        tif.write((ramp(300, 500) * 60000).astype(np.uint16), tile=(64, 64), compression="zlib")
        tif.write(np.zeros((300, 500), np.uint16), tile=(64, 64))
    rgb = decode(render_thumbnail(tmp_path / "pages.tif"))
    assert rgb.shape == (154, 256, 3)
    assert_spread(rgb)


def test_pyramid_reads_smallest_sufficient_level(tmp_path: Path) -> None:
    data = (np.stack([ramp(1024, 1536), ramp(1024, 1536)[::-1]]) * 250).astype(np.uint8)
    with tifffile.TiffWriter(tmp_path / "pyr.ome.tif", bigtiff=True) as tif:
        tif.write(data, subifds=3, tile=(128, 128), metadata={"axes": "CYX"})
        for factor in (2, 4, 8):
            tif.write(data[:, ::factor, ::factor], subfiletype=1, tile=(128, 128))
    # Only the 256 x 384 level (2 x 98 304 values) fits; levels 0 and 1 do not.
    settings = ThumbnailSettings(max_pixels=300_000)
    thumb = render_thumbnail(tmp_path / "pyr.ome.tif", settings)
    assert (thumb.width, thumb.height) == (256, 171)
    assert_spread(decode(thumb))
    too_small = ThumbnailSettings(max_pixels=150_000)
    assert render_thumbnail(tmp_path / "pyr.ome.tif", too_small).warning == (
        "image too large to preview (384 × 256)"
    )


# --- generated PNG and JPEG ----------------------------------------------------------


def photo(height: int = 300, width: int = 400) -> Image.Image:
    gradient = ramp(height, width)
    base = np.dstack([gradient, gradient[::-1], gradient[:, ::-1]])
    noise = np.random.default_rng(7).normal(0, 0.05, base.shape)
    return Image.fromarray((np.clip(base + noise, 0, 1) * 255).astype(np.uint8))


def test_rgba_png_is_flattened_over_white(tmp_path: Path) -> None:
    image = photo().convert("RGBA")
    alpha = np.full((300, 400), 255, np.uint8)
    alpha[:, 200:] = 0
    image.putalpha(Image.fromarray(alpha))
    image.save(tmp_path / "a.png")
    rgb = decode(render_thumbnail(tmp_path / "a.png"))
    assert rgb.shape == (192, 256, 3)
    assert rgb[:, 140:].min() > 235
    assert rgb[:, :110].std() > 10


def test_16bit_png_is_stretched(tmp_path: Path) -> None:
    Image.fromarray((ramp(300, 400) * 3000 + 200).astype(np.uint16)).save(tmp_path / "g.png")
    with Image.open(tmp_path / "g.png") as image:
        assert image.mode.startswith("I")
    rgb = decode(render_thumbnail(tmp_path / "g.png"))
    assert_spread(rgb)
    assert grey(rgb).max() > 240


def test_palette_and_grey_png(tmp_path: Path) -> None:
    photo().convert("P", palette=Image.Palette.ADAPTIVE).save(tmp_path / "p.png")
    assert_spread(decode(render_thumbnail(tmp_path / "p.png")))
    photo().convert("L").save(tmp_path / "l.png")
    assert_spread(decode(render_thumbnail(tmp_path / "l.png")))


def test_jpeg(tmp_path: Path) -> None:
    photo(1200, 1600).save(tmp_path / "p.jpg", quality=90)
    thumb = render_thumbnail(tmp_path / "p.jpg")
    assert (thumb.width, thumb.height) == (256, 192)
    assert_spread(decode(thumb))


def test_content_decides_format_not_extension(tmp_path: Path) -> None:
    photo().save(tmp_path / "real.png")
    (tmp_path / "fake.jpg").write_bytes((tmp_path / "real.png").read_bytes())
    (tmp_path / "fake.tif").write_bytes((tmp_path / "real.png").read_bytes())
    expected = render_thumbnail(tmp_path / "real.png")
    assert expected.webp is not None
    assert render_thumbnail(tmp_path / "fake.jpg") == expected
    assert render_thumbnail(tmp_path / "fake.tif") == expected


# --- determinism, placeholder, settings ----------------------------------------------


def test_renders_are_byte_identical(samples: Path) -> None:
    for name in ("worm_fitc_16bit.tif", "multi-channel-z-series.ome.tif"):
        assert render_thumbnail(samples / name) == render_thumbnail(samples / name)


def test_renders_are_byte_identical_across_processes(samples: Path) -> None:
    path = samples / "CMU-1-Small-Region.svs"
    code = (
        "import hashlib, sys; from pathlib import Path;"
        "from catalogue.imaging import render_thumbnail;"
        "print(hashlib.sha256(render_thumbnail(Path(sys.argv[1])).webp).hexdigest())"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    webp = render_thumbnail(path).webp
    assert webp is not None
    assert result.stdout.strip() == hashlib.sha256(webp).hexdigest()


def test_placeholder_is_grey_square_and_deterministic() -> None:
    settings = ThumbnailSettings(max_size=200)
    webp = placeholder_webp("CZI", settings)
    assert webp == placeholder_webp("CZI", settings)
    assert webp != placeholder_webp("no preview", settings)
    with Image.open(io.BytesIO(webp)) as image:
        assert image.format == "WEBP"
        assert image.size == (200, 200)
        rgb = np.asarray(image.convert("RGB")).astype(int)
    assert np.abs(rgb - rgb[..., :1]).max() < 12  # neutral grey
    assert rgb.min() < 130 < rgb.max()  # with visible text
    assert placeholder_webp("", settings)  # empty label still gives an image
    assert placeholder_webp("Übersicht – ß", settings)  # non-ASCII does not break it


def test_settings_key() -> None:
    default = ThumbnailSettings()
    assert default.key() == ThumbnailSettings().key()
    assert THUMBNAILER_VERSION in default.key()
    variants = [
        ThumbnailSettings(max_size=128),
        ThumbnailSettings(quality=90),
        ThumbnailSettings(low_percentile=1.0),
        ThumbnailSettings(high_percentile=99.0),
        ThumbnailSettings(max_pixels=10**6),
    ]
    keys = {default.key(), *(variant.key() for variant in variants)}
    assert len(keys) == len(variants) + 1
    with pytest.raises(ValueError):
        ThumbnailSettings(low_percentile=60, high_percentile=40)
    with pytest.raises(ValueError):
        ThumbnailSettings(max_size=0)
