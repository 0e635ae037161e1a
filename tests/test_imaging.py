"""Thumbnails of real sample files and of generated edge cases, decoded and measured."""

import datetime as dt
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

from catalogue.imaging.thumbnail import (
    THUMBNAILER_VERSION,
    Thumbnail,
    ThumbnailSettings,
    placeholder_webp,
    render_thumbnail,
    site_thumbnail,
    thumbnail_candidate,
)

from .ngff import pyramid, two_halves, write_container, write_image

SAMPLES = Path(__file__).resolve().parent / "data" / "images"
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
        ("human_D03_3ch.ome.zarr", (256, 256)),
        ("human_plate.ome.zarr", (256, 256)),
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
        ("x.czi", b"ZISRAW" + bytes(100), "not a valid CZI file"),
        ("x.dm4", b"\x00\x00\x00\x09" + bytes(100), "not a valid DM4 file"),
        ("x.zarr", b"{}", "unrecognised file format"),
        ("cut.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "cannot read PNG"),
        ("cut.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF", "cannot read JPEG"),
        ("bad.tif", b"II*\x00\xff\xff\xff\x7f" + bytes(64), "cannot read TIFF"),
    ],
)
def test_broken_files_warn(tmp_path: Path, name: str, content: bytes, expected: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    assert expected in assert_unrenderable(render_thumbnail(path), path)


def test_directory_and_missing_file_warn(tmp_path: Path) -> None:
    folder = tmp_path / "images"
    folder.mkdir()
    assert assert_unrenderable(render_thumbnail(folder), folder) == "not a regular file"
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
        "from catalogue.imaging.thumbnail import render_thumbnail;"
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
        ThumbnailSettings(max_held_bytes=10**6),
    ]
    keys = {default.key(), *(variant.key() for variant in variants)}
    assert len(keys) == len(variants) + 1
    with pytest.raises(ValueError):
        ThumbnailSettings(low_percentile=60, high_percentile=40)
    with pytest.raises(ValueError):
        ThumbnailSettings(max_size=0)


# --- OME-Zarr ------------------------------------------------------------------------


def colour_at(rgb: np.ndarray, y: int, x: int) -> np.ndarray:
    return rgb[y, x].astype(int)


def test_zarr_sample_uses_omero_colours_and_a_reduced_level(samples: Path) -> None:
    import zarr

    # omero colours: d0 blue, d1 green, d2 red; level 1 (256 x 256) is the one read.
    rgb = decode(render_thumbnail(samples / "human_D03_3ch.ome.zarr"))
    assert_spread(rgb)
    level = zarr.open_array(str(samples / "human_D03_3ch.ome.zarr" / "1"), mode="r")[:]
    for channel, colour in ((0, 2), (1, 1), (2, 0)):
        match = np.corrcoef(level[channel].ravel(), rgb[..., colour].ravel())[0, 1]
        assert match > 0.8, (channel, colour, match)
    # The plate's single field holds the same pixels: the same picture.
    plate = decode(render_thumbnail(samples / "human_plate.ome.zarr"))
    assert np.abs(plate.astype(int) - rgb.astype(int)).max() == 0


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_zarr_versions_and_channel_colours(tmp_path: Path, version: str) -> None:
    root = write_image(
        tmp_path / "img.ome.zarr",
        pyramid(two_halves(600, 800), 3),
        version=version,
        colours=["FF0000", "0000FF"],
        shards=version == "0.5",
    )
    thumb = render_thumbnail(root)
    rgb = decode(thumb)
    assert (thumb.width, thumb.height) == (256, 192)
    left, right = colour_at(rgb, 96, 30), colour_at(rgb, 96, 226)
    assert left[0] > 200 and left[1] < 60 and left[2] < 60
    assert right[2] > 200 and right[0] < 60 and right[1] < 60


def test_zarr_inactive_channels_are_hidden(tmp_path: Path) -> None:
    root = write_image(
        tmp_path / "img.zarr",
        [two_halves()],
        colours=["FF0000", "0000FF"],
        active=[False, True],
    )
    rgb = decode(render_thumbnail(root))
    assert colour_at(rgb, 48, 10).max() < 40  # only the red channel is bright there
    assert colour_at(rgb, 48, 120)[2] > 200


def test_zarr_reads_the_lowest_sufficient_level_only(tmp_path: Path) -> None:
    data = two_halves(1024, 1024, np.uint8)
    root = write_image(tmp_path / "img.zarr", pyramid(data, 4), colours=["00FF00", "FF00FF"])
    expected = render_thumbnail(root)
    # Break every chunk of level 0 and level 1: level 2 (256 x 256) is all that is read.
    for level in ("0", "1"):
        for chunk in (root / level).rglob("*"):
            if chunk.is_file() and not chunk.name.startswith("."):
                chunk.write_bytes(b"garbage")
    assert render_thumbnail(root) == expected
    assert decode(expected).shape == (256, 256, 3)


def test_zarr_z_stack_is_max_projected_at_the_first_time_point(tmp_path: Path) -> None:
    data = np.zeros((2, 3, 90, 90), np.uint8)  # t z y x
    for z in range(3):
        data[0, z, 10:30, 10 + 30 * z : 30 + 30 * z] = 200
    data[1] = 255
    root = write_image(tmp_path / "tz.zarr", [data], "tzyx")
    values = grey(decode(render_thumbnail(root)))
    for z in range(3):
        assert values[20, 20 + 30 * z] > 200
    assert values[70, 45] < 30


def test_zarr_container_shows_its_first_series(tmp_path: Path) -> None:
    first = two_halves(200, 300, np.uint8)
    second = np.zeros((2, 50, 50), np.uint8)
    root = write_container(tmp_path / "c.zarr", [[first], [second]])
    thumb = render_thumbnail(root)
    assert (thumb.width, thumb.height) == (256, 171)
    assert_spread(decode(thumb))


def test_zarr_large_level_is_reduced_in_bands_with_bounded_memory(tmp_path: Path) -> None:
    # One 4096 x 4096 level, no pyramid: reduced band by band while read.
    y, x = np.mgrid[0:4096, 0:4096]
    data = ((x // 512 + y // 512) % 2 * 3000 + 100).astype(np.uint16)[None]
    root = write_image(tmp_path / "big.zarr", [data], chunks=512)
    tracemalloc.start()
    try:
        thumb = render_thumbnail(root)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    rgb = decode(thumb)
    assert rgb.shape == (256, 256, 3)
    assert grey(rgb)[16, 16] < 40 and grey(rgb)[16, 48] > 200  # the checkerboard survives
    assert peak < 24 * 2**20  # the level is 32 MiB; a band is 4 MiB


def test_zarr_huge_header_is_refused_without_reading(tmp_path: Path) -> None:
    import zarr

    root = tmp_path / "huge.zarr"
    group = zarr.open_group(str(root), mode="w", zarr_format=2)
    group.create_array("0", shape=(100000, 100000), chunks=(1024, 1024), dtype="uint16")
    group.attrs["multiscales"] = [
        {"version": "0.4", "axes": [{"name": "y"}, {"name": "x"}], "datasets": [{"path": "0"}]}
    ]
    start = time.perf_counter()
    thumb = render_thumbnail(root)
    assert time.perf_counter() - start < 2
    assert assert_unrenderable(thumb, root) == "image too large to preview (100000 × 100000)"
    (root / "0" / ".zarray").write_text(
        (root / "0" / ".zarray").read_text().replace("1024", "100000")
    )
    group.attrs["multiscales"] = group.attrs["multiscales"]
    small = ThumbnailSettings(max_pixels=10**11)
    assert "chunks too large" in assert_unrenderable(render_thumbnail(root, small), root)


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        ("zattrs", "invalid OME-Zarr metadata (.zattrs"),
        ("chunk", "cannot read OME-Zarr"),
        ("empty", "not an OME-Zarr"),
        ("nomultiscales", "OME-Zarr unknown holds no image"),
        ("level", "invalid OME-Zarr metadata (.zarray"),
    ],
)
def test_broken_zarr_warns(tmp_path: Path, damage: str, expected: str) -> None:
    root = write_image(tmp_path / "bad.ome.zarr", [two_halves()])
    if damage == "zattrs":
        (root / ".zattrs").write_text("{not json")
    elif damage == "chunk":
        for chunk in (root / "0").rglob("*"):
            if chunk.is_file() and not chunk.name.startswith("."):
                chunk.write_bytes(b"\x02\x01" + bytes(20))
    elif damage == "empty":
        for meta in (".zattrs", ".zgroup"):
            (root / meta).unlink()
    elif damage == "nomultiscales":
        (root / ".zattrs").write_text("{}")
    elif damage == "level":
        (root / "0" / ".zarray").unlink()
    warning = assert_unrenderable(render_thumbnail(root), root)
    assert expected in warning


# --- pyramids, reduction paths, memory -----------------------------------------------


def test_pyramid_never_decodes_the_full_resolution(tmp_path: Path) -> None:
    data = (np.stack([ramp(2048, 2048), ramp(2048, 2048)[::-1]]) * 250).astype(np.uint8)
    path = tmp_path / "pyr.ome.tif"
    with tifffile.TiffWriter(path, bigtiff=True) as tif:
        tif.write(data, subifds=3, tile=(256, 256), compression="zlib", metadata={"axes": "CYX"})
        for factor in (2, 4, 8):
            tif.write(
                data[:, ::factor, ::factor], subfiletype=1, tile=(128, 128), compression="zlib"
            )
    expected = render_thumbnail(path)
    with tifffile.TiffFile(path) as tif:
        page = tif.series[0].levels[0].pages[0]
        offsets, counts = page.dataoffsets, page.databytecounts
    with path.open("r+b") as handle:  # corrupt every tile of the full resolution
        for offset, count in zip(offsets, counts, strict=True):
            handle.seek(offset)
            handle.write(b"\xff" * count)
    assert render_thumbnail(path) == expected
    assert decode(expected).shape == (256, 256, 3)


def checker(height: int, width: int) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width]
    return ((x // 37 + y // 53) % 2 * 2500 + (x + y) % 700).astype(np.uint16)


@pytest.mark.parametrize(
    "write",
    [
        lambda p, d: tifffile.imwrite(p, d),  # contiguous: memory-mapped
        lambda p, d: tifffile.imwrite(p, d, compression="zlib", rowsperstrip=37),
        lambda p, d: tifffile.imwrite(p, d, tile=(96, 80), compression="zlib"),
        lambda p, d: tifffile.imwrite(p, d.astype(">u2"), byteorder=">"),
    ],
    ids=["memmap", "strips", "tiles", "big-endian"],
)
def test_every_read_path_gives_the_same_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, write
) -> None:
    from catalogue.imaging import tiff as imaging_tiff

    data = checker(1000, 1300)
    reference = tmp_path / "ref.tif"
    tifffile.imwrite(reference, data, compression="zlib")  # decoded whole, then reduced
    expected = render_thumbnail(reference)
    path = tmp_path / "x.tif"
    write(path, data)
    assert render_thumbnail(path) == expected
    monkeypatch.setattr(imaging_tiff, "FULL_DECODE_BYTES", 0)  # strip/tile-wise
    assert render_thumbnail(path) == expected
    assert render_thumbnail(reference) == expected


def test_large_tiled_image_is_reduced_tile_by_tile_in_bounded_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from catalogue.imaging import tiff as imaging_tiff

    path = tmp_path / "big.tif"
    tifffile.imwrite(path, checker(4096, 4096), tile=(256, 256), compression="zlib")
    monkeypatch.setattr(imaging_tiff, "FULL_DECODE_BYTES", 4 * 2**20)
    tracemalloc.start()
    try:
        thumb = render_thumbnail(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert_spread(decode(thumb))
    assert peak < 12 * 2**20  # the image is 32 MiB; one band of tiles is 2 MiB


def test_held_bytes_bound_refuses_a_single_huge_strip(tmp_path: Path) -> None:
    path = tmp_path / "strip.tif"
    tifffile.imwrite(path, checker(2000, 2000), compression="zlib", rowsperstrip=2000)
    small = ThumbnailSettings(max_held_bytes=2**20)
    assert render_thumbnail(path, small).warning == "image too large to preview (2000 × 2000)"


def test_z_stack_beyond_the_budget_shows_the_middle_plane(tmp_path: Path) -> None:
    data = np.zeros((5, 64, 64), np.uint8)
    data[2, 20:40, 20:40] = 200  # only the middle plane has the square
    data[0, :, :10] = 255
    tifffile.imwrite(tmp_path / "z.ome.tif", data, ome=True, metadata={"axes": "ZYX"})
    projected = grey(decode(render_thumbnail(tmp_path / "z.ome.tif")))
    assert projected[30, 30] > 150 and projected[30, 5] > 150
    middle = grey(
        decode(render_thumbnail(tmp_path / "z.ome.tif", ThumbnailSettings(max_pixels=64 * 64)))
    )
    assert middle[30, 30] > 150 and middle[30, 5] < 30


# --- badges and what the site publishes ----------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "badge"),
    [
        ("a.ims", b"\x89HDF\r\n\x1a\n" + bytes(100), "Imaris"),
        ("a.h5", b"\x89HDF\r\n\x1a\n" + bytes(100), "HDF5"),
        ("a.dm4", b"\x00\x00\x00\x04" + bytes(100), "DM4"),
        ("a.jp2", b"\x00\x00\x00\x0cjP  \r\n\x87\n" + bytes(100), "JPEG 2000"),
    ],
)
def test_known_formats_without_reader_get_a_badge(
    tmp_path: Path, name: str, content: bytes, badge: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    thumb = render_thumbnail(path)
    assert thumb == Thumbnail(None, 0, 0, None, badge=badge)
    published = site_thumbnail(path)
    assert published.warning is None
    assert published.info == {"ok": False, "width": 256, "height": 256, "badge": badge}
    assert published.webp == placeholder_webp(badge)


@pytest.mark.parametrize(
    ("name", "content", "kind"),
    [
        ("a.czi", b"ZISRAWFILE" + bytes(100), "CZI"),
        ("a.tif", b"ZISRAWFILE" + bytes(100), "CZI"),  # the bytes decide, not the name
        ("a.lif", b"\x70\x00\x00\x00\x10\x00\x00\x00\x2a" + bytes(100), "LIF"),
        ("a.nd2", b"\xda\xce\xbe\x0a" + bytes(100), "ND2"),
        ("a.mrc", bytes(1024), "MRC"),
    ],
    ids=["czi", "czi-named-tif", "lif", "nd2", "mrc"],
)
def test_formats_with_a_reader_warn_on_garbage(
    tmp_path: Path, name: str, content: bytes, kind: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    published = site_thumbnail(path)
    assert published.webp == placeholder_webp("no preview")
    assert published.warning and kind in published.warning


def test_site_thumbnail_of_a_broken_file_is_a_placeholder_with_a_warning(samples: Path) -> None:
    published = site_thumbnail(samples / "truncated.tif")
    assert published.webp == placeholder_webp("no preview")
    assert published.info == {"ok": False, "width": 256, "height": 256}
    assert published.warning and "invalid offset" in published.warning


def test_gif_and_bmp(tmp_path: Path) -> None:
    photo().save(tmp_path / "p.gif")
    photo().save(tmp_path / "p.bmp")
    for name in ("p.gif", "p.bmp"):
        thumb = render_thumbnail(tmp_path / name)
        assert (thumb.width, thumb.height) == (256, 192)
        assert_spread(decode(thumb))


def test_thumbnail_candidate_names() -> None:
    for name in ("a.tif", "b/c.OME.TIFF", "x.ome.zarr", "x.ome.zarr/", "s.svs", "d.czi"):
        assert thumbnail_candidate(name), name
    for name in ("a.csv", "README", "x.ome.zarr/0/.zarray", "t.json"):
        assert not thumbnail_candidate(name), name


# --- thumbnail steps (planning, identity, per-file thumbnails) -------------------------


def test_zarr_identity_covers_metadata_and_the_level_read(tmp_path: Path) -> None:
    from catalogue.steps.thumbnails import zarr_sha256

    root = write_image(tmp_path / "img.zarr", pyramid(two_halves(1024, 1024), 3))
    cache: dict = {}
    first = zarr_sha256(root, "img.zarr", cache)
    assert zarr_sha256(root, "img.zarr", {}) == first  # content, not the cache
    # A chunk of level 0 (never read: level 2 is 256 x 256) does not count ...
    chunk0 = next(p for p in (root / "0").rglob("*") if p.is_file() and p.name[0] != ".")
    chunk0.write_bytes(chunk0.read_bytes()[::-1])
    assert zarr_sha256(root, "img.zarr", {}) == first
    # ... a chunk of level 2 does, and so does the metadata.
    chunk2 = next(p for p in (root / "2").rglob("*") if p.is_file() and p.name[0] != ".")
    original = chunk2.read_bytes()
    chunk2.write_bytes(original + b"x")
    second = zarr_sha256(root, "img.zarr", cache)
    assert second != first
    chunk2.write_bytes(original)
    (root / ".zattrs").write_text((root / ".zattrs").read_text().replace("img.zarr", "other"))
    assert zarr_sha256(root, "img.zarr", {}) not in (first, second)


def test_zarr_identity_is_cached_by_file_statistics(tmp_path: Path) -> None:
    from catalogue.steps.thumbnails import zarr_sha256

    root = write_image(tmp_path / "img.zarr", [two_halves()])
    cache: dict = {}
    zarr_sha256(root, "img.zarr", cache)
    cache["img.zarr"][2] = "f" * 64  # pretend: the cached value is returned as is
    assert zarr_sha256(root, "img.zarr", cache) == "f" * 64


def test_file_thumbnail_steps_and_resolve_thumbs(tmp_path: Path, samples: Path) -> None:
    import shutil

    from catalogue.pipeline.state import StepRecord
    from catalogue.readers.tree import load
    from catalogue.steps.thumbnails import file_thumbnail_steps, resolve_thumbs

    content = tmp_path / "content"
    shutil.copytree(ROOT / "tests" / "roots" / "minimal" / "content", content)
    data = content / "data" / "S-BIAD1"
    shutil.copy(samples / "multi-channel-z-series.ome.tif", data / "ome.tif")
    shutil.copytree(samples / "human_plate.ome.zarr", data / "plate.ome.zarr")
    shutil.copy(data / "worm.tif", data / "copy.tif")
    (data / "notes.csv").write_text("a,b\n")
    catalogue, problems = load(content, dt.date(2026, 1, 1))
    assert catalogue is not None, problems
    pairs = [
        ("S-BIAD1", "worm.tif"),
        ("S-BIAD1", "copy.tif"),  # same bytes: same step
        ("S-BIAD1", "ome.tif"),
        ("S-BIAD1", "plate.ome.zarr"),
        ("S-BIAD1", "notes.csv"),  # not an image
        ("S-BIAD1", "missing.tif"),  # no local copy
        ("S-BIAD1", "../S-BIAD2/x.tif"),  # unsafe
        ("S-BIAD2", "worm.tif"),  # embargoed study: never
    ]
    steps, used = file_thumbnail_steps(catalogue, content, {}, pairs)
    assert set(used) == {
        ("S-BIAD1", "worm.tif"),
        ("S-BIAD1", "copy.tif"),
        ("S-BIAD1", "ome.tif"),
        ("S-BIAD1", "plate.ome.zarr"),
    }
    assert used[("S-BIAD1", "worm.tif")] == used[("S-BIAD1", "copy.tif")]
    records = {}
    for step in {s.id: s for s in steps}.values():
        result = step.make()
        assert not result.warnings
        records[step.id] = StepRecord(step.digest, list(step.outputs), [], dict(result.info))
    thumbs = resolve_thumbs(used, records, "/archive")
    plate = thumbs[("S-BIAD1", "plate.ome.zarr")]
    assert plate.ok and (plate.width, plate.height) == (256, 256)
    assert plate.url.startswith("/archive/thumbnails/") and plate.url.endswith(".webp")
    assert resolve_thumbs({("x", "y"): "thumbnail:none"}, records, "") == {}


def test_multipage_and_planar_pages_read_alike_on_every_path(tmp_path: Path) -> None:
    # OME pages after the first are TiffFrames; planar RGB has one plane per sample.
    stack = np.stack([checker(700, 900), checker(700, 900)[::-1]])[:, None].repeat(3, axis=1)
    stack[:, 1] //= 2  # the Z planes differ
    plain, packed = tmp_path / "plain.ome.tif", tmp_path / "packed.ome.tif"
    tifffile.imwrite(plain, stack, ome=True, metadata={"axes": "CZYX"})
    tifffile.imwrite(packed, stack, ome=True, metadata={"axes": "CZYX"}, compression="zlib")
    assert render_thumbnail(plain) == render_thumbnail(packed)
    assert_spread(decode(render_thumbnail(plain)))
    rgb = np.stack([checker(700, 900), checker(700, 900)[::-1], checker(900, 700).T])
    separate, contig = tmp_path / "sep.tif", tmp_path / "contig.tif"
    tifffile.imwrite(separate, rgb, photometric="rgb", planarconfig="separate")
    tifffile.imwrite(contig, np.moveaxis(rgb, 0, -1), photometric="rgb", compression="zlib")
    assert render_thumbnail(separate) == render_thumbnail(contig)
