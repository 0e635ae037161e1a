"""TIFF, BigTIFF, OME-TIFF and SVS thumbnails: read little, reduce while reading.

Three decisions keep this fast and bounded:

- the smallest pyramid level (OME-TIFF SubIFDs, SVS/NDPI levels) still at least as
  large as the thumbnail is read, never the full resolution when such a level exists;
- only the pages a thumbnail needs are decoded (the channels and Z planes of the first
  time point), one at a time, folded into a maximum projection;
- each page is area-averaged while it is read: uncompressed data through a memory map
  in row bands, compressed data strip by strip or tile by tile. Memory holds one band
  plus the reduced planes, whatever the size of the image.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import tifffile
from PIL import Image, ImageOps

from catalogue.imaging.base import ThumbnailSettings, Unrenderable, too_large
from catalogue.imaging.pixels import (
    MAX_CHANNELS,
    BlockReducer,
    Colour,
    colour_image,
    composite,
    fit,
    palette,
    reduce_plane,
    reduction_factor,
    usable_colours,
)

# Pages up to this size are decoded whole (one call, fastest); larger ones strip by
# strip or tile by tile. Both give the same pixels, so this is not a thumbnail setting.
FULL_DECODE_BYTES = 64 * 2**20
_BAND_BYTES = 8 * 2**20  # rows of a memory-mapped page reduced at once


def render_tiff(path: Path, settings: ThumbnailSettings) -> Image.Image:
    with tifffile.TiffFile(path) as tif:
        if not tif.series:
            raise ValueError("no image found")  # tifffile's log usually says why
        series = tif.series[0]
        level_index, level = pick_level(series, settings.max_size)
        sizes = axis_sizes(level)
        height, width = sizes.get("Y", 0), sizes.get("X", 0)
        if height * width == 0:
            raise Unrenderable("TIFF has no 2-D image plane")
        keyframe = level.keyframe
        photometric = keyframe.photometric
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
        used = channels if channels <= MAX_CHANNELS else 1
        factor = reduction_factor(width, height, settings.max_size)

        reader = _PlaneReader(tif, level, channel_axis, used, rgb, factor, settings)
        planes = reader.planes()
        target = fit(width, height, settings.max_size)
        low, high = settings.low_percentile, settings.high_percentile
        if rgb:
            return colour_image(planes[0], target, low, high)
        colours = (
            (ome_colours(tif, channels) or imagej_colours(tif, channels)) if used > 1 else None
        ) or palette(used)
        image = composite(planes, colours, target, low, high)
        if used == 1 and photometric == tifffile.PHOTOMETRIC.MINISWHITE:
            image = ImageOps.invert(image)
        return image


def axis_sizes(level: tifffile.TiffPageSeries) -> dict[str, int]:
    """Axis sizes, unsqueezed: ``S`` and ``C`` are present even when 1."""
    return dict(zip(level.get_axes(False), level.get_shape(False), strict=True))


def pick_level(
    series: tifffile.TiffPageSeries, max_size: int
) -> tuple[int, tifffile.TiffPageSeries]:
    """The smallest pyramid level still at least as large as the thumbnail."""
    levels = list(series.levels) or [series]
    for index in range(len(levels) - 1, -1, -1):
        sizes = axis_sizes(levels[index])
        if max(sizes.get("Y", 0), sizes.get("X", 0)) >= max_size:
            return index, levels[index]
    return 0, levels[0]


def leading_axes(shape: Sequence[int], page_size: int, pages: int) -> int | None:
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


class _PlaneReader:
    """Per channel, the maximum projection over Z of the first time point, reduced."""

    def __init__(
        self,
        tif: tifffile.TiffFile,
        level: tifffile.TiffPageSeries,
        channel_axis: str | None,
        used: int,
        rgb: bool,
        factor: int,
        settings: ThumbnailSettings,
    ):
        self.tif = tif
        self.level = level
        self.channel_axis = channel_axis
        self.used = used
        self.rgb = rgb
        self.factor = factor
        self.settings = settings
        self.axes = level.get_axes(False)
        self.shape = level.get_shape(False)
        sizes = dict(zip(self.axes, self.shape, strict=True))
        self.width, self.height = sizes.get("X", 0), sizes.get("Y", 0)

    def planes(self) -> list[np.ndarray]:
        keyframe = self.level.keyframe
        leading = leading_axes(self.shape, keyframe.size, len(self.level.pages))
        if leading is None:  # page layout unclear: decode the whole level, if it fits
            too_many = self.level.size > self.settings.max_pixels
            if too_many or self.level.nbytes > self.settings.max_held_bytes:
                raise too_large(self.width, self.height)
            data = self.level.asarray(maxworkers=1).reshape(self.shape)
            return self._fold(iter([((), data)]), 0, reduce=True)
        indices = self._page_indices(leading, project=True)
        if len(indices) * keyframe.size > self.settings.max_pixels:
            indices = self._page_indices(leading, project=False)  # middle Z plane only
            if len(indices) * keyframe.size > self.settings.max_pixels:
                raise too_large(self.width, self.height)
        return self._fold(self._pages(indices, leading), leading, reduce=False)

    def _page_indices(self, leading: int, project: bool) -> list[tuple[int, ...]]:
        """All channels used, all (or the middle) Z planes, index 0 of other axes."""
        ranges = []
        for axis, count in zip(self.axes[:leading], self.shape[:leading], strict=True):
            if axis == self.channel_axis:
                ranges.append(range(self.used))
            elif axis == "Z" and not self.rgb:
                ranges.append(range(count) if project else range(count // 2, count // 2 + 1))
            else:
                ranges.append(range(1))
        return list(itertools.product(*ranges))

    def _pages(
        self, indices: list[tuple[int, ...]], leading: int
    ) -> Iterator[tuple[tuple[int, ...], np.ndarray]]:
        for index in indices:
            key = int(np.ravel_multi_index(index, self.shape[:leading])) if leading else 0
            yield index, self._read_page(key, leading)

    def _read_page(self, key: int, leading: int) -> np.ndarray:
        """One page with Y and X reduced by ``factor``, in the level's inner axis order."""
        page = self.level.pages[key]
        page_axes, page_shape = self.axes[leading:], self.shape[leading:]
        keyframe = self.level.keyframe
        sep, depth, height, width, contig = keyframe.shaped
        f = self.factor
        out_shape = tuple(
            height // f if a == "Y" else width // f if a == "X" else n
            for a, n in zip(page_axes, page_shape, strict=True)
        )
        if page is None:  # a missing page reads as zeros, as tifffile does
            return np.zeros(out_shape, keyframe.dtype)
        if depth == 1 and math.prod(out_shape) == sep * contig * (height // f) * (width // f):
            reduced = self._reduce_page(page, keyframe)
            return reduced.reshape(out_shape)
        # volumetric tiles or an unexpected layout: decode the page whole, then reduce
        if keyframe.nbytes > self.settings.max_held_bytes:
            raise too_large(self.width, self.height)
        data = page.asarray(maxworkers=1).reshape(page_shape)
        if f == 1:
            return data
        y, x = page_axes.index("Y"), page_axes.index("X")
        moved = np.moveaxis(data, (y, x), (0, 1))
        flat = moved.reshape(moved.shape[0], moved.shape[1], -1)
        small = reduce_plane(flat, f).reshape(
            (moved.shape[0] // f, moved.shape[1] // f, *moved.shape[2:])
        )
        return np.moveaxis(small, (0, 1), (y, x))

    def _reduce_page(
        self, page: tifffile.TiffPage | tifffile.TiffFrame, keyframe: tifffile.TiffPage
    ) -> np.ndarray:
        """(sep, height/f, width/f, contig) from a memory map, one decode, or segments."""
        sep, _, height, width, contig = keyframe.shaped
        f = self.factor
        sample = _sample_dtype(keyframe)
        reducers = [BlockReducer(height, width, contig, f, sample) for _ in range(sep)]
        handle = self.tif.filehandle
        if f > 1 and page.is_memmappable and handle.is_file and page.dataoffsets:
            dtype = sample.newbyteorder(self.tif.byteorder)
            mapped = np.memmap(
                handle.path,
                dtype=dtype,
                mode="r",
                offset=page.dataoffsets[0],
                shape=(sep, height, width, contig),
            )
            rows = max(f, _BAND_BYTES // max(1, width * contig * dtype.itemsize) // f * f)
            for plane, reducer in enumerate(reducers):
                for start in range(0, height, rows):
                    reducer.feed(mapped[plane, start : start + rows])
                    if reducer.done:
                        break
            del mapped
        elif f == 1 or keyframe.nbytes <= FULL_DECODE_BYTES:
            if keyframe.nbytes > self.settings.max_held_bytes:
                raise too_large(width, height)
            data = page.asarray(maxworkers=1).reshape(sep, height, width, contig)
            for plane, reducer in enumerate(reducers):
                reducer.feed(data[plane])
        else:
            self._reduce_segments(page, keyframe, reducers)
        return np.stack([r.out for r in reducers])

    def _reduce_segments(
        self,
        page: tifffile.TiffPage | tifffile.TiffFrame,
        keyframe: tifffile.TiffPage,
        reducers: list[BlockReducer],
    ) -> None:
        """Assemble strips or tiles into full-width bands and reduce band by band."""
        _, _, height, width, contig = keyframe.shaped
        band_rows = min(height, keyframe.tilelength if keyframe.is_tiled else keyframe.rowsperstrip)
        itemsize = _sample_dtype(keyframe).itemsize
        if band_rows * width * contig * itemsize > self.settings.max_held_bytes:
            raise too_large(width, height)
        band: np.ndarray | None = None
        band_key: tuple[int, int] = (-1, -1)
        for data, index, _ in page.segments(maxworkers=1):
            plane, y, x = index[0], index[2], index[3]
            if (plane, y) != band_key:
                if band is not None:
                    reducers[band_key[0]].feed(band)
                band_key = (plane, y)
                band = np.zeros((min(band_rows, height - y), width, contig), keyframe.dtype)
            if data is None or band is None:
                continue
            rows = min(data.shape[1], band.shape[0])
            cols = min(data.shape[2], width - x)
            band[:rows, x : x + cols] = data[0, :rows, :cols]
        if band is not None:
            reducers[band_key[0]].feed(band)

    def _fold(
        self, pages: Iterator[tuple[tuple[int, ...], np.ndarray]], leading: int, reduce: bool
    ) -> list[np.ndarray]:
        """Fold pages into one plane per channel (maximum over Z); RGB keeps its samples.

        Pages read one by one arrive reduced; a whole decoded level is reduced here,
        plane by plane (``reduce``).
        """
        lead_axes, page_axes = self.axes[:leading], self.axes[leading:]
        channel_axis = self.channel_axis
        projected: dict[int, np.ndarray] = {}
        for index, page in pages:
            lead_channel = 0
            if channel_axis and channel_axis in lead_axes:
                lead_channel = index[lead_axes.index(channel_axis)]
            for channel, plane in _page_planes(page, page_axes, channel_axis, self.used, self.rgb):
                if reduce and self.factor > 1:
                    plane = reduce_plane(np.ascontiguousarray(plane), self.factor)
                key = lead_channel + channel
                if key in projected:
                    np.fmax(projected[key], plane, out=projected[key])
                else:
                    projected[key] = np.array(plane)
        return [projected[key] for key in sorted(projected)]


def _sample_dtype(keyframe: tifffile.TiffPage) -> np.dtype:
    """The page's sample type; tifffile has none for sample formats it cannot decode."""
    if keyframe.dtype is None:
        raise Unrenderable(
            f"TIFF sample format {keyframe.sampleformat} with {keyframe.bitspersample} bits "
            "is not supported"
        )
    return keyframe.dtype


def _page_planes(
    page: np.ndarray, axes: str, channel_axis: str | None, used: int, rgb: bool
) -> Iterator[tuple[int, np.ndarray]]:
    """Split one page into 2-D planes per channel (YXS for RGB), projecting inner Z."""
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


def ome_colours(tif: tifffile.TiffFile, channels: int) -> list[Colour] | None:
    """Channel colours of the first OME image, if usable (see ``usable_colours``)."""
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
    colours: list[Colour | None] = [
        ((v >> 24) & 255, (v >> 16) & 255, (v >> 8) & 255) for v in values
    ]
    return usable_colours(colours, channels)


def lut_colour(lut: object) -> Colour | None:
    """The colour an ImageJ channel LUT ramps to, when it is a plain ramp from black.

    ImageJ composites store one 3 × 256 lookup table per channel; a ramp from black to
    one colour (red, green, magenta, …) is that channel's display colour. Other tables
    (fire, inverted grey) name no single colour.
    """
    table = np.asarray(lut)
    if table.shape != (3, 256):
        return None
    top = table[:, 255].astype(np.float64)
    ramp = np.outer(top, np.arange(256) / 255.0)
    if not top.any() or np.abs(table.astype(np.float64) - ramp).max() > 2:
        return None
    r, g, b = (int(v) for v in top)
    return (r, g, b)


def imagej_colours(tif: tifffile.TiffFile, channels: int) -> list[Colour] | None:
    """Channel colours of an ImageJ hyperstack's LUTs, if usable (``usable_colours``)."""
    meta = tif.imagej_metadata if tif.is_imagej else None
    luts = (meta or {}).get("LUTs")
    if not isinstance(luts, list):
        return None
    return usable_colours([lut_colour(lut) for lut in luts], channels)
