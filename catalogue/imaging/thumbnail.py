"""Thumbnails of microscopy images: what the site shows for one file or OME-Zarr folder.

Scientific images rarely look like anything when shown naively: 16-bit data occupies a
small part of its range, channels are stored separately, volumes have many planes and
slides have billions of pixels. This module turns one file into one small WebP that a
person can recognise, and it never lets a bad file break the build: every failure
becomes a ``Thumbnail`` with ``webp=None`` and a short warning, and a file in a known
format without a reader here (DM3, OIB, Imaris, …) becomes a format badge.

The readers live beside it: ``tiff`` (TIFF, OME-TIFF, SVS, LSM), ``ngff``
(OME-Zarr), ``vendor`` + ``stacks`` (ND2, LIF, CZI, MRC), ``pixels`` (reduction,
contrast, colour, WebP). Output is
byte-for-byte reproducible for a given input, settings and library stack, so that the
build can cache thumbnails and a rebuild does not churn the published site.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import (
    BmpImagePlugin,
    GifImagePlugin,
    Image,
    ImageDraw,
    ImageFile,
    ImageFont,
    ImageOps,
    JpegImagePlugin,
    PngImagePlugin,
)

from catalogue.formats import file_format, thumbnail_candidate
from catalogue.imaging.base import (
    THUMBNAILER_VERSION,
    Badge,
    Thumbnail,
    ThumbnailSettings,
    Unrenderable,
    too_large,
)
from catalogue.imaging.ngff import is_zarr, render_zarr
from catalogue.imaging.pixels import (
    GREY,
    composite,
    encode_webp,
    fit,
    flatten,
    reduce_plane,
    reduction_factor,
    resize,
)
from catalogue.imaging.stacks import render_stack
from catalogue.imaging.tiff import render_tiff
from catalogue.imaging.vendor import FORMATS as STACK_FORMATS
from catalogue.imaging.vendor import MissingReader, open_stack

__all__ = [
    "THUMBNAILER_VERSION",
    "SiteThumbnail",
    "Thumbnail",
    "ThumbnailSettings",
    "placeholder_webp",
    "render_thumbnail",
    "site_thumbnail",
    "sniff",
    "thumbnail_candidate",
]

_MAGIC: list[tuple[bytes, str]] = [
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"II+\x00", "TIFF"),
    (b"MM\x00+", "TIFF"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
]

# Formats without a reader here, recognised by their bytes: they get a badge. A file
# whose name claims one of these but whose bytes do not match gets a warning instead.
_BADGE_MAGIC: dict[str, list[tuple[int, bytes]]] = {
    "CZI": [(0, b"ZISRAWFILE")],
    "ND2": [(0, b"\xda\xce\xbe\x0a"), (0, b"\x00\x00\x00\x0cjP  ")],
    "HDF5": [(0, b"\x89HDF\r\n\x1a\n")],
    "Imaris": [(0, b"\x89HDF\r\n\x1a\n")],
    "LIF": [(0, b"\x70\x00\x00\x00")],
    "DM3": [(0, b"\x00\x00\x00\x03")],
    "DM4": [(0, b"\x00\x00\x00\x04")],
    "OIB": [(0, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")],
    "NIfTI": [(344, b"n+1\x00"), (0, b"\x1f\x8b")],
    "MP4": [(4, b"ftyp")],
    "AVI": [(0, b"RIFF")],
    "JPEG 2000": [(0, b"\x00\x00\x00\x0cjP  "), (0, b"\xff\x4f\xff\x51")],
    "ZIP": [(0, b"PK\x03\x04")],
}
# Named by extension only: their headers carry no reliable signature at the start.
_BADGE_BY_NAME = {"MRC", "DeltaVision", "OIF"}
# Magic bytes that identify a format on their own (not ambiguous with the others).
_SELF_EVIDENT = ("CZI", "JPEG 2000", "ND2", "HDF5", "OIB", "ZIP")
_HEAD_BYTES = 512
DEFAULT_SETTINGS = ThumbnailSettings()


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
        messages: list[str] = []
        self._local.messages = messages
        try:
            yield messages
        finally:
            self._local.messages = previous


_TIFFFILE_LOG = _LogCapture()
logging.getLogger("tifffile").addFilter(_TIFFFILE_LOG)


def render_thumbnail(path: Path, settings: ThumbnailSettings = DEFAULT_SETTINGS) -> Thumbnail:
    """Render ``path`` as a WebP thumbnail; problems become a warning, never an exception."""
    path = Path(path)
    kind = "file"
    log: list[str] = []
    try:
        kind = sniff(path)
        with _TIFFFILE_LOG.capture() as log, np.errstate(all="ignore"):
            if kind == "TIFF":
                image = render_tiff(path, settings)
            elif kind == "OME-Zarr":
                image = render_zarr(path, settings)
            elif kind in STACK_FORMATS:
                with open_stack(path, kind) as stack:
                    image = render_stack(stack, settings)
            else:
                image = _render_pillow(path, kind, settings)
        return Thumbnail(encode_webp(image, settings.quality), image.width, image.height, None)
    except Badge as exc:
        return Thumbnail(None, 0, 0, None, badge=str(exc))
    except MissingReader:
        # Not the file's fault: a badge, as before the reader existed (inspect says
        # which extra to install).
        return Thumbnail(None, 0, 0, None, badge=kind)
    except Unrenderable as exc:
        warning = _reason(exc, (), path)
    except MemoryError:
        warning = "not enough memory to render a preview"
    except Exception as exc:
        warning = f"cannot read {kind}: {_reason(exc, log, path)}"
    return Thumbnail(None, 0, 0, warning)


@dataclass(frozen=True)
class SiteThumbnail:
    """What the site publishes for one file: always an image, plus what it is.

    ``info`` is what pages need: ``ok`` (a real picture), ``width``, ``height`` and,
    for a format badge, ``badge``. ``warning`` is set only for broken files.
    """

    webp: bytes
    info: dict[str, Any]
    warning: str | None


def site_thumbnail(path: Path, settings: ThumbnailSettings = DEFAULT_SETTINGS) -> SiteThumbnail:
    """The bytes the build writes for ``path`` (``catalogue thumbnail`` writes the same)."""
    thumb = render_thumbnail(path, settings)
    if thumb.webp is not None:
        return SiteThumbnail(
            thumb.webp, {"ok": True, "width": thumb.width, "height": thumb.height}, None
        )
    square = {"ok": False, "width": settings.max_size, "height": settings.max_size}
    if thumb.badge is not None:
        return SiteThumbnail(
            placeholder_webp(thumb.badge, settings), {**square, "badge": thumb.badge}, None
        )
    return SiteThumbnail(placeholder_webp("no preview", settings), square, thumb.warning)


def placeholder_webp(label: str, settings: ThumbnailSettings = DEFAULT_SETTINGS) -> bytes:
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
    text_w, text_h = int(right - left), int(bottom - top)  # whole pixels for a bitmap font
    scale = max(1, min(int(size * 0.8) // max(text_w, 1), size // 4 // max(text_h, 1)))
    small_size = -(-size // scale)
    small = Image.new("RGB", (small_size, small_size), (200, 200, 200))
    origin = ((small_size - text_w) // 2 - left, (small_size - text_h) // 2 - top)
    ImageDraw.Draw(small).text(origin, text, fill=(90, 90, 90), font=font)
    image = small.resize((small_size * scale,) * 2, Image.Resampling.NEAREST)
    return encode_webp(image.crop((0, 0, size, size)), settings.quality)


# --- format detection and error text -------------------------------------------------


def sniff(path: Path) -> str:
    """The format to read ``path`` as: trust the bytes, not the extension.

    Returns ``TIFF``, ``PNG``, ``JPEG``, ``GIF``, ``BMP``, ``OME-Zarr`` or one of the
    plane-addressable formats (``ND2``, ``LIF``, ``CZI``, ``MRC``); raises ``Badge``
    for a known format without a reader and ``Unrenderable`` otherwise.
    """
    try:
        return _sniff(path)
    except Badge as exc:
        if str(exc) in STACK_FORMATS:
            return str(exc)
        raise


def _sniff(path: Path) -> str:
    if path.is_dir():
        if is_zarr(path):
            return "OME-Zarr"
        if path.name.lower().endswith(".zarr"):
            raise Unrenderable("not an OME-Zarr (no .zattrs, .zgroup or zarr.json)")
        raise Unrenderable("not a regular file")
    if not path.is_file():
        raise Unrenderable("not a regular file" if path.exists() else "file not found")
    with path.open("rb") as handle:
        head = handle.read(_HEAD_BYTES)
    if not head:
        raise Unrenderable("empty file")
    named = file_format(path.name)
    for label in _SELF_EVIDENT:
        if _matches(head, label):  # the name decides between formats sharing a signature
            raise Badge(named if named in _BADGE_MAGIC and _matches(head, named) else label)
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if named in _BADGE_MAGIC:
        if _matches(head, named):
            raise Badge(named)
        raise Unrenderable(f"not a valid {named} file (its bytes do not match its name)")
    if named in _BADGE_BY_NAME:
        raise Badge(named)
    raise Unrenderable("unrecognised file format")


def _matches(head: bytes, label: str) -> bool:
    return any(head[at : at + len(magic)] == magic for at, magic in _BADGE_MAGIC[label])


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
    message = " ".join(message.split())
    return message if len(message) <= 200 else message[:197] + "..."


# --- PNG, JPEG, GIF, BMP -------------------------------------------------------------

# Constructors of Pillow's format plugins (ImageFile subclasses), by sniffed kind.
_PLUGINS: dict[str, Callable[[Path], ImageFile.ImageFile]] = {
    "PNG": PngImagePlugin.PngImageFile,
    "JPEG": JpegImagePlugin.JpegImageFile,
    "GIF": GifImagePlugin.GifImageFile,
    "BMP": BmpImagePlugin.BmpImageFile,
}


def _render_pillow(path: Path, kind: str, settings: ThumbnailSettings) -> Image.Image:
    """Open with the plugin that matches the magic bytes, bypassing ``Image.open``.

    ``Image.open`` applies Pillow's process-wide ``MAX_IMAGE_PIXELS`` check (a warning,
    or an error at twice the limit). Checking our own limits against the header makes
    them per call and avoids changing global state. Pillow decodes whole images (JPEG
    at 1/2, 1/4 or 1/8 scale where that suffices), so these formats are bounded by
    ``max_held_bytes`` at 4 bytes a pixel, Pillow's in-memory size.
    """
    with _PLUGINS[kind](path) as image:
        if kind == "JPEG":
            image.draft(None, fit(*image.size, settings.max_size))
        width, height = image.size
        if width * height * len(image.getbands()) > settings.max_pixels:
            raise too_large(width, height)
        if width * height * 4 > settings.max_held_bytes:
            raise too_large(width, height)
        image.load()
        oriented = ImageOps.exif_transpose(image)
        target = fit(*oriented.size, settings.max_size)
        factor = reduction_factor(*oriented.size, settings.max_size)
        if oriented.mode in ("1", "L", "I", "I;16", "I;16L", "I;16B", "F"):
            grey = reduce_plane(np.asarray(oriented), factor)
            low, high = settings.low_percentile, settings.high_percentile
            return composite([grey], [GREY], target, low, high)
        has_alpha = "A" in oriented.getbands() or (
            oriented.mode in ("P", "RGB", "L") and "transparency" in oriented.info
        )
        if has_alpha:
            return flatten(oriented.convert("RGBA"), target)
        return resize(oriented.convert("RGB"), target)
