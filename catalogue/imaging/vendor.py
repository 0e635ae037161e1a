"""Openers for Nikon ND2, Leica LIF, Zeiss CZI and MRC (cryo-EM) files.

Each turns one file into a ``Stack`` (see ``stacks.py``) using the format's maintained
reader: ``nd2`` (Talley Lambert, wraps Nikon's SDK layout), ``readlif`` (Leica LIF),
``aicspylibczi`` (Allen Institute, over Zeiss's libCZI) and ``mrcfile`` (CCP-EM). All
sizes come from the header before any pixel is read, and every reader hands out one
plane at a time, so ``stacks.check_bounds`` can refuse an oversized image cheaply.

The libraries are an optional extra (``pip install 'catalogue[formats]'``): without
one, its format still gets a badge, and ``inspect`` says which extra to install.
"""

from __future__ import annotations

import importlib
import math
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any
from xml.etree import ElementTree

import numpy as np

from catalogue.imaging.base import Unrenderable
from catalogue.imaging.stacks import Channel, Stack

EXTRA = "formats"
_LIBRARIES = {"ND2": "nd2", "LIF": "readlif.reader", "CZI": "aicspylibczi", "MRC": "mrcfile"}
_PACKAGES = {"ND2": "nd2", "LIF": "readlif", "CZI": "aicspylibczi", "MRC": "mrcfile"}
FORMATS = frozenset(_LIBRARIES)


class MissingReader(Unrenderable):
    """The format is known and readable, but its optional library is not installed."""


def _library(kind: str) -> ModuleType:
    try:
        return importlib.import_module(_LIBRARIES[kind])
    except ImportError as exc:
        raise MissingReader(
            f"reading {kind} needs the Python package {_PACKAGES[kind]}: "
            f"pip install 'catalogue[{EXTRA}]'"
        ) from exc


def available(kind: str) -> bool:
    try:
        _library(kind)
    except MissingReader:
        return False
    return True


def open_stack(path: Path, kind: str) -> Stack:
    """Open ``path`` (already sniffed as ``kind``) as a Stack; the caller closes it."""
    library = _library(kind)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if kind == "ND2":
            return _ND2(path, library)
        if kind == "LIF":
            return _lif(path, library)
        if kind == "CZI":
            return _CZI(path, library)
        return _MRC(path, library)


def _positive(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number > 0 else None


# --- Nikon ND2 -----------------------------------------------------------------------


class _ND2(Stack):
    """A sequence of frames, each holding every channel (C is inside a frame in ND2)."""

    def __init__(self, path: Path, nd2: ModuleType) -> None:
        self._file = nd2.ND2File(str(path))
        try:
            sizes = dict(self._file.sizes)
            attributes = self._file.attributes
            samples = int(sizes.get("S", 1))
            super().__init__(
                format="ND2",
                sizes={
                    "X": int(sizes.get("X", attributes.widthPx or 0)),
                    "Y": int(sizes.get("Y", attributes.heightPx or 0)),
                    "Z": int(sizes.get("Z", 1)),
                    "C": int(sizes.get("C", 1)),
                    "T": int(sizes.get("T", 1)),
                },
                dtype=np.dtype(self._file.dtype),
                samples=samples,
            )
            self.extra["series"] = int(sizes.get("P", 1))
            voxel = self._file.voxel_size()
            for axis, value in (("X", voxel.x), ("Y", voxel.y), ("Z", voxel.z)):
                if _positive(value) and (axis != "Z" or self.sizes["Z"] > 1):
                    self.physical[axis] = (float(value), "µm")
            self._frames: dict[tuple[int, int], int] = {}
            for index, loops in enumerate(self._file.loop_indices):
                if loops.get("P", 0) == 0:
                    self._frames.setdefault((loops.get("Z", 0), loops.get("T", 0)), index)
            metadata = self._file.metadata
            microscope = None
            for entry in metadata.channels or []:
                colour = entry.channel.color
                self.channels.append(
                    Channel(
                        entry.channel.name,
                        (colour.r, colour.g, colour.b) if colour is not None else None,
                        _positive(entry.channel.excitationLambdaNm),
                        _positive(entry.channel.emissionLambdaNm),
                    )
                )
                microscope = microscope or entry.microscope
            if microscope is not None:
                objective: dict[str, Any] = {}
                if microscope.objectiveName:
                    objective["model"] = microscope.objectiveName
                if _positive(microscope.objectiveMagnification):
                    objective["magnification"] = float(microscope.objectiveMagnification)
                if _positive(microscope.objectiveNumericalAperture):
                    objective["na"] = float(microscope.objectiveNumericalAperture)
                if objective:
                    self.extra["instrument"] = {"objectives": [objective]}
            info = self._file.text_info or {}
            if info.get("date"):
                self.extra["acquisition_date"] = str(info["date"]).strip()
        except Exception:
            self._file.close()
            raise

    def plane(self, c: int, z: int, t: int) -> np.ndarray:
        frame = np.asarray(self._file.read_frame(self._frames[(z, t)]))
        if self.samples > 1:
            return frame  # RGB: (Y, X, S), one channel
        return frame[c] if frame.ndim == 3 else frame

    def close(self) -> None:
        self._file.close()


# --- Leica LIF -----------------------------------------------------------------------


class _LIF(Stack):
    def __init__(self, image: Any, count: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._image = image
        self.extra["series"] = count

    def plane(self, c: int, z: int, t: int) -> np.ndarray:
        return np.asarray(self._image.get_frame(z=z, t=t, c=c, m=0))


def _lif(path: Path, readlif: ModuleType) -> Stack:
    lif = readlif.LifFile(str(path))
    if lif.num_images < 1:
        raise ValueError("no image found")
    image = lif.get_image(0)
    info = image.info
    dims = info["dims"]
    bits = max(info.get("bit_depth") or (8,))
    dtype = np.dtype(np.uint8 if bits <= 8 else np.uint16)
    physical: dict[str, tuple[float, str]] = {}
    scale = info.get("scale") or ()
    # readlif gives pixels per micrometre; a size is its inverse.
    for axis, value, count in zip("XYZ", scale[:3], (dims.x, dims.y, dims.z), strict=False):
        if _positive(value) and (axis != "Z" or count > 1):
            physical[axis] = (1.0 / float(value), "µm")
    settings = info.get("settings") or {}
    extra: dict[str, Any] = {"image_name": info.get("name")}
    objective: dict[str, Any] = {}
    if settings.get("ObjectiveName"):
        objective["model"] = " ".join(str(settings["ObjectiveName"]).split())
    for key, name in (("magnification", "Magnification"), ("na", "NumericalAperture")):
        if _positive(settings.get(name)):
            objective[key] = float(settings[name])
    if settings.get("Immersion"):
        objective["immersion"] = str(settings["Immersion"])
    instrument: dict[str, Any] = {}
    if settings.get("MicroscopeModel"):
        instrument["microscope"] = f"Leica {settings['MicroscopeModel']}"
    if objective:
        instrument["objectives"] = [objective]
    if instrument:
        extra["instrument"] = instrument
    return _LIF(
        image,
        lif.num_images,
        format="LIF",
        sizes={"X": dims.x, "Y": dims.y, "Z": dims.z, "C": image.channels, "T": dims.t},
        dtype=dtype,
        physical=physical,
        channels=[Channel() for _ in range(image.channels)],
        extra=extra,
    )


# --- Zeiss CZI -----------------------------------------------------------------------

_CZI_TYPES = {
    "gray8": (np.uint8, 1),
    "gray16": (np.uint16, 1),
    "gray32float": (np.float32, 1),
    "bgr24": (np.uint8, 3),
    "bgr48": (np.uint16, 3),
}


class _CZI(Stack):
    """The first scene; mosaics are read at the resolution the request needs."""

    def __init__(self, path: Path, aicspylibczi: ModuleType) -> None:
        self._czi = aicspylibczi.CziFile(str(path))
        czi = self._czi
        shape = czi.get_dims_shape()[0]
        kind = _CZI_TYPES.get(czi.pixel_type)
        if kind is None:
            raise Unrenderable(f"CZI pixel type {czi.pixel_type} is not supported")

        def size(axis: str) -> int:
            low, high = shape.get(axis, (0, 1))
            return int(high - low)

        self._mosaic = bool(czi.is_mosaic())
        width, height = size("X"), size("Y")
        if self._mosaic:
            box = czi.get_mosaic_scene_bounding_box(index=0) if "S" in shape else None
            box = box or czi.get_mosaic_bounding_box()
            self._box = (box.x, box.y, box.w, box.h)
            width, height = box.w, box.h
        super().__init__(
            format="CZI",
            sizes={"X": width, "Y": height, "Z": size("Z"), "C": size("C"), "T": size("T")},
            dtype=np.dtype(kind[0]),
            samples=kind[1],
        )
        skip = "XYACZTM" if self._mosaic else "XYACZT"
        self._fixed = {axis: low for axis, (low, _) in shape.items() if axis not in skip}
        self.extra["series"] = size("S")
        self._metadata(czi.meta)

    def _metadata(self, root: ElementTree.Element | None) -> None:
        if root is None:
            return
        for distance in root.findall(".//Scaling/Items/Distance"):
            axis, value = distance.get("Id"), _positive(distance.findtext("Value"))
            if axis in ("X", "Y", "Z") and value and (axis != "Z" or self.sizes["Z"] > 1):
                self.physical[axis] = (value * 1e6, "µm")  # CZI stores metres
        for channel in root.findall(".//Information/Image/Dimensions/Channels/Channel"):
            self.channels.append(
                Channel(
                    channel.get("Name"),
                    _argb(channel.findtext("Color")),
                    _positive(channel.findtext("ExcitationWavelength")),
                    _positive(channel.findtext("EmissionWavelength")),
                )
            )
        date = root.findtext(".//Information/Image/AcquisitionDateAndTime")
        if date:
            self.extra["acquisition_date"] = date.strip()
        instrument: dict[str, Any] = {}
        system = root.findtext(".//Information/Instrument/Microscopes/Microscope/System")
        if system:
            instrument["microscope"] = f"Zeiss {system.strip()}"
        objectives = []
        for objective in root.findall(".//Information/Instrument/Objectives/Objective"):
            entry: dict[str, Any] = {}
            if objective.get("Name"):
                entry["model"] = objective.get("Name")
            for key, name in (("magnification", "NominalMagnification"), ("na", "LensNA")):
                if _positive(objective.findtext(name)):
                    entry[key] = round(float(objective.findtext(name) or 0), 4)
            if objective.findtext("Immersion"):
                entry["immersion"] = objective.findtext("Immersion")
            if entry:
                objectives.append(entry)
        if objectives:
            instrument["objectives"] = objectives
        if instrument:
            self.extra["instrument"] = instrument

    def plane(self, c: int, z: int, t: int) -> np.ndarray:
        index = {**self._fixed, "C": c}
        if self.sizes["Z"] > 1 or z:
            index["Z"] = z
        if self.sizes["T"] > 1 or t:
            index["T"] = t
        if self._mosaic:
            data = self._czi.read_mosaic(region=self._box, scale_factor=1.0, **index)
        else:
            data, _ = self._czi.read_image(**index)
        data = np.asarray(data)
        keep = 3 if self.samples > 1 else 2
        while data.ndim > keep and data.shape[0] == 1:
            data = data[0]
        if self.samples == 3:
            data = data[..., ::-1]  # Zeiss stores BGR
        return data


def _argb(text: str | None) -> tuple[int, int, int] | None:
    """Zeiss colours are ``#AARRGGBB``."""
    if not text:
        return None
    value = text.strip().lstrip("#")
    try:
        number = int(value, 16)
    except ValueError:
        return None
    return ((number >> 16) & 255, (number >> 8) & 255, number & 255)


# --- MRC / MAP / REC -----------------------------------------------------------------

_MRC_MODES = {0: np.int8, 1: np.int16, 2: np.float32, 6: np.uint16, 12: np.float16}


class _MRC(Stack):
    """Maps and tomograms are volumes (Z); an image stack's sections are shown first only.

    The header is read first and checked; pixels are then memory-mapped, so a section
    costs its own bytes only.
    """

    def __init__(self, path: Path, mrcfile: ModuleType) -> None:
        with mrcfile.open(str(path), mode="r", permissive=True, header_only=True) as mrc:
            header = mrc.header
            mode = int(header.mode)
            nx, ny, nz = int(header.nx), int(header.ny), int(header.nz)
            voxel = mrc.voxel_size
            volume = int(header.ispg) != 0 or nz == 1 or int(header.mz) == nz
        dtype: np.dtype[Any]
        if mode == 16:
            dtype, samples = np.dtype(np.uint8), 3
        elif mode in _MRC_MODES:
            dtype, samples = np.dtype(_MRC_MODES[mode]), 1
        else:
            raise Unrenderable(f"MRC mode {mode} is not supported")
        if min(nx, ny, nz) < 1:
            raise Unrenderable("MRC header declares an empty image")
        expected = nx * ny * nz * samples * dtype.itemsize
        if path.stat().st_size < 1024 + expected:
            raise Unrenderable("MRC file is shorter than its header says (truncated?)")
        super().__init__(
            format="MRC",
            sizes={"X": nx, "Y": ny, "Z": nz if volume else 1, "C": 1, "T": 1 if volume else nz},
            dtype=dtype,
            samples=samples,
            projection="mean",
        )
        for axis, value, count in (("X", voxel.x, nx), ("Y", voxel.y, ny), ("Z", voxel.z, nz)):
            if _positive(value) and (axis != "Z" or (volume and count > 1)):
                self.physical[axis] = (float(value), "Å")
        self.extra["mrc_mode"] = mode
        self.extra["kind"] = "volume" if volume else "image stack"
        self._mmap = mrcfile.mmap(str(path), mode="r", permissive=True)

    def plane(self, c: int, z: int, t: int) -> np.ndarray:
        data = self._mmap.data
        if data is None:
            raise Unrenderable("MRC file has no readable data")
        if data.ndim == 2:
            return np.asarray(data)
        return np.asarray(data[z if self.sizes["Z"] > 1 else t])

    def close(self) -> None:
        self._mmap.close()
