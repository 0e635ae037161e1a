"""Thumbnails of microscopy images (TIFF, OME-TIFF, SVS) and plain images (PNG, JPEG).

Scientific images rarely look like anything when shown naively: 16-bit data occupies a
small part of its range, channels are stored separately, volumes have many planes and
slides have billions of pixels. This module turns one file into one small WebP that a
person can recognise, and it never lets a bad file break the build: every failure
becomes a ``Thumbnail`` with ``webp=None`` and a short warning.

Output is byte-for-byte reproducible for a given input, settings and library stack, so
that the build can cache thumbnails and a rebuild does not churn the published site.
"""

import contextlib
import io
import itertools
import logging
import math
import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import tifffile
from PIL import Image, ImageDraw, ImageFont, ImageOps, JpegImagePlugin, PngImagePlugin

THUMBNAILER_VERSION = "1"

Colour = tuple[int, int, int]

_GREY: Colour = (255, 255, 255)
_PALETTES: dict[int, list[Colour]] = {
    1: [_GREY],
    2: [(0, 255, 0), (255, 0, 255)],
    3: [(255, 0, 0), (0, 255, 0), (0, 0, 255)],
}
_CYCLE: list[Colour] = [
    (0, 0, 255),
    (0, 255, 0),
    (255, 0, 0),
    (0, 255, 255),
    (255, 0, 255),
    (255, 255, 0),
]
_MAX_CHANNELS = 7  # beyond this the C axis is more likely spectral than stains: show one
_SAMPLE_VALUES = 1 << 20  # enough values for stable percentiles, few enough to be fast
_CHUNK_VALUES = 1 << 22  # bounds the float64 temporaries of the stretch
_BACKGROUND = (255, 255, 255, 255)  # transparent pixels become white, like on paper

_MAGIC: list[tuple[bytes, str]] = [
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"II+\x00", "TIFF"),
    (b"MM\x00+", "TIFF"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
]
# Recognised only to give a better warning than "unrecognised file format".
_UNSUPPORTED_MAGIC: list[tuple[bytes, str]] = [
    (b"ZISRAWFILE", "CZI"),
    (b"\x89HDF\r\n\x1a\n", "HDF5"),
    (b"\xda\xce\xbe\x0a", "ND2"),
    (b"\x00\x00\x00\x0cjP  ", "JPEG 2000"),
    (b"PK\x03\x04", "ZIP"),
    (b"GIF8", "GIF"),
    (b"BM", "BMP"),
]


@dataclass(frozen=True)
class ThumbnailSettings:
    max_size: int = 256
    quality: int = 80
    low_percentile: float = 0.5
    high_percentile: float = 99.5
    # Bound on the values held in memory for the chosen pyramid level (pixels times
    # channels). 400 million 8-bit values are a slide-sized plane; beyond that a
    # thumbnail is not worth the memory, and the check needs only the header.
    max_pixels: int = 400_000_000

    def __post_init__(self) -> None:
        if self.max_size < 1 or self.max_pixels < 1:
            raise ValueError("max_size and max_pixels must be positive")
        if not 0 <= self.quality <= 100:
            raise ValueError("quality must be within 0..100")
        if not 0 <= self.low_percentile < self.high_percentile <= 100:
            raise ValueError("percentiles must satisfy 0 <= low < high <= 100")

    def key(self) -> str:
        """Cache key: changes whenever the bytes of a thumbnail could change."""
        return (
            f"thumbnailer={THUMBNAILER_VERSION};max_size={self.max_size};"
            f"quality={self.quality};low={self.low_percentile!r};"
            f"high={self.high_percentile!r};max_pixels={self.max_pixels}"
        )


@dataclass(frozen=True)
class Thumbnail:
    webp: bytes | None
    width: int
    height: int
    warning: str | None


class _Unrenderable(Exception):
    """A problem whose message is already the warning to show."""


class _LogCapture(logging.Filter):
    """Diverts tifffile log records into the warning of the thumbnail being rendered.

    A filter on the logger (rather than swapping handlers) keeps other threads' and
    other callers' tifffile logging untouched.
    """

    def __init__(self) -> None:
        super().__init__()
        self._local = threading.local()

    def filter(self, record: logging.LogRecord) -> bool:
        messages: list[str] | None = getattr(self._local, "messages", None)
        if messages is None:
            return True
        messages.append(record.getMessage())
        return False

    @contextlib.contextmanager
    def capture(self) -> Iterator[list[str]]:
        previous = getattr(self._local, "messages", None)
        self._local.messages = messages = []
        try:
            yield messages
        finally:
            self._local.messages = previous


_TIFFFILE_LOG = _LogCapture()
logging.getLogger("tifffile").addFilter(_TIFFFILE_LOG)


def render_thumbnail(path: Path, settings: ThumbnailSettings = ThumbnailSettings()) -> Thumbnail:
    """Render ``path`` as a WebP thumbnail; problems become a warning, never an exception."""
    path = Path(path)
    kind = "file"
    log: list[str] = []
    try:
        kind = _sniff(path)
        with _TIFFFILE_LOG.capture() as log, np.errstate(all="ignore"):
            image = (
                _render_tiff(path, settings)
                if kind == "TIFF"
                else _render_pillow(path, kind, settings)
            )
        return Thumbnail(_encode_webp(image, settings), image.width, image.height, None)
    except _Unrenderable as exc:
        warning = str(exc)
    except MemoryError:
        warning = "not enough memory to render a preview"
    except Exception as exc:
        warning = f"cannot read {kind}: {_reason(exc, log, path)}"
    return Thumbnail(None, 0, 0, warning)


def placeholder_webp(label: str, settings: ThumbnailSettings = ThumbnailSettings()) -> bytes:
    """A neutral grey square with a short label, for files without a preview.

    Pillow's built-in bitmap font is drawn small and enlarged with nearest-neighbour,
    so the bytes do not depend on the FreeType version installed.
    """
    size = settings.max_size
    text = label.strip()[:24].encode("latin-1", "replace").decode("latin-1") or "no preview"
    font = ImageFont.load_default_imagefont()
    left, top, right, bottom = ImageDraw.Draw(Image.new("L", (1, 1))).textbbox(
        (0, 0), text, font=font
    )
    text_w, text_h = right - left, bottom - top
    scale = max(1, min(int(size * 0.8) // max(text_w, 1), size // 4 // max(text_h, 1)))
    small_size = -(-size // scale)
    small = Image.new("RGB", (small_size, small_size), (200, 200, 200))
    origin = ((small_size - text_w) // 2 - left, (small_size - text_h) // 2 - top)
    ImageDraw.Draw(small).text(origin, text, fill=(90, 90, 90), font=font)
    image = small.resize((small_size * scale,) * 2, Image.Resampling.NEAREST)
    return _encode_webp(image.crop((0, 0, size, size)), settings)


# --- format detection and error text -------------------------------------------------


def _sniff(path: Path) -> str:
    """Trust the bytes, not the extension: archives contain mislabelled files."""
    if not path.is_file():
        raise _Unrenderable("not a regular file" if path.exists() else "file not found")
    with path.open("rb") as handle:
        head = handle.read(16)
    if not head:
        raise _Unrenderable("empty file")
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    for magic, kind in _UNSUPPORTED_MAGIC:
        if head.startswith(magic):
            raise _Unrenderable(f"unsupported format ({kind})")
    raise _Unrenderable("unrecognised file format")


def _reason(exc: Exception, log: Sequence[str], path: Path) -> str:
    """One line saying what went wrong, without the path (the caller adds it)."""
    if isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror
    else:
        text = str(exc) or type(exc).__name__
    parts = [re.sub(r"^<tifffile[^>]*>\s*", "", line) for line in log[:2]] + [text]
    message = "; ".join(dict.fromkeys(part.strip() for part in parts if part.strip()))
    for name in filter(None, (str(path), path.name)):
        message = message.replace(name, "the file")
    return message if len(message) <= 200 else message[:197] + "..."


# --- TIFF ----------------------------------------------------------------------------


def _render_tiff(path: Path, settings: ThumbnailSettings) -> Image.Image:
    with tifffile.TiffFile(path) as tif:
        if not tif.series:
            raise ValueError("no image found")  # tifffile's log usually says why
        series = tif.series[0]
        level_index, level = _pick_level(series, settings.max_size)
        sizes = _sizes(level)
        height, width = sizes.get("Y", 0), sizes.get("X", 0)
        if height * width == 0:
            raise _Unrenderable("TIFF has no 2-D image plane")
        photometric = level.keyframe.photometric
        samples = sizes.get("S", 1)
        rgb = samples in (3, 4) and photometric in (
            tifffile.PHOTOMETRIC.RGB,
            tifffile.PHOTOMETRIC.YCBCR,
        )
        channel_axis = None
        if not rgb and sizes.get("C", 1) > 1:
            channel_axis = "C"
        elif not rgb and samples > 1:
            channel_axis = "S"
        channels = sizes[channel_axis] if channel_axis else 1
        used = channels if channels <= _MAX_CHANNELS else 1

        leading = _leading_axes(level.get_shape(False), level.keyframe.size, len(level.pages))
        # One decoded page plus one projection plane per channel, or the whole level.
        held = max(level.keyframe.size, height * width * max(used, samples))
        if leading is None:
            held = level.size
        if held > settings.max_pixels:
            raise _Unrenderable(f"image too large to preview ({width} × {height})")

        planes = _read_planes(tif, level_index, level, leading, channel_axis, used, rgb)
        target = _fit(width, height, settings.max_size)
        if rgb:
            return _colour_image(planes[0], target, settings)
        colours = _ome_colours(tif, channels) if used > 1 else None
        colours = colours or _palette(used)
        image = _composite(planes, colours, target, settings)
        if used == 1 and photometric == tifffile.PHOTOMETRIC.MINISWHITE:
            image = ImageOps.invert(image)
        return image


def _sizes(level: tifffile.TiffPageSeries) -> dict[str, int]:
    """Axis sizes, unsqueezed: ``S`` and ``C`` are present even when 1."""
    return dict(zip(level.get_axes(False), level.get_shape(False), strict=True))


def _pick_level(
    series: tifffile.TiffPageSeries, max_size: int
) -> tuple[int, tifffile.TiffPageSeries]:
    """The smallest pyramid level still at least as large as the thumbnail."""
    levels = list(series.levels) or [series]
    for index in range(len(levels) - 1, -1, -1):
        sizes = _sizes(levels[index])
        if max(sizes.get("Y", 0), sizes.get("X", 0)) >= max_size:
            return index, levels[index]
    return 0, levels[0]


def _leading_axes(shape: Sequence[int], page_size: int, pages: int) -> int | None:
    """How many leading axes index pages (the rest lie inside each page), if that is clear.

    Knowing this lets us decode only the pages a thumbnail needs (first time point,
    the channels, the Z planes) one at a time, instead of the whole series.
    """
    inner = 1
    for count in range(len(shape) - 1, -1, -1):
        inner *= shape[count]
        if inner == page_size:
            return count if math.prod(shape[:count]) == pages else None
    return None


def _read_planes(
    tif: tifffile.TiffFile,
    level_index: int,
    level: tifffile.TiffPageSeries,
    leading: int | None,
    channel_axis: str | None,
    used: int,
    rgb: bool,
) -> list[np.ndarray]:
    """Per channel, the maximum intensity projection over Z of the first time point.

    Pages are decoded one at a time and folded into the projection, so memory holds one
    page plus one plane per channel. For RGB data the single plane keeps its sample axis
    last and Z is not projected: a maximum projection of a brightfield stack washes out.
    """
    axes = level.get_axes(False)
    shape = level.get_shape(False)
    if leading is None:  # page layout unclear: decode the whole level (size was checked)
        leading = 0
        pages: Iterator[tuple[tuple[int, ...], np.ndarray]] = iter(
            [((), level.asarray(maxworkers=1).reshape(shape))]
        )
    else:
        pages = _iter_pages(tif, level_index, level, leading, channel_axis, used, rgb)
    lead_axes, page_axes = axes[:leading], axes[leading:]
    projected: dict[int, np.ndarray] = {}
    for index, page in pages:
        lead_channel = 0
        if channel_axis and channel_axis in lead_axes:
            lead_channel = index[lead_axes.index(channel_axis)]
        for channel, plane in _page_planes(page, page_axes, channel_axis, used, rgb):
            key = lead_channel + channel
            if key in projected:
                np.fmax(projected[key], plane, out=projected[key])
            else:
                projected[key] = plane
    return [projected[key] for key in sorted(projected)]


def _iter_pages(
    tif: tifffile.TiffFile,
    level_index: int,
    level: tifffile.TiffPageSeries,
    leading: int,
    channel_axis: str | None,
    used: int,
    rgb: bool,
) -> Iterator[tuple[tuple[int, ...], np.ndarray]]:
    """Decode only the pages needed: all channels and Z planes, index 0 of other axes."""
    axes = level.get_axes(False)[:leading]
    shape = level.get_shape(False)
    ranges = []
    for axis, count in zip(axes, shape[:leading], strict=True):
        if axis == channel_axis:
            ranges.append(range(used))
        elif axis == "Z" and not rgb:
            ranges.append(range(count))
        else:
            ranges.append(range(1))
    for index in itertools.product(*ranges):
        key = int(np.ravel_multi_index(index, shape[:leading])) if leading else 0
        page = tif.asarray(key=key, series=0, level=level_index, maxworkers=1)
        yield index, page.reshape(shape[leading:])


def _page_planes(
    page: np.ndarray, axes: str, channel_axis: str | None, used: int, rgb: bool
) -> Iterator[tuple[int, np.ndarray]]:
    """Split one decoded page into 2-D planes per channel (YXS for RGB)."""
    keep = [a for a in axes if a in "YX" or a == channel_axis or (a == "S" and rgb)]
    project = "Z" in axes and not rgb
    index = tuple(slice(None) if a in keep or (a == "Z" and project) else 0 for a in axes)
    data = page[index]
    kept = [a for a in axes if a in keep or (a == "Z" and project)]
    if project:
        data = np.fmax.reduce(data, axis=kept.index("Z"))
        kept.remove("Z")
    order = "YXS" if rgb else ((channel_axis or "") + "YX")
    data = np.transpose(data, [kept.index(a) for a in order if a in kept])
    if data.dtype.kind == "c":
        data = np.abs(data)
    if rgb or channel_axis not in kept:
        yield 0, data
    else:
        for channel in range(min(used, data.shape[0])):
            yield channel, data[channel]


def _ome_colours(tif: tifffile.TiffFile, channels: int) -> list[Colour] | None:
    """Channel colours from OME-XML, if every channel has a distinct, visible one.

    Writers often set every channel to white (-1), which would composite to grey and
    hide which structure is in which channel; the default palette is better then.
    """
    xml = tif.ome_metadata
    if not xml:
        return None
    try:
        root = ElementTree.fromstring(xml)
        image = next(e for e in root.iter() if e.tag.rsplit("}", 1)[-1] == "Image")
        values = [
            int(e.attrib["Color"]) & 0xFFFFFFFF
            for e in image.iter()
            if e.tag.rsplit("}", 1)[-1] == "Channel"
        ]
    except (ElementTree.ParseError, StopIteration, KeyError, ValueError):
        return None
    colours = [((v >> 24) & 255, (v >> 16) & 255, (v >> 8) & 255) for v in values]
    if len(colours) != channels or len(set(colours)) < channels or (0, 0, 0) in colours:
        return None
    return colours


def _palette(channels: int) -> list[Colour]:
    if channels in _PALETTES:
        return _PALETTES[channels]
    return [_CYCLE[i % len(_CYCLE)] for i in range(channels)]


# --- PNG and JPEG --------------------------------------------------------------------


def _render_pillow(path: Path, kind: str, settings: ThumbnailSettings) -> Image.Image:
    """Open with the plugin that matches the magic bytes, bypassing ``Image.open``.

    ``Image.open`` applies Pillow's process-wide ``MAX_IMAGE_PIXELS`` check (a warning,
    or an error at twice the limit). Checking ``settings.max_pixels`` against the
    header ourselves makes the limit per call and avoids changing global state.
    """
    plugin = PngImagePlugin.PngImageFile if kind == "PNG" else JpegImagePlugin.JpegImageFile
    with plugin(path) as image:
        if kind == "JPEG":  # decode at 1/2, 1/4 or 1/8 scale when that still suffices
            image.draft(None, _fit(*image.size, settings.max_size))
        width, height = image.size
        if width * height * len(image.getbands()) > settings.max_pixels:
            raise _Unrenderable(f"image too large to preview ({width} × {height})")
        image.load()
        oriented = ImageOps.exif_transpose(image)
        target = _fit(*oriented.size, settings.max_size)
        if oriented.mode in ("1", "L", "I", "I;16", "I;16L", "I;16B", "F"):
            grey = np.asarray(oriented)
            return _composite([grey], [_GREY], target, settings)
        has_alpha = "A" in oriented.getbands() or (
            oriented.mode in ("P", "RGB") and "transparency" in oriented.info
        )
        if has_alpha:
            rgba = oriented.convert("RGBA")
            flat = Image.alpha_composite(Image.new("RGBA", rgba.size, _BACKGROUND), rgba)
            return _resize(flat.convert("RGB"), target)
        return _resize(oriented.convert("RGB"), target)


# --- pixels --------------------------------------------------------------------------


def _fit(width: int, height: int, max_size: int) -> tuple[int, int]:
    """Thumbnail size: longest side ``max_size``, aspect kept, never enlarged."""
    scale = min(1.0, max_size / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _resize(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    if image.size == size:
        return image
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _limits(data: np.ndarray, low: float, high: float) -> tuple[float, float]:
    """Robust display range from a strided sample (deterministic, unlike random sampling).

    Falls back to min/max when the percentiles coincide, e.g. a few bright spots on an
    empty background, so that they still show.
    """
    step = max(1, math.ceil(math.sqrt(data.size / _SAMPLE_VALUES)))
    sample = data[::step, ::step].astype(np.float64).ravel()
    sample = sample[np.isfinite(sample)]
    if sample.size == 0:
        return 0.0, 0.0
    lo, hi = np.percentile(sample, [low, high])
    if hi <= lo:
        lo, hi = sample.min(), sample.max()
    return float(lo), float(hi)


def _stretch(data: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Map ``lo..hi`` to 0..255 with clipping; NaN and constant data become 0.

    Works in row bands so that a large plane never gets a full float64 copy.
    """
    out = np.zeros(data.shape, dtype=np.uint8)
    if hi <= lo:
        return out
    scale = 255.0 / (hi - lo)
    rows = max(1, _CHUNK_VALUES // max(1, data[0].size))
    for start in range(0, data.shape[0], rows):
        band = data[start : start + rows].astype(np.float64)
        band -= lo
        band *= scale
        np.clip(band, 0.0, 255.0, out=band)
        out[start : start + rows] = np.rint(np.nan_to_num(band, nan=0.0))
    return out


def _composite(
    planes: Sequence[np.ndarray],
    colours: Sequence[Colour],
    size: tuple[int, int],
    settings: ThumbnailSettings,
) -> Image.Image:
    """Stretch each channel, shrink it, then add it in its colour (additive, like a merge)."""
    merged = np.zeros((size[1], size[0], 3), dtype=np.float32)
    for plane, colour in zip(planes, colours, strict=False):
        lo, hi = _limits(plane, settings.low_percentile, settings.high_percentile)
        small = _resize(Image.fromarray(_stretch(plane, lo, hi)), size)
        weights = np.asarray(colour, dtype=np.float32) / 255.0
        merged += np.asarray(small, dtype=np.float32)[..., None] * weights
    np.clip(merged, 0.0, 255.0, out=merged)
    return Image.fromarray(np.rint(merged).astype(np.uint8))


def _colour_image(
    data: np.ndarray, size: tuple[int, int], settings: ThumbnailSettings
) -> Image.Image:
    """RGB(A) samples: 8-bit is shown as stored, deeper data gets one stretch shared by
    the three samples so that the colour balance survives."""
    rgb = data[..., :3]
    if rgb.dtype != np.uint8:
        lo, hi = _limits(rgb, settings.low_percentile, settings.high_percentile)
        rgb = _stretch(rgb, lo, hi)
    if data.shape[-1] == 3:
        return _resize(Image.fromarray(np.ascontiguousarray(rgb)), size)
    alpha = data[..., 3]
    if alpha.dtype.kind in "iu" and alpha.dtype != np.uint8:
        alpha = np.rint(alpha.clip(0, None) * (255.0 / np.iinfo(alpha.dtype).max))
    elif alpha.dtype.kind == "f":
        alpha = np.rint(np.nan_to_num(alpha).clip(0.0, 1.0) * 255.0)
    rgba = np.dstack([rgb, alpha.astype(np.uint8)])
    flat = Image.alpha_composite(
        Image.new("RGBA", rgba.shape[1::-1], _BACKGROUND), Image.fromarray(rgba)
    )
    return _resize(flat.convert("RGB"), size)


def _encode_webp(image: Image.Image, settings: ThumbnailSettings) -> bytes:
    """Every encoder parameter is explicit and no metadata is copied, for stable bytes."""
    buffer = io.BytesIO()
    image.convert("RGB").save(
        buffer,
        format="WEBP",
        quality=settings.quality,
        method=6,
        lossless=False,
        exact=False,
        exif=b"",
        icc_profile=None,
        xmp=b"",
    )
    return buffer.getvalue()
