"""What of a study's data is present locally (under ``content/<data_root>/<ACCESSION>/``).

The build never copies data, but a local copy of some files lets it render thumbnails
and read OME-Zarr layouts for viewer links. This module is the one place that walks
those folders, so that rendering code never touches the file system.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from catalogue.formats import thumbnail_candidate
from catalogue.imaging.base import Unrenderable
from catalogue.imaging.ngff import image_at, is_zarr, layout, read_level
from catalogue.imaging.viewers import viewer_links
from catalogue.model import Catalogue
from catalogue.paths import escapes


def local_images(catalogue: Catalogue, content: Path) -> Iterator[tuple[str, str]]:
    """(accession, path) of every local image of a public study, sorted.

    An OME-Zarr counts as one image at its folder (its chunks are not walked).
    """
    data_root = content / catalogue.site.data_root
    for entry in catalogue.public():
        acc = entry.accession
        base = data_root / acc
        if not base.is_dir() or escapes(base, content):
            continue
        found: list[str] = []
        for folder, dirs, files in os.walk(base):  # never into linked folders
            here = Path(folder)
            dirs.sort()
            for d in list(dirs):
                if escapes(here / d, base):  # a link out of the study's data folder
                    dirs.remove(d)
                elif d.lower().endswith(".zarr") or is_zarr(here / d):
                    found.append((here / d).relative_to(base).as_posix())
                    dirs.remove(d)
            found += [
                (here / f).relative_to(base).as_posix()
                for f in sorted(files)
                if thumbnail_candidate(f) and not escapes(here / f, base)
            ]
        for path in sorted(found):
            yield acc, path


def zarr_links(
    catalogue: Catalogue, content: Path, zarrs: list[tuple[str, str]]
) -> dict[tuple[str, str], tuple[tuple[str, str], ...]]:
    """ "Open in viewer" links for local OME-Zarr copies, read once per build."""
    data_root = content / catalogue.site.data_root
    out: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {}
    for acc, path in zarrs:
        links = viewer_links(catalogue.site, acc, path, data_root / acc / path)
        if links:
            out[(acc, path)] = tuple(links)
    return out


def zarr_details(
    catalogue: Catalogue, content: Path, images: list[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """What a file table says of each local OME-Zarr besides its size, read from its
    metadata files only: ``3 × 512 × 512 (c, y, x) · uint8 · 5 levels``, and for a plate
    or a container what it holds (``plate of 96 wells, 192 fields · first field …``).

    An unreadable or partial copy gets no entry (the row then shows its size only)."""
    data_root = content / catalogue.site.data_root
    out: dict[tuple[str, str], str] = {}
    for acc, path in images:
        folder = data_root / acc / path
        if not is_zarr(folder):
            continue
        try:
            text = describe_zarr(folder)
        except (Unrenderable, OSError, ValueError, TypeError):
            continue
        if text:
            out[(acc, path)] = text
    return out


def describe_zarr(root: Path) -> str:
    """One line on an OME-Zarr: its kind, what it holds and its first image's shape."""
    found = layout(root)
    parts: list[str] = []
    if found.kind == "plate":
        wells = {image.rsplit("/", 1)[0] for image in found.images}
        parts.append(
            f"plate of {len(wells)} well{'s' * (len(wells) != 1)}, "
            f"{len(found.images)} field{'s' * (len(found.images) != 1)}"
        )
    elif found.kind == "well":
        parts.append(f"well of {len(found.images)} field{'s' * (len(found.images) != 1)}")
    elif found.kind == "container":
        parts.append(f"{len(found.images)} image{'s' * (len(found.images) != 1)}")
    if found.images:
        image = image_at(root, found.images[0])
        level = read_level(image, image.levels[0])
        shape = " × ".join(f"{n:,}" for n in level.shape)
        first = f"{shape} ({', '.join(image.axes)}) · {level.dtype}"
        if len(image.levels) > 1:
            first += f" · {len(image.levels)} levels"
        lead = {"plate": "first field ", "well": "first field ", "container": "first "}
        parts.append(lead.get(found.kind, "") + first)
    if found.version:
        parts.append(f"NGFF {found.version}")
    return " · ".join(parts)
