"""Settings, results and error types shared by the image readers (TIFF, OME-Zarr, Pillow).

They live apart from ``imaging.py`` so that every reader module can import them without
importing the dispatcher that imports the readers.
"""

from __future__ import annotations

from dataclasses import dataclass

# Bump whenever the pixels or bytes of a thumbnail could change for the same input and
# settings: it is part of every thumbnail's file name, so old names cannot survive.
# 2: area-averaged reduction while reading, histogram percentiles, OME-Zarr, badges.
# 3: real thumbnails for ND2, LIF, CZI and MRC (were format badges).
THUMBNAILER_VERSION = "3"


@dataclass(frozen=True)
class ThumbnailSettings:
    """Everything that decides a thumbnail's bytes; ``key()`` goes into its file name.

    ``max_pixels`` bounds the *time* of one thumbnail: the number of values decoded
    (pixels times the channels and planes read). Memory does not grow with it: planes
    are reduced strip by strip or tile by tile while they are read (or through a
    memory map), so the peak is one strip or tile plus the reduced planes.
    ``max_held_bytes`` bounds what must sit in memory at once where a format gives no
    smaller unit: one decoded strip, tile or zarr chunk, or a whole PNG.
    """

    max_size: int = 256
    quality: int = 80
    low_percentile: float = 0.5
    high_percentile: float = 99.5
    max_pixels: int = 400_000_000
    max_held_bytes: int = 256 * 2**20

    def __post_init__(self) -> None:
        if self.max_size < 1 or self.max_pixels < 1 or self.max_held_bytes < 1:
            raise ValueError("max_size, max_pixels and max_held_bytes must be positive")
        if not 0 <= self.quality <= 100:
            raise ValueError("quality must be within 0..100")
        if not 0 <= self.low_percentile < self.high_percentile <= 100:
            raise ValueError("percentiles must satisfy 0 <= low < high <= 100")

    def key(self) -> str:
        """Cache key: changes whenever the bytes of a thumbnail could change."""
        return (
            f"thumbnailer={THUMBNAILER_VERSION};max_size={self.max_size};"
            f"quality={self.quality};low={self.low_percentile!r};"
            f"high={self.high_percentile!r};max_pixels={self.max_pixels};"
            f"max_held={self.max_held_bytes}"
        )


@dataclass(frozen=True)
class Thumbnail:
    """One rendering attempt.

    ``webp`` is None when there is no picture: either ``warning`` says why (the file is
    broken or too large), or ``badge`` names a known format that has no reader here
    (CZI, LIF, …), which is not a problem of the file and so carries no warning.
    """

    webp: bytes | None
    width: int
    height: int
    warning: str | None
    badge: str | None = None


class Unrenderable(Exception):
    """A problem whose message is already the warning to show."""


class Badge(Exception):
    """The file is in a known format that has no reader here; the message is its name."""


def too_large(width: int, height: int) -> Unrenderable:
    return Unrenderable(f"image too large to preview ({width} × {height})")
