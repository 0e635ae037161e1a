"""Writers of small OME-Zarr fixtures (NGFF 0.4 on zarr v2, 0.5 on zarr v3) for tests.

The sample images in tests/data hold one NGFF 0.4 image and one plate; these make the other layouts
(0.5, bioformats2raw containers, Z stacks, odd levels) with the real ``zarr`` package.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import zarr

SAMPLES = Path(__file__).resolve().parent / "data" / "images"


def write_image(
    root: Path,
    levels: Sequence[np.ndarray],
    axes: str = "cyx",
    *,
    version: str = "0.4",
    colours: Sequence[str] | None = None,
    active: Sequence[bool] | None = None,
    chunks: int = 64,
    units: dict[str, str] | None = None,
    pixel_size: dict[str, float] | None = None,
    shards: bool = False,
) -> Path:
    """A multiscale image group at ``root``: level ``i`` at path ``str(i)``, scale 2**i."""
    zarr_format = 3 if version == "0.5" else 2
    group = zarr.open_group(str(root), mode="w", zarr_format=zarr_format)
    datasets = []
    for index, data in enumerate(levels):
        chunk_shape = tuple(
            min(chunks, n) if a in "yx" else 1 for a, n in zip(axes, data.shape, strict=True)
        )
        extra = {}
        if shards and zarr_format == 3:
            extra["shards"] = tuple(
                c * 2 if a in "yx" else c for a, c in zip(axes, chunk_shape, strict=True)
            )
        if zarr_format == 2:
            extra["chunk_key_encoding"] = {"name": "v2", "separator": "/"}
        array = group.create_array(
            str(index), shape=data.shape, chunks=chunk_shape, dtype=data.dtype, **extra
        )
        array[...] = data
        scale = [(pixel_size or {}).get(a, 1.0) * (2.0**index if a in "yx" else 1.0) for a in axes]
        datasets.append(
            {"path": str(index), "coordinateTransformations": [{"type": "scale", "scale": scale}]}
        )
    axis_list = []
    for a in axes:
        entry = {"name": a, "type": {"c": "channel", "t": "time"}.get(a, "space")}
        if units and a in units:
            entry["unit"] = units[a]
        axis_list.append(entry)
    multiscales = [{"axes": axis_list, "datasets": datasets, "name": root.name}]
    ome: dict = {"multiscales": multiscales}
    if colours is not None:
        ome["omero"] = {
            "channels": [
                {
                    "color": colour,
                    "label": f"ch{i}",
                    "active": True if active is None else active[i],
                    "window": {"start": 0, "end": 255, "min": 0, "max": 255},
                }
                for i, colour in enumerate(colours)
            ]
        }
    if zarr_format == 3:
        group.attrs["ome"] = {"version": "0.5", **ome}
    else:
        multiscales[0]["version"] = "0.4"
        group.attrs.update(ome)
    return root


def write_container(root: Path, images: Sequence[Sequence[np.ndarray]], axes: str = "cyx") -> Path:
    """A bioformats2raw container (NGFF 0.4): numbered images and ``OME/`` with the series."""
    group = zarr.open_group(str(root), mode="w", zarr_format=2)
    group.attrs["bioformats2raw.layout"] = 3
    for index, levels in enumerate(images):
        write_image(root / str(index), levels, axes)
    ome = zarr.open_group(str(root / "OME"), mode="w", zarr_format=2)
    ome.attrs["series"] = [str(i) for i in range(len(images))]
    (root / "OME" / "METADATA.ome.xml").write_text(OME_XML_INSTRUMENT, encoding="utf-8")
    return root


def two_halves(height: int = 96, width: int = 128, dtype: type = np.uint16) -> np.ndarray:
    """Two channels: the first bright on the left, the second bright on the right."""
    data = np.full((2, height, width), 100, dtype)
    data[0, :, : width // 2] = 4000 if dtype == np.uint16 else 200
    data[1, :, width // 2 :] = 3000 if dtype == np.uint16 else 150
    return data


def pyramid(data: np.ndarray, count: int) -> list[np.ndarray]:
    """``count`` levels, each half the previous in y and x (the last two axes)."""
    return [data[..., :: 2**i, :: 2**i] for i in range(count)]


def read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


OME_XML_INSTRUMENT = """<?xml version="1.0" encoding="UTF-8"?>
<OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06">
  <Instrument ID="Instrument:0">
    <Microscope Manufacturer="Zeiss" Model="LSM 880" Type="Inverted"/>
    <Detector ID="Detector:0" Model="GaAsP" Type="PMT"/>
    <Objective ID="Objective:0" Manufacturer="Zeiss" Model="Plan-Apochromat 63x/1.40 Oil"
        NominalMagnification="63" LensNA="1.4" Immersion="Oil" Correction="PlanApo"/>
  </Instrument>
  <Image ID="Image:0" Name="cells">
    <AcquisitionDate>2024-05-06T10:11:12</AcquisitionDate>
    <InstrumentRef ID="Instrument:0"/>
    <Pixels ID="Pixels:0" DimensionOrder="XYZCT" Type="uint16" SizeX="128" SizeY="96"
        SizeZ="3" SizeC="2" SizeT="1" PhysicalSizeX="0.065" PhysicalSizeXUnit="µm"
        PhysicalSizeY="0.065" PhysicalSizeYUnit="µm" PhysicalSizeZ="250"
        PhysicalSizeZUnit="nm">
      <Channel ID="Channel:0:0" Name="DAPI" Color="65535" SamplesPerPixel="1"
          EmissionWavelength="461"/>
      <Channel ID="Channel:0:1" Name="GFP" Color="16711935" SamplesPerPixel="1"/>
      <TiffData IFD="0" PlaneCount="6"/>
    </Pixels>
  </Image>
</OME>
"""
