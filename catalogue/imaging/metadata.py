"""What can be read about an image without its pixels: ``catalogue inspect`` and harvest.

One function, ``inspect_image``, returns a JSON-able record for a TIFF/OME-TIFF/SVS
file, an OME-Zarr folder, or a PNG/JPEG/GIF/BMP file: format, dimensions (X, Y, Z, C,
T), pixel type, pyramid levels, physical pixel sizes with units, channel names and
colours, and instrument, objective and detector where OME-XML has them. Only headers
and metadata are read, so it is fast on any size of image and safe on any input:
problems end up in ``warning``, never as an exception.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import tifffile

from catalogue.imaging.base import Badge, Unrenderable
from catalogue.imaging.ngff import (
    Multiscale,
    image_at,
    layout,
    omero_channels,
    parse_colour,
    read_group,
    read_level,
)
from catalogue.imaging.stacks import stack_record
from catalogue.imaging.thumbnail import _PLUGINS, _TIFFFILE_LOG, _reason, sniff
from catalogue.imaging.vendor import FORMATS as STACK_FORMATS
from catalogue.imaging.vendor import MissingReader, open_stack

DIMENSIONS = ("X", "Y", "Z", "C", "T")
# OME unit symbols for TIFF resolution units; OME's default length unit is µm.
_MICRONS_PER = {2: 25400.0, 3: 10000.0}  # RESUNIT.INCH, RESUNIT.CENTIMETER
_OME_PIXEL_TYPES = {
    "int8",
    "int16",
    "int32",
    "uint8",
    "uint16",
    "uint32",
    "float",
    "double",
    "complex",
    "double-complex",
    "bit",
}
_NUMPY_TO_OME = {
    "bool": "bit",
    "float32": "float",
    "float64": "double",
    "complex64": "complex",
    "complex128": "double-complex",
}


def inspect_image(path: Path) -> dict[str, Any]:
    """Everything readable about ``path`` as a JSON-able dict (see the module docstring)."""
    path = Path(path)
    record: dict[str, Any] = {"path": str(path), "format": None, "readable": False}
    kind = "file"
    log: list[str] = []
    try:
        kind = sniff(path)
        with _TIFFFILE_LOG.capture() as log:
            if kind == "TIFF":
                record.update(_tiff(path))
            elif kind == "OME-Zarr":
                record.update(_zarr(path))
            elif kind in STACK_FORMATS:
                with open_stack(path, kind) as stack:
                    record.update(stack_record(stack))
            else:
                record.update(_pillow(path, kind))
        record["readable"] = True
    except Badge as exc:
        record["format"] = str(exc)
        record["note"] = "no reader for this format here; metadata not read"
    except MissingReader as exc:
        record["format"] = kind
        record["warning"] = str(exc)
    except Unrenderable as exc:
        record["format"] = record["format"] or (kind if kind != "file" else None)
        record["warning"] = str(exc)
    except Exception as exc:  # a broken file must never stop inspect or harvest
        record["format"] = kind if kind != "file" else None
        record["warning"] = f"cannot read {kind}: {_reason(exc, log, path)}"
    return record


def ome_pixel_type(dtype: Any) -> str:
    name = str(dtype)
    return _NUMPY_TO_OME.get(name, name)


# --- TIFF ----------------------------------------------------------------------------


def _tiff(path: Path) -> dict[str, Any]:
    with tifffile.TiffFile(path) as tif:
        if not tif.series:
            raise ValueError("no image found")  # tifffile's log usually says why
        series = tif.series[0]
        fmt = (
            "OME-TIFF"
            if tif.is_ome
            else "SVS"
            if tif.is_svs
            else "LSM"
            if tif.is_lsm
            else "ImageJ TIFF"
            if tif.is_imagej
            else "TIFF"
        )
        sizes = dict(zip(series.axes, series.shape, strict=True))
        samples = sizes.get("S", 1)
        dims = {
            "X": sizes.get("X", 1),
            "Y": sizes.get("Y", 1),
            "Z": sizes.get("Z", 1),
            "C": sizes.get("C", 1) * samples,
            "T": sizes.get("T", 1) * sizes.get("I", 1) * sizes.get("Q", 1),
        }
        out: dict[str, Any] = {
            "format": fmt,
            "dimensions": dims,
            "axes": series.axes,
            "pixel_type": ome_pixel_type(series.dtype),
            "levels": [_xy(level) for level in (series.levels or [series])],
            "series": len(tif.series),
            "physical_size": _tiff_physical(tif, series),
            "channels": [],
        }
        if fmt == "SVS":
            out.update(_svs(tif.pages.first.description))
        if tif.is_stk and tif.stk_metadata:
            out.update(_metamorph(tif.stk_metadata))
        if tif.is_ome and tif.ome_metadata:
            out.update(_ome_xml(tif.ome_metadata))
        if tif.is_lsm and tif.lsm_metadata:
            out.update(_lsm(tif.lsm_metadata, dims))
        if tif.is_imagej and tif.imagej_metadata:
            out.update(_imagej(tif.imagej_metadata, dims))
        return out


def _lsm(meta: dict[str, Any], dims: dict[str, int]) -> dict[str, Any]:
    """Zeiss LSM (CZ_LSMINFO tag): voxel sizes in metres, channel names and colours."""
    out: dict[str, Any] = {}
    physical = {}
    for axis in ("X", "Y", "Z"):
        value = _float(meta.get(f"VoxelSize{axis}"))
        # an unset Z step is stored as a tiny placeholder (1e-19 m)
        if value and value > 1e-12 and (axis != "Z" or dims.get("Z", 1) > 1):
            physical[axis] = _size(value * 1e6, "µm")
    if physical:
        out["physical_size"] = physical
    colours = meta.get("ChannelColors") or {}
    names = list(colours.get("ColorNames") or [])
    values = list(colours.get("Colors") or [])
    if names:
        out["channels"] = [
            {
                "name": str(name),
                "colour": "#{:02X}{:02X}{:02X}".format(*values[i][:3])
                if i < len(values) and len(values[i]) >= 3
                else None,
            }
            for i, name in enumerate(names)
        ]
    scan = meta.get("ScanInformation") or {}
    if isinstance(scan, dict) and scan.get("Objective"):
        objective: dict[str, Any] = {"model": str(scan["Objective"])}
        found = re.search(r"(\d+(?:\.\d+)?)x/(\d+(?:\.\d+)?)", objective["model"])
        if found:
            objective["magnification"] = float(found.group(1))
            objective["na"] = float(found.group(2))
        out["instrument"] = {"microscope": "Zeiss LSM", "objectives": [objective]}
    return out


def _imagej(meta: dict[str, Any], dims: dict[str, int]) -> dict[str, Any]:
    """ImageJ hyperstacks: channel labels (``Labels``), colours (the channels' LUTs),
    display ranges and the frame interval."""
    from catalogue.imaging.tiff import lut_colour

    out: dict[str, Any] = {}
    labels = meta.get("Labels")
    channels = dims.get("C", 1)
    luts = meta.get("LUTs")
    luts = luts if isinstance(luts, list) else []
    colours = [lut_colour(lut) for lut in luts[:channels]] if len(luts) >= channels else []
    names: list[Any] = labels if isinstance(labels, list) else []
    named = channels > 1 and len(names) >= channels
    if named or (channels > 1 and any(colours)):
        out["channels"] = []
        for index in range(channels):
            colour = colours[index] if index < len(colours) else None
            out["channels"].append(
                {
                    "name": str(names[index]) if named else None,
                    "colour": "#{:02X}{:02X}{:02X}".format(*colour) if colour else None,
                }
            )
    if _float(meta.get("finterval")):
        out["frame_interval"] = {"value": _float(meta.get("finterval")), "unit": "s"}
    return out


def _xy(level: tifffile.TiffPageSeries) -> dict[str, int]:
    sizes = dict(zip(level.axes, level.shape, strict=True))
    return {"X": int(sizes.get("X", 0)), "Y": int(sizes.get("Y", 0))}


def _tiff_physical(tif: tifffile.TiffFile, series: tifffile.TiffPageSeries) -> dict[str, Any]:
    """Pixel sizes from ImageJ metadata or TIFF resolution tags, in micrometres."""
    page = series.keyframe
    physical: dict[str, Any] = {}
    imagej = tif.imagej_metadata or {}
    try:
        x_res, y_res = page.get_resolution()
    except Exception:
        x_res = y_res = 0
    unit = page.resolutionunit
    scale = _MICRONS_PER.get(int(unit)) if unit is not None else None
    if imagej.get("unit") in ("micron", "um", "µm", "\\u00B5m"):
        scale = 1.0
    if scale and x_res and y_res:
        x_size, y_size = scale / x_res, scale / y_res
        # Per inch, screen and print resolutions (72 to 600 dpi) are writers' defaults,
        # not a calibration: only a scale finer than 10 µm a pixel is believed.
        if unit != tifffile.RESUNIT.INCH or max(x_size, y_size) < 10:
            physical["X"] = _size(x_size, "µm")
            physical["Y"] = _size(y_size, "µm")
    if scale == 1.0 and imagej.get("spacing"):
        physical["Z"] = _size(float(imagej["spacing"]), "µm")
    return physical


def _metamorph(meta: dict[str, Any]) -> dict[str, Any]:
    """MetaMorph (STK/UIC tags): calibration, illumination setting, objective."""
    out: dict[str, Any] = {}
    x, y = _float(meta.get("XCalibration")), _float(meta.get("YCalibration"))
    if meta.get("SpatialCalibration") and x and y:
        unit = str(meta.get("CalibrationUnits") or "um").replace("um", "µm")
        out["physical_size"] = {"X": _size(x, unit), "Y": _size(y, unit)}
    properties = {
        p.get("name"): p.get("value")
        for p in meta.get("PlaneProperty") or []
        if isinstance(p, dict)
    }
    name = meta.get("Name") or properties.get("_IllumSetting_")
    if name:
        channel: dict[str, Any] = {"name": str(name), "colour": None}
        if _float(meta.get("wavelength")):
            channel["emission_wavelength"] = _float(meta.get("wavelength"))
        out["channels"] = [channel]
    objective: dict[str, Any] = {}
    if properties.get("_MagSetting_"):
        objective["model"] = str(properties["_MagSetting_"])
        found = re.match(r"\s*(\d+(?:\.\d+)?)\s*[xX]", objective["model"])
        if found:
            objective["magnification"] = float(found.group(1))
    if _float(properties.get("_MagNA_")):
        objective["na"] = _float(properties.get("_MagNA_"))
    if objective:
        out["instrument"] = {"objectives": [objective]}
    return out


def _size(value: float, unit: str) -> dict[str, Any]:
    return {"value": float(f"{value:.6g}"), "unit": unit}


def _svs(description: str) -> dict[str, Any]:
    """Aperio's description: ``… |AppMag = 20|MPP = 0.4990|…``."""
    fields = dict(
        (k.strip(), v.strip())
        for k, _, v in (part.partition("=") for part in description.split("|"))
        if v
    )
    out: dict[str, Any] = {}
    mpp = _float(fields.get("MPP"))
    if mpp:
        out["physical_size"] = {"X": _size(mpp, "µm"), "Y": _size(mpp, "µm")}
    magnification = _float(fields.get("AppMag"))
    if magnification:
        out["instrument"] = {"objectives": [{"magnification": magnification}]}
        if fields.get("ScanScope ID"):
            out["instrument"]["microscope"] = f"Aperio ScanScope {fields['ScanScope ID']}"
    return out


def _float(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


# --- OME-XML -------------------------------------------------------------------------


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(element: ElementTree.Element, name: str) -> list[ElementTree.Element]:
    return [e for e in element if _local(e.tag) == name]


def _ome_colour(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        number = int(value) & 0xFFFFFFFF
    except ValueError:
        return None
    return f"#{(number >> 24) & 255:02X}{(number >> 16) & 255:02X}{(number >> 8) & 255:02X}"


def _ome_xml(xml: str) -> dict[str, Any]:
    """Dimensions, pixel sizes, channels and instrument of the first OME Image."""
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError:
        return {"warning": "OME-XML is not well-formed; read from TIFF tags instead"}
    images = _children(root, "Image")
    if not images:
        return {}
    image = images[0]
    out: dict[str, Any] = {"images": len(images)}
    if image.get("Name"):
        out["image_name"] = image.get("Name")
    dates = _children(image, "AcquisitionDate")
    if dates and dates[0].text:
        out["acquisition_date"] = dates[0].text.strip()
    pixels = next(iter(_children(image, "Pixels")), None)
    if pixels is not None:
        dims = {d: int(pixels.get(f"Size{d}", "1") or 1) for d in DIMENSIONS}
        out["dimensions"] = dims
        if pixels.get("Type") in _OME_PIXEL_TYPES:
            out["pixel_type"] = pixels.get("Type")
        physical = {}
        for axis in ("X", "Y", "Z"):
            value = _float(pixels.get(f"PhysicalSize{axis}"))
            if value:
                physical[axis] = _size(value, pixels.get(f"PhysicalSize{axis}Unit") or "µm")
        if physical:
            out["physical_size"] = physical
        channels = []
        for channel in _children(pixels, "Channel"):
            entry: dict[str, Any] = {
                "name": channel.get("Name"),
                "colour": _ome_colour(channel.get("Color")),
            }
            for key, attr in (
                ("fluor", "Fluor"),
                ("excitation_wavelength", "ExcitationWavelength"),
                ("emission_wavelength", "EmissionWavelength"),
                ("illumination", "IlluminationType"),
                ("contrast_method", "ContrastMethod"),
                ("acquisition_mode", "AcquisitionMode"),
            ):
                if channel.get(attr):
                    entry[key] = channel.get(attr)
            channels.append(entry)
        out["channels"] = channels
    instrument = _instrument(root, image)
    if instrument:
        out["instrument"] = instrument
    return out


def _instrument(root: ElementTree.Element, image: ElementTree.Element) -> dict[str, Any]:
    """The instrument the first image refers to (or the only one), OME attribute names
    turned into readable keys."""
    instruments = _children(root, "Instrument")
    ref = next(iter(_children(image, "InstrumentRef")), None)
    chosen = None
    if ref is not None:
        chosen = next((i for i in instruments if i.get("ID") == ref.get("ID")), None)
    if chosen is None and len(instruments) == 1:
        chosen = instruments[0]
    if chosen is None:
        return {}
    out: dict[str, Any] = {}
    microscope = next(iter(_children(chosen, "Microscope")), None)
    if microscope is not None:
        text = " ".join(v for v in (microscope.get("Manufacturer"), microscope.get("Model")) if v)
        if text:
            out["microscope"] = text
        if microscope.get("Type"):
            out["microscope_type"] = microscope.get("Type")
    objectives = []
    for objective in _children(chosen, "Objective"):
        entry: dict[str, Any] = {}
        for key, attr in (
            ("manufacturer", "Manufacturer"),
            ("model", "Model"),
            ("magnification", "NominalMagnification"),
            ("na", "LensNA"),
            ("immersion", "Immersion"),
            ("correction", "Correction"),
        ):
            value = objective.get(attr)
            if value:
                entry[key] = _float(value) if key in ("magnification", "na") else value
        if entry:
            objectives.append(entry)
    if objectives:
        out["objectives"] = objectives
    detectors = []
    for detector in _children(chosen, "Detector"):
        text = " ".join(v for v in (detector.get("Manufacturer"), detector.get("Model")) if v)
        kind = detector.get("Type")
        if text or kind:
            detectors.append({k: v for k, v in (("model", text), ("type", kind)) if v})
    if detectors:
        out["detectors"] = detectors
    return out


# --- OME-Zarr ------------------------------------------------------------------------


def _zarr(root: Path) -> dict[str, Any]:
    found = layout(root)
    out: dict[str, Any] = {
        "format": "OME-Zarr",
        "ngff_version": found.version,
        "zarr_format": found.zarr_format,
        "layout": found.kind,
        "images": len(found.images),
    }
    if found.kind == "plate":
        group = read_group(root)
        plate = group.ome.get("plate", {}) if group else {}
        out["plate"] = {
            "name": found.plate_name,
            "rows": len(plate.get("rows") or []),
            "columns": len(plate.get("columns") or []),
            "wells": len(plate.get("wells") or []),
            "fields": len(found.images),
        }
    if not found.images:
        return out
    out["image_path"] = found.images[0]
    image = image_at(root, found.images[0])
    out.update(_multiscale(image))
    xml = root / "OME" / "METADATA.ome.xml"
    if xml.is_file() and xml.stat().st_size < 64 * 2**20:
        ome = _ome_xml(xml.read_text(encoding="utf-8", errors="replace"))
        for key in ("instrument", "acquisition_date", "image_name"):
            if key in ome:
                out[key] = ome[key]
    return out


def _multiscale(image: Multiscale) -> dict[str, Any]:
    levels = [read_level(image, p) for p in image.levels]
    base = levels[0]
    sizes = dict(zip(image.axes, base.shape, strict=True))
    dims = {d: int(sizes.get(d.lower(), 1)) for d in DIMENSIONS}
    out: dict[str, Any] = {
        "dimensions": dims,
        "axes": "".join(a[:1].upper() for a in image.axes),
        "pixel_type": ome_pixel_type(base.dtype),
        "levels": [
            {
                "X": int(level.shape[image.axes.index("x")]),
                "Y": int(level.shape[image.axes.index("y")]),
            }
            for level in levels
            if "x" in image.axes and "y" in image.axes
        ],
        "chunks": list(base.chunks),
    }
    if image.name and image.name != "/":
        out["image_name"] = image.name
    scale = image.scales[0]
    physical = {}
    for axis in ("x", "y", "z"):
        if axis in image.axes and scale is not None:
            index = image.axes.index(axis)
            unit = image.units[index]
            if unit:  # without a unit the scale is in pixels, not a physical size
                physical[axis.upper()] = _size(scale[index], _unit_symbol(unit))
    out["physical_size"] = physical
    out["channels"] = [
        {
            "name": c.get("label"),
            "colour": "#{:02X}{:02X}{:02X}".format(*colour)
            if (colour := parse_colour(c.get("color")))
            else None,
        }
        for c in omero_channels(image)
    ]
    return out


_UNITS = {"micrometer": "µm", "nanometer": "nm", "millimeter": "mm", "angstrom": "Å"}


def _unit_symbol(unit: str) -> str:
    return _UNITS.get(unit, unit)


# --- PNG, JPEG, GIF, BMP -------------------------------------------------------------


def _pillow(path: Path, kind: str) -> dict[str, Any]:
    with _PLUGINS[kind](path) as image:
        bands = len(image.getbands())
        mode = image.mode
        pixel_type = "uint16" if re.match(r"I;16", mode) else "uint8"
        if mode in ("I", "F"):
            pixel_type = "int32" if mode == "I" else "float"
        return {
            "format": kind,
            "dimensions": {"X": image.width, "Y": image.height, "Z": 1, "C": bands, "T": 1},
            "pixel_type": "bit" if mode == "1" else pixel_type,
            "mode": mode,
            "levels": [{"X": image.width, "Y": image.height}],
            "physical_size": {},
            "channels": [],
        }


__all__ = ["DIMENSIONS", "inspect_image", "ome_pixel_type"]
