"""Plane-addressable images (ND2, LIF, CZI, MRC): one interface for thumbnail, inspect, convert.

The vendor libraries disagree on almost everything (axis names, units, how a frame is
addressed), but they all can say, from the header alone, how large an image is and
then hand out one 2-D plane at a time. ``Stack`` is that common ground: the sizes and
metadata known before any pixel is read, and ``plane(c, z, t)``. Everything that
follows (safety bounds, projection, contrast, conversion to OME-Zarr) is written once
here against it, so a new format needs only an opener in ``vendor.py``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from catalogue.imaging.base import ThumbnailSettings, too_large
from catalogue.imaging.pixels import (
    MAX_CHANNELS,
    Colour,
    colour_image,
    composite,
    fit,
    palette,
    reduce_plane,
    reduction_factor,
    usable_colours,
)


@dataclass
class Channel:
    name: str | None = None
    colour: Colour | None = None
    excitation_wavelength: float | None = None
    emission_wavelength: float | None = None

    def record(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "colour": "#{:02X}{:02X}{:02X}".format(*self.colour) if self.colour else None,
        }
        if self.excitation_wavelength:
            out["excitation_wavelength"] = round(self.excitation_wavelength, 3)
        if self.emission_wavelength:
            out["emission_wavelength"] = round(self.emission_wavelength, 3)
        return out


@dataclass
class Stack(ABC):
    """An open image: header facts first, pixels on request.

    ``sizes`` has X, Y, Z, C, T (C counts channels, not RGB samples); ``samples`` is 3
    for RGB data, whose planes are then (Y, X, 3). ``physical`` maps X/Y/Z to
    ``(value, unit)``. ``projection`` says how a Z stack is shown: ``max`` for light
    microscopy, ``mean`` for EM densities and tomograms, where a sum along the beam is
    what a projection image means.
    """

    format: str
    sizes: dict[str, int]
    dtype: np.dtype
    samples: int = 1
    physical: dict[str, tuple[float, str]] = field(default_factory=dict)
    channels: list[Channel] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    projection: str = "max"

    @abstractmethod
    def plane(self, c: int, z: int, t: int) -> np.ndarray:
        """One plane, (Y, X) or (Y, X, samples), read from the file now."""

    def close(self) -> None:  # noqa: B027 - most readers need no cleanup
        """Release the file."""

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def plane_bytes(self) -> int:
        return self.sizes["X"] * self.sizes["Y"] * self.samples * self.dtype.itemsize


def check_bounds(stack: Stack, settings: ThumbnailSettings) -> None:
    """Refuse, from the header alone, a plane too large to hold or to decode."""
    width, height = stack.sizes["X"], stack.sizes["Y"]
    if width < 1 or height < 1:
        raise ValueError("the header declares an empty image")
    if stack.plane_bytes > settings.max_held_bytes:
        raise too_large(width, height)
    if width * height * stack.samples > settings.max_pixels:
        raise too_large(width, height)


def render_stack(stack: Stack, settings: ThumbnailSettings) -> Image.Image:
    """First time point, used channels, Z projected (or the middle plane) — like TIFF."""
    check_bounds(stack, settings)
    width, height = stack.sizes["X"], stack.sizes["Y"]
    depth = max(1, stack.sizes.get("Z", 1))
    channels = max(1, stack.sizes.get("C", 1))
    rgb = stack.samples in (3, 4)
    used = 1 if rgb or channels > MAX_CHANNELS else channels
    per_z = width * height * stack.samples * used
    planes_z = list(range(depth))
    if per_z * depth > settings.max_pixels:
        planes_z = [depth // 2]  # the whole stack is over the time budget: middle plane
    factor = reduction_factor(width, height, settings.max_size)
    target = fit(width, height, settings.max_size)
    low, high = settings.low_percentile, settings.high_percentile
    planes = []
    for c in range(used):
        folded: np.ndarray | None = None
        for z in planes_z:
            data = np.asarray(stack.plane(c, z, 0))
            if data.ndim == 2:
                data = data[..., None]
            small = reduce_plane(data, factor)
            if stack.projection == "mean":
                small = small.astype(np.float64)
                folded = small if folded is None else folded + small
            else:
                folded = small if folded is None else np.maximum(folded, small)
        assert folded is not None
        if stack.projection == "mean":
            folded = folded / len(planes_z)
        planes.append(folded if rgb else folded[..., 0])
    if rgb:
        return colour_image(np.asarray(planes[0]), target, low, high)
    colours = usable_colours([ch.colour for ch in stack.channels[:used]], used) or palette(used)
    return composite(planes, colours, target, low, high)


def stack_record(stack: Stack) -> dict[str, Any]:
    """What ``catalogue inspect`` prints for a stack (same keys as for TIFF and OME-Zarr)."""
    sizes = stack.sizes
    dims = {axis: int(sizes.get(axis, 1)) for axis in ("X", "Y", "Z", "C", "T")}
    if stack.samples > 1:
        dims["C"] = dims["C"] * stack.samples
    from catalogue.imaging.metadata import ome_pixel_type  # metadata imports this module

    out: dict[str, Any] = {
        "format": stack.format,
        "dimensions": dims,
        "pixel_type": ome_pixel_type(stack.dtype),
        "levels": [{"X": dims["X"], "Y": dims["Y"]}],
        "physical_size": {
            axis: {"value": float(f"{value:.6g}"), "unit": unit}
            for axis, (value, unit) in stack.physical.items()
        },
        "channels": [channel.record() for channel in stack.channels],
    }
    out.update(stack.extra)
    return out
