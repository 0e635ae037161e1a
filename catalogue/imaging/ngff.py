"""OME-Zarr (NGFF 0.4 on zarr v2, 0.5 on zarr v3): layout, thumbnails, source identity.

The layout (single image, HCS plate, well, bioformats2raw container) is read from the
JSON metadata alone (``.zattrs``/``.zgroup`` or ``zarr.json``), so that viewer links
and the build's source identity never decode pixels. Pixels are read with the ``zarr``
package, from the lowest multiscale level that is still as large as the thumbnail, in
row bands, reduced while read: memory holds one band, never a whole high-resolution
level.
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from catalogue.imaging.base import ThumbnailSettings, Unrenderable, too_large

# numpy, Pillow and the pixel code are imported where pixels are read: a build asks this
# module what a zarr folder holds (layout, identity files) on every run, and importing
# them was a twentieth of a one-study edit's build
if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

    from catalogue.imaging.pixels import Colour

METADATA_FILES = ("zarr.json", ".zattrs", ".zgroup", ".zarray")
_MAX_METADATA_BYTES = 16 * 2**20  # a bigger JSON file is not metadata a person wrote


@dataclass(frozen=True)
class Group:
    """One zarr group's OME metadata, format-independent."""

    path: Path
    zarr_format: Literal[2, 3]
    ome: dict[str, Any]  # v0.4: the .zattrs; v0.5: zarr.json attributes["ome"]

    @property
    def version(self) -> str | None:
        value = self.ome.get("version")
        for key in ("multiscales", "plate", "well"):
            if value is None and isinstance(self.ome.get(key), dict):
                value = self.ome[key].get("version")
            elif value is None and isinstance(self.ome.get(key), list) and self.ome[key]:
                first = self.ome[key][0]
                value = first.get("version") if isinstance(first, dict) else None
        return str(value) if value is not None else None


@dataclass(frozen=True)
class Layout:
    """What an OME-Zarr root holds, and where its images are (paths relative to it).

    ``kind`` is ``image`` (a multiscale image), ``plate`` (HCS), ``well``,
    ``container`` (bioformats2raw: several images, listed in ``OME/`` or numbered) or
    ``unknown``. ``images`` lists image paths in the order a reader would browse them;
    for a plate, the fields of its wells (row, then column, then field).
    """

    kind: str
    zarr_format: int
    version: str | None
    images: tuple[str, ...]
    plate_name: str | None = None


def is_zarr(path: Path) -> bool:
    return path.is_dir() and any((path / name).is_file() for name in METADATA_FILES)


def read_group(path: Path) -> Group | None:
    """The group at ``path``, or None when there is no zarr group metadata there."""
    v3 = path / "zarr.json"
    if v3.is_file():
        meta = _json(v3)
        attributes = meta.get("attributes") or {}
        if not isinstance(attributes, dict):
            raise Unrenderable("invalid OME-Zarr metadata (attributes is not an object)")
        ome = attributes.get("ome")
        return Group(path, 3, ome if isinstance(ome, dict) else attributes)
    if (path / ".zattrs").is_file() or (path / ".zgroup").is_file():
        attrs = _json(path / ".zattrs") if (path / ".zattrs").is_file() else {}
        return Group(path, 2, attrs)
    return None


def _json(path: Path) -> dict[str, Any]:
    try:
        if path.stat().st_size > _MAX_METADATA_BYTES:
            raise Unrenderable(f"invalid OME-Zarr metadata ({path.name} is too large)")
        data = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise Unrenderable(f"invalid OME-Zarr metadata ({path.name}: {_short(exc)})") from None
    if not isinstance(data, dict):
        raise Unrenderable(f"invalid OME-Zarr metadata ({path.name} is not an object)")
    return data


def _short(exc: Exception) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return (str(exc) or type(exc).__name__).splitlines()[0][:120]


def layout(root: Path) -> Layout:
    """Detect the layout from metadata only (no chunk is read)."""
    group = read_group(root)
    if group is None:
        raise Unrenderable("not an OME-Zarr (no .zattrs, .zgroup or zarr.json)")
    ome = group.ome
    if isinstance(ome.get("plate"), dict):
        plate = ome["plate"]
        return Layout(
            "plate",
            group.zarr_format,
            group.version,
            tuple(_plate_fields(root, plate)),
            str(plate.get("name")) if plate.get("name") is not None else None,
        )
    if isinstance(ome.get("multiscales"), list) and ome["multiscales"]:
        return Layout("image", group.zarr_format, group.version, ("",))
    if isinstance(ome.get("well"), dict):
        return Layout("well", group.zarr_format, group.version, tuple(_well_fields(root, "")))
    if "bioformats2raw.layout" in ome:
        series = tuple(_series(root))
        version = group.version
        if version is None and series:  # the root of a container has none; its images do
            first = read_group(root / series[0])
            version = first.version if first else None
        return Layout("container", group.zarr_format, version, series)
    return Layout("unknown", group.zarr_format, group.version, ())


def _plate_fields(root: Path, plate: dict[str, Any]) -> list[str]:
    wells = [w for w in plate.get("wells") or [] if isinstance(w, dict) and w.get("path")]
    wells.sort(key=lambda w: (_int(w.get("rowIndex")), _int(w.get("columnIndex")), w["path"]))
    fields: list[str] = []
    for well in wells:
        fields.extend(_well_fields(root, str(well["path"]).strip("/")))
    return fields


def _well_fields(root: Path, well: str) -> list[str]:
    group = read_group(root / well) if well else read_group(root)
    if group is None or not isinstance(group.ome.get("well"), dict):
        return []
    images = group.ome["well"].get("images") or []
    paths = [str(i["path"]).strip("/") for i in images if isinstance(i, dict) and i.get("path")]
    return [f"{well}/{p}" if well else p for p in paths]


def _series(root: Path) -> list[str]:
    """bioformats2raw images: the ``series`` list in ``OME/``, else numbered groups."""
    ome_group = read_group(root / "OME")
    if ome_group is not None and isinstance(ome_group.ome.get("series"), list):
        return [str(s).strip("/") for s in ome_group.ome["series"] if str(s).strip("/")]
    numbered = [p.name for p in root.iterdir() if p.name.isdigit() and is_zarr(p)]
    return sorted(numbered, key=int)


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 1 << 30


# --- multiscale images ---------------------------------------------------------------


@dataclass(frozen=True)
class Level:
    path: str  # relative to the image group
    shape: tuple[int, ...]
    chunks: tuple[int, ...]  # the unit zarr decodes (inner chunks when sharded)
    dtype: np.dtype


@dataclass(frozen=True)
class Multiscale:
    """A multiscale image: axes, levels (largest first), omero channels."""

    group: Group
    axes: tuple[str, ...]  # lower-case names, e.g. ("t", "c", "z", "y", "x")
    units: tuple[str | None, ...]
    levels: tuple[str, ...]  # dataset paths
    scales: tuple[tuple[float, ...] | None, ...]
    omero: dict[str, Any]
    name: str | None


def image_at(root: Path, relative: str = "") -> Multiscale:
    group = read_group(root / relative if relative else root)
    if group is None:
        raise Unrenderable("OME-Zarr image group has no metadata")
    multiscales = group.ome.get("multiscales")
    if not isinstance(multiscales, list) or not multiscales or not isinstance(multiscales[0], dict):
        raise Unrenderable("OME-Zarr group has no multiscales metadata")
    first = multiscales[0]
    datasets = [d for d in first.get("datasets") or [] if isinstance(d, dict) and d.get("path")]
    if not datasets:
        raise Unrenderable("OME-Zarr multiscales lists no datasets")
    raw_axes = first.get("axes") or ["t", "c", "z", "y", "x"]  # 0.1 and 0.2 had none
    names: list[str] = []
    units: list[str | None] = []
    for axis in raw_axes:
        if isinstance(axis, dict):
            names.append(str(axis.get("name", "")).lower())
            units.append(str(axis["unit"]) if axis.get("unit") else None)
        else:
            names.append(str(axis).lower())
            units.append(None)
    scales = tuple(_scale(d, len(names)) for d in datasets)
    omero = group.ome.get("omero")
    if not isinstance(omero, dict):
        meta = first.get("metadata")
        omero = meta.get("omero") if isinstance(meta, dict) else None
    return Multiscale(
        group=group,
        axes=tuple(names),
        units=tuple(units),
        levels=tuple(str(d["path"]).strip("/") for d in datasets),
        scales=scales,
        omero=omero if isinstance(omero, dict) else {},
        name=str(first["name"]) if first.get("name") is not None else None,
    )


def _scale(dataset: dict[str, Any], ndim: int) -> tuple[float, ...] | None:
    for transform in dataset.get("coordinateTransformations") or []:
        if isinstance(transform, dict) and transform.get("type") == "scale":
            scale = transform.get("scale")
            if isinstance(scale, list) and len(scale) == ndim:
                try:
                    return tuple(float(v) for v in scale)
                except (TypeError, ValueError):
                    return None
    return None


def read_level(image: Multiscale, path: str) -> Level:
    """Shape, decode unit and type of one level, from its metadata file only."""
    where = image.group.path / path
    if image.group.zarr_format == 3:
        meta = _json(where / "zarr.json")
        shape = tuple(int(n) for n in meta.get("shape") or ())
        grid = (meta.get("chunk_grid") or {}).get("configuration") or {}
        chunks = tuple(int(n) for n in grid.get("chunk_shape") or shape)
        for codec in meta.get("codecs") or []:
            if isinstance(codec, dict) and codec.get("name") == "sharding_indexed":
                inner = (codec.get("configuration") or {}).get("chunk_shape")
                chunks = tuple(int(n) for n in inner or chunks)
        dtype = _dtype(meta.get("data_type"))
    else:
        meta = _json(where / ".zarray")
        shape = tuple(int(n) for n in meta.get("shape") or ())
        chunks = tuple(int(n) for n in meta.get("chunks") or shape)
        dtype = _dtype(meta.get("dtype"))
    if len(shape) != len(image.axes) or len(chunks) != len(shape):
        raise Unrenderable(f"OME-Zarr level {path} does not match the axes {image.axes}")
    return Level(path, shape, chunks, dtype)


def _dtype(value: Any) -> np.dtype:
    import numpy as np

    try:
        if isinstance(value, str):
            return np.dtype(value)
    except TypeError:
        pass
    return np.dtype(np.float64)  # unusual types: sizes are estimated as 8 bytes a value


def pick_level(image: Multiscale, max_size: int) -> Level:
    """The smallest level whose longer side (x or y) is at least ``max_size``."""
    levels = [read_level(image, p) for p in image.levels]
    y, x = _axis(image, "y"), _axis(image, "x")
    for level in reversed(levels):
        if max(level.shape[y], level.shape[x]) >= max_size:
            return level
    return levels[0]


def _axis(image: Multiscale, name: str) -> int:
    if name not in image.axes:
        raise Unrenderable(f"OME-Zarr image has no {name} axis")
    return image.axes.index(name)


def omero_channels(image: Multiscale) -> list[dict[str, Any]]:
    channels = image.omero.get("channels")
    return (
        [c if isinstance(c, dict) else {} for c in channels] if isinstance(channels, list) else []
    )


def parse_colour(value: Any) -> Colour | None:
    """``RRGGBB`` (omero) as a colour; anything else as None."""
    text = str(value or "").strip().lstrip("#")
    if len(text) not in (6, 8):
        return None
    try:
        number = int(text[:6], 16)
    except ValueError:
        return None
    return (number >> 16) & 255, (number >> 8) & 255, number & 255


# --- thumbnails ----------------------------------------------------------------------


def thumbnail_image(root: Path) -> str:
    """Which image a thumbnail of this root shows: the image itself, or the first field
    of the first well of a plate, or the first image of a container."""
    found = layout(root)
    if not found.images:
        raise Unrenderable(f"OME-Zarr {found.kind} holds no image")
    return found.images[0]


def render_zarr(root: Path, settings: ThumbnailSettings) -> Image.Image:
    from catalogue.imaging.pixels import composite, fit, reduction_factor

    image = image_at(root, thumbnail_image(root))
    level = pick_level(image, settings.max_size)
    y_axis, x_axis = _axis(image, "y"), _axis(image, "x")
    height, width = level.shape[y_axis], level.shape[x_axis]
    if height * width == 0:
        raise Unrenderable("OME-Zarr image is empty")
    c_axis = image.axes.index("c") if "c" in image.axes else None
    z_axis = image.axes.index("z") if "z" in image.axes else None
    channels = level.shape[c_axis] if c_axis is not None else 1
    shown, colours = _shown_channels(image, channels)
    depth = level.shape[z_axis] if z_axis is not None else 1
    planes = range(depth)
    if len(shown) * depth * height * width > settings.max_pixels:
        planes = range(depth // 2, depth // 2 + 1)  # the middle plane instead of all
        if len(shown) * height * width > settings.max_pixels:
            raise too_large(width, height)
    unit = math.prod(level.chunks) * level.dtype.itemsize
    if unit > settings.max_held_bytes:
        raise Unrenderable(f"OME-Zarr chunks too large to preview ({level.chunks})")
    factor = reduction_factor(width, height, settings.max_size)
    array = _open_array(image, level)
    reduced = [_projection(array, image.axes, level, c, planes, factor, settings) for c in shown]
    target = fit(width, height, settings.max_size)
    return composite(reduced, colours, target, settings.low_percentile, settings.high_percentile)


def _shown_channels(image: Multiscale, channels: int) -> tuple[list[int], list[Colour]]:
    """The active channels (all, when none is marked) in their omero colours."""
    from catalogue.imaging.pixels import MAX_CHANNELS, palette, usable_colours

    meta = omero_channels(image)
    if len(meta) != channels:
        meta = [{} for _ in range(channels)]
    shown = [i for i, c in enumerate(meta) if c.get("active", True) is not False] or list(
        range(channels)
    )
    if len(shown) > MAX_CHANNELS:
        shown = shown[:1]
    stored = [parse_colour(meta[i].get("color")) for i in shown]
    return shown, usable_colours(stored, len(shown)) or palette(len(shown))


def _open_array(image: Multiscale, level: Level) -> Any:
    import zarr

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return zarr.open_array(
            str(image.group.path / level.path), mode="r", zarr_format=image.group.zarr_format
        )


def _projection(
    array: Any,
    axes: tuple[str, ...],
    level: Level,
    channel: int,
    planes: range,
    factor: int,
    settings: ThumbnailSettings,
) -> np.ndarray:
    """Maximum over ``planes`` of one channel at the first time point, reduced.

    Reads slabs of one chunk in z and one chunk row in y, full width, so each chunk is
    decoded once and memory holds one slab.
    """
    import numpy as np

    from catalogue.imaging.pixels import BlockReducer

    y, x = axes.index("y"), axes.index("x")
    z = axes.index("z") if "z" in axes else None
    height, width = level.shape[y], level.shape[x]
    band = level.chunks[y]
    depth = level.chunks[z] if z is not None else 1
    slab_bytes = depth * band * width * level.dtype.itemsize
    if slab_bytes > settings.max_held_bytes:
        depth = 1
        if band * width * level.dtype.itemsize > settings.max_held_bytes:
            raise too_large(width, level.shape[y])
    kept = [name for axis, name in enumerate(axes) if axis in (y, x) or axis == z]
    order = [kept.index(n) for n in ("z", "y", "x") if n in kept]
    result: np.ndarray | None = None
    for z0 in range(planes.start, planes.stop, depth):
        z1 = min(planes.stop, (z0 // depth + 1) * depth)
        count = z1 - z0 if z is not None else 1
        reducers = [BlockReducer(height, width, 1, factor, level.dtype) for _ in range(count)]
        for y0 in range(0, height, band):
            index: list[Any] = []
            for axis, name in enumerate(axes):
                if axis == y:
                    index.append(slice(y0, min(height, y0 + band)))
                elif axis == x:
                    index.append(slice(None))
                elif axis == z:
                    index.append(slice(z0, z1))
                elif name == "c":
                    index.append(channel)
                else:
                    index.append(0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                slab = np.transpose(np.asarray(array[tuple(index)]), order)
            if z is None:
                slab = slab[None]
            for plane, reducer in zip(slab, reducers, strict=True):
                reducer.feed(plane[..., None])
        for reducer in reducers:
            plane = reducer.out[..., 0]
            result = plane.copy() if result is None else np.fmax(result, plane)
    assert result is not None
    return result


# --- source identity -----------------------------------------------------------------


def identity_files(root: Path, settings: ThumbnailSettings) -> tuple[list[Path], list[Path]]:
    """The files a thumbnail of ``root`` depends on: (metadata files, chunk files).

    Metadata: every zarr metadata file from the root down to the level read (root,
    well and field groups of a plate, the image group, the level array). Chunks: every
    file under the level read. A change anywhere else (a higher resolution level,
    another well) cannot change the thumbnail, so it does not count. When the layout
    cannot be read, the root's metadata files alone (the render will warn).
    """
    metadata = [root / n for n in METADATA_FILES if (root / n).is_file()]
    try:
        relative = thumbnail_image(root)
        image = image_at(root, relative)
        level = pick_level(image, settings.max_size)
    except Unrenderable:
        return metadata, []
    # bioformats2raw's series list decides which image is shown
    folders = [root / "OME"]
    folder = root
    for part in [p for p in relative.split("/") if p]:
        folder = folder / part
        folders.append(folder)
    for where in folders:
        metadata.extend(where / n for n in METADATA_FILES if (where / n).is_file())
    level_dir = image.group.path / level.path
    metadata.extend(level_dir / n for n in METADATA_FILES if (level_dir / n).is_file())
    chunks = sorted(p for p in level_dir.rglob("*") if p.is_file() and p.name not in METADATA_FILES)
    return sorted(set(metadata)), chunks
