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

import contextlib
import functools
import hashlib
import math
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
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


class _TiffSource:
    """TIFF series 0, level 0, as an array-like that pickles as its path and shape.

    tifffile's zarr view holds an open file and locks, which cannot travel to a Dask
    worker in another process; this object can. Each process opens the file on its
    first read and keeps it open (``_tiff_view``), so a worker parses the TIFF once,
    not once per chunk.
    """

    def __init__(self, path: Path, shape: tuple[int, ...], dtype: Any):
        st = path.stat()
        self.path = str(path.absolute())
        self.stamp = (st.st_size, st.st_mtime_ns)
        self.shape = tuple(int(n) for n in shape)
        self.dtype = np.dtype(dtype)
        self.ndim = len(self.shape)

    def __getitem__(self, key: Any) -> np.ndarray:
        return np.asarray(_tiff_view(self.path, self.stamp)[key])


@functools.lru_cache(maxsize=8)
def _tiff_view(path: str, stamp: tuple[int, int]) -> Any:
    """One zarr view per file and process (``stamp`` makes a changed file a new entry)."""
    import tifffile
    import zarr

    return zarr.open(tifffile.imread(path, aszarr=True, series=0, level=0), mode="r")


def _tiff_array(path: Path, da: Any, tile: int) -> Any:
    """TIFF series 0, full resolution, as (t, c, z, y, x) without reading pixels."""
    import tifffile

    with tifffile.TiffFile(path) as tif:
        if not tif.series:
            raise ConvertError(f"{path}: no image found in the TIFF")
        series = tif.series[0]
        axes, shape, dtype = series.axes, series.shape, series.dtype
    chunks = tuple(
        min(tile, n) if name in "YX" else n if name == "S" else 1
        for name, n in zip(axes, shape, strict=True)
    )
    source = _TiffSource(path, shape, dtype)
    name = "tiff-" + hashlib.sha256(repr((source.path, source.stamp)).encode()).hexdigest()[:16]
    array = da.from_array(source, chunks=chunks, name=name, meta=np.empty((0,) * len(shape), dtype))
    # fold tifffile's other axis letters (I image, Q unknown, …) into T, S into C
    names = list(axes)
    for index, letter in enumerate(names):
        if letter == "S":
            names[index] = "c"
        elif letter not in "TCZYX":
            names[index] = "t"
        else:
            names[index] = letter.lower()
    for axis in AXES:
        if names.count(axis) > 1:  # e.g. C and S: merge by reshaping adjacent axes
            first = names.index(axis)
            second = names.index(axis, first + 1)
            if second != first + 1:
                array = da.moveaxis(array, second, first + 1)
                names.insert(first + 1, names.pop(second))
            merged = list(array.shape)
            merged[first : first + 2] = [merged[first] * merged[first + 1]]
            array = array.reshape(merged)
            names.pop(first + 1)
    for axis in AXES:
        if axis not in names:
            array = array[None]
            names.insert(0, axis)
    return da.transpose(array, [names.index(axis) for axis in AXES])


# Vendor readers are not thread-safe on one file; one lock per process (a lock object
# cannot be sent to a Dask worker, a module global needs not be).
_STACK_LOCK = threading.Lock()


class _StackSource:
    """A ND2/LIF/CZI/MRC file as a (t, c, z, y, x[, s]) array-like that pickles as its
    path: every read opens the file in the process doing it, one plane at a time."""

    def __init__(self, path: Path, kind: str, sizes: dict[str, int], dtype: Any, samples: int):
        self.path = str(path.absolute())
        self.kind = kind
        self.shape = (sizes["T"], sizes["C"], sizes["Z"], sizes["Y"], sizes["X"]) + (
            (samples,) if samples > 1 else ()
        )
        self.dtype = np.dtype(dtype)
        self.ndim = len(self.shape)

    def __getitem__(self, key: Any) -> np.ndarray:
        key = key if isinstance(key, tuple) else (key,)
        key = key + (slice(None),) * (self.ndim - len(key))
        ranges = [range(*k.indices(n)) for k, n in zip(key, self.shape, strict=True)]
        out = np.empty(tuple(len(r) for r in ranges), dtype=self.dtype)
        with _STACK_LOCK, open_stack(Path(self.path), self.kind) as stack:
            for i, t in enumerate(ranges[0]):  # planes: (y, x[, s]) is sliced after reading
                for j, c in enumerate(ranges[1]):
                    for k, z in enumerate(ranges[2]):
                        out[i, j, k] = np.asarray(stack.plane(c, z, t))[key[3:]]
        return out


def _stack_array(path: Path, kind: str, da: Any) -> Any:
    with open_stack(path, kind) as stack:
        sizes, dtype, samples = dict(stack.sizes), stack.dtype, stack.samples
    source = _StackSource(path, kind, sizes, dtype, samples)
    name = f"{kind.lower()}-" + hashlib.sha256(source.path.encode()).hexdigest()[:16]
    chunks = (1, 1, 1) + source.shape[3:]
    array = da.from_array(
        source, chunks=chunks, name=name, meta=np.empty((0,) * source.ndim, dtype)
    )
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


def source_array(path: Path, tile: int = 256) -> tuple[Any, dict[str, Any]]:
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
        array = _tiff_array(path, da, tile)
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

    # absolute: a Dask worker in another directory writes the same folder
    path, out = Path(path).absolute(), Path(out).absolute()
    if out.exists() and not overwrite:
        raise ConvertError(f"{out}: already exists (use --overwrite to replace it)")
    if ngff_version not in ("0.4", "0.5"):
        raise ConvertError(f"NGFF version must be 0.4 or 0.5, not {ngff_version}")
    array, record = source_array(path, tile)
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
    interval = record.get("frame_interval") or {}
    if t > 1 and interval.get("unit") == "s" and interval.get("value"):
        scale["t"] = float(interval["value"])
        units["t"] = "second"
    if scale:  # the others are 1 (ome-zarr's default, said here so that it does not warn)
        scale = {axis: scale.get(axis, 1.0) for axis in AXES}
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


@contextlib.contextmanager
def scheduler(spec: str | None, jobs: int) -> Iterator[str]:
    """Where the chunks of a conversion are computed, named for the user.

    ``local``: ``jobs`` threads of this process. ``dask-local`` or ``dask://HOST:PORT``
    (see ``catalogue.pipeline.executors``): the tasks of the Dask graph go to that
    cluster's workers, which open the source file themselves (the graph carries only
    its path, shape and region bounds) and write their chunks into the output folder,
    so that folder must be on a file system the workers share, at the same path.
    """
    import dask

    from catalogue.pipeline.executors import DaskExecutor, open_executor

    if (spec or "local") == "local":
        with dask.config.set(scheduler="threads", num_workers=max(1, jobs)):
            yield f"local ({max(1, jobs)} threads)"
        return
    executor = open_executor(spec, jobs)
    try:
        assert isinstance(executor, DaskExecutor)
        with dask.config.set(scheduler=executor.client):
            yield executor.name
    finally:
        executor.close()


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


__all__ = ["ConvertError", "Converted", "convert", "scheduler", "source_array"]
