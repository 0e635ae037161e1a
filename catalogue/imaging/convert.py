"""``catalogue convert``: any readable image to an OME-Zarr pyramid (NGFF 0.5 or 0.4).

The archive's stated future is conversion to a next-generation format with random and
parallel access. The source is opened lazily as a Dask array (TIFF through tifffile's
zarr view of its strips or tiles, ND2/LIF/CZI/MRC one plane per task), so only the
chunks being written sit in memory and Dask spreads the work over threads. Writing,
the pyramid and the metadata are ``ome-zarr``'s (the OME reference implementation);
this module only maps what ``inspect`` already knows (axes, physical sizes, channel
names and colours) to its arguments, and adds the display window per channel from the
smallest level so that viewers open with a sensible contrast.

The result is written to a temporary folder beside the target and renamed into place,
so a failed conversion leaves nothing half-written.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from catalogue.imaging.base import Badge, Unrenderable
from catalogue.imaging.metadata import inspect_image
from catalogue.imaging.pixels import limits, palette
from catalogue.imaging.thumbnail import sniff
from catalogue.imaging.vendor import FORMATS as STACK_FORMATS
from catalogue.imaging.vendor import open_stack

AXES = "tczyx"
_UNITS = {"µm": "micrometer", "nm": "nanometer", "mm": "millimeter", "Å": "angstrom"}


class ConvertError(Exception):
    """A conversion that cannot happen; the message names the file and says why."""


@dataclass
class Converted:
    path: Path
    shape: tuple[int, ...]
    levels: list[tuple[int, ...]]
    ngff_version: str


def _writer() -> tuple[Any, Any, Any]:
    try:
        import dask.array as da
        from ome_zarr import format as ngff_format  # type: ignore[import-untyped]
        from ome_zarr.writer import write_image  # type: ignore[import-untyped]
    except ImportError as exc:
        raise ConvertError(
            "conversion needs the Python packages ome-zarr and dask: "
            "pip install 'catalogue[convert]'"
        ) from exc
    return da, ngff_format, write_image


def _tiff_array(path: Path, da: Any) -> Any:
    """TIFF series 0, full resolution, as (t, c, z, y, x) without reading pixels."""
    import tifffile
    import zarr

    with tifffile.TiffFile(path) as tif:
        if not tif.series:
            raise ConvertError(f"{path}: no image found in the TIFF")
        series = tif.series[0]
        axes = series.axes
    store = tifffile.imread(path, aszarr=True, series=0, level=0)
    array = da.from_zarr(zarr.open(store, mode="r"))
    # fold tifffile's other axis letters (I image, Q unknown, …) into T, S into C
    names = list(axes)
    for index, name in enumerate(names):
        if name == "S":
            names[index] = "c"
        elif name not in "TCZYX":
            names[index] = "t"
        else:
            names[index] = name.lower()
    for axis in AXES:
        if names.count(axis) > 1:  # e.g. C and S: merge by reshaping adjacent axes
            first = names.index(axis)
            second = names.index(axis, first + 1)
            if second != first + 1:
                array = da.moveaxis(array, second, first + 1)
                names.insert(first + 1, names.pop(second))
            shape = list(array.shape)
            shape[first : first + 2] = [shape[first] * shape[first + 1]]
            array = array.reshape(shape)
            names.pop(first + 1)
    for axis in AXES:
        if axis not in names:
            array = array[None]
            names.insert(0, axis)
    return da.transpose(array, [names.index(axis) for axis in AXES])


def _read_plane(path: str, kind: str, c: int, z: int, t: int, lock: Any) -> np.ndarray:
    """One plane, opened afresh: a task that any Dask worker can run."""
    with lock, open_stack(Path(path), kind) as stack:
        return np.ascontiguousarray(stack.plane(c, z, t))


def _stack_array(path: Path, kind: str, da: Any) -> Any:
    import dask

    with open_stack(path, kind) as stack:
        sizes, dtype, samples = dict(stack.sizes), stack.dtype, stack.samples
    lock = threading.Lock()  # vendor readers are not thread-safe on one file
    rows = []
    for t in range(sizes["T"]):
        channels = []
        for c in range(sizes["C"]):
            planes = []
            for z in range(sizes["Z"]):
                shape = (sizes["Y"], sizes["X"]) + ((samples,) if samples > 1 else ())
                task = dask.delayed(_read_plane)(str(path), kind, c, z, t, lock)
                planes.append(da.from_delayed(task, shape=shape, dtype=dtype))
            channels.append(da.stack(planes))
        rows.append(da.stack(channels))
    array = da.stack(rows)  # t, c, z, y, x[, s]
    if samples > 1:  # RGB: samples become channels
        array = da.moveaxis(array, -1, 2)
        array = array.reshape(
            (sizes["T"], sizes["C"] * samples, sizes["Z"], sizes["Y"], sizes["X"])
        )
    return array


def _pillow_array(path: Path, da: Any) -> Any:
    from PIL import Image

    with Image.open(path) as image:
        data = np.asarray(image.convert("RGB") if image.mode not in ("L", "I;16") else image)
    data = data[None] if data.ndim == 2 else np.moveaxis(data, -1, 0)
    return da.from_array(data[None, :, None])


def source_array(path: Path) -> tuple[Any, dict[str, Any]]:
    """The image as a lazy (t, c, z, y, x) Dask array, and its ``inspect`` record."""
    da, _, _ = _writer()
    try:
        kind = sniff(path)
    except (Badge, Unrenderable) as exc:
        raise ConvertError(f"{path}: cannot convert: {exc}") from exc
    if kind == "OME-Zarr":
        raise ConvertError(f"{path}: already OME-Zarr; nothing to convert")
    record = inspect_image(path)
    if not record.get("readable"):
        raise ConvertError(f"{path}: cannot read: {record.get('warning')}")
    if kind == "TIFF":
        array = _tiff_array(path, da)
    elif kind in STACK_FORMATS:
        array = _stack_array(path, kind, da)
    else:
        array = _pillow_array(path, da)
    return array, record


def _levels(width: int, height: int, tile: int) -> int:
    """Halve until the whole image fits one tile: a viewer's first request is one chunk."""
    return (
        max(0, math.ceil(math.log2(max(width, height) / tile))) if max(width, height) > tile else 0
    )


def convert(
    path: Path,
    out: Path,
    *,
    ngff_version: str = "0.5",
    tile: int = 256,
    overwrite: bool = False,
    echo: Callable[[str], None] = lambda _: None,
) -> Converted:
    """Write ``path`` as an OME-Zarr pyramid at ``out`` (atomically)."""
    da, ngff_format, write_image = _writer()
    import zarr

    path, out = Path(path), Path(out)
    if out.exists() and not overwrite:
        raise ConvertError(f"{out}: already exists (use --overwrite to replace it)")
    if ngff_version not in ("0.4", "0.5"):
        raise ConvertError(f"NGFF version must be 0.4 or 0.5, not {ngff_version}")
    array, record = source_array(path)
    t, c, z, y, x = array.shape
    chunks = (1, 1, 1, min(tile, y), min(tile, x))
    array = array.rechunk(chunks)
    levels = _levels(x, y, tile)
    physical = record.get("physical_size") or {}
    scale: dict[str, float] = {}
    units: dict[str, str] = {}
    for axis in ("x", "y", "z"):
        entry = physical.get(axis.upper())
        unit = _UNITS.get(entry["unit"]) if entry else None
        if entry and unit:
            scale[axis] = float(entry["value"])
            units[axis] = unit
    names = [ch.get("name") for ch in record.get("channels") or []]
    colours = [ch.get("colour") for ch in record.get("channels") or []]
    default = palette(c)
    if array.dtype.kind in "ui":
        info = np.iinfo(array.dtype)
        window = {"min": float(info.min), "max": float(info.max)}
    else:
        window = {"min": 0.0, "max": 1.0}
    window.update(start=window["min"], end=window["max"])  # replaced by _finish
    channels = []
    for index in range(c):
        colour = colours[index] if index < len(colours) and colours[index] else None
        channels.append(
            {
                "label": (names[index] if index < len(names) and names[index] else f"C{index}"),
                "color": (colour or "#{:02X}{:02X}{:02X}".format(*default[index])).lstrip("#"),
                "active": index < 7,
                "window": dict(window),
            }
        )
    fmt = ngff_format.FormatV05() if ngff_version == "0.5" else ngff_format.FormatV04()
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        group = zarr.open_group(
            str(staging), mode="w", zarr_format=3 if ngff_version == "0.5" else 2
        )
        echo(f"convert: {path} -> {out} ({x} × {y}, {levels + 1} levels, NGFF {ngff_version})")
        write_image(
            array,
            group,
            scale_factors=tuple(2**i for i in range(1, levels + 1)),
            axes=AXES,
            fmt=fmt,
            scale=scale or None,
            axes_units=units or None,
            storage_options={"chunks": chunks},
            name=path.name,
            omero={"channels": channels},
        )
        shapes = _finish(staging, c)
        if out.exists():
            shutil.rmtree(out)
        os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Converted(out, tuple(int(n) for n in array.shape), shapes, ngff_version)


def _finish(root: Path, channels: int) -> list[tuple[int, ...]]:
    """Display windows from the smallest level (what a viewer shows first)."""
    import zarr

    group: Any = zarr.open_group(str(root), mode="r+")
    attrs: dict[str, Any] = dict(group.attrs)
    ome: Any = attrs.get("ome", attrs)
    paths = [d["path"] for d in ome["multiscales"][0]["datasets"]]
    shapes = [tuple(int(n) for n in group[p].shape) for p in paths]
    smallest = np.asarray(group[paths[-1]][0])  # first time point: (c, z, y, x)
    omero = ome.get("omero") or {"channels": []}
    for index, channel in enumerate(omero["channels"][:channels]):
        plane = smallest[index].max(axis=0)
        lo, hi = limits(plane, 0.5, 99.5)
        info = np.iinfo(plane.dtype) if plane.dtype.kind in "ui" else None
        channel["window"] = {
            "min": float(info.min) if info else float(np.nanmin(plane)),
            "max": float(info.max) if info else float(np.nanmax(plane)),
            "start": lo,
            "end": hi if hi > lo else lo + 1,
        }
    ome["omero"] = omero
    if "ome" in attrs:
        attrs["ome"] = ome
    else:
        attrs = ome
    group.attrs.put(attrs)
    return shapes


__all__ = ["ConvertError", "Converted", "convert", "source_array"]
