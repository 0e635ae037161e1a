"""What of a study's data is present locally (under ``content/<data_root>/<ACCESSION>/``).

The build never copies data, but a local copy of some files lets it render thumbnails
and read OME-Zarr layouts for viewer links. This module is the one place that walks
those folders, so that rendering code never touches the file system.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from catalogue.imaging.ngff import is_zarr
from catalogue.imaging.thumbnail import thumbnail_candidate
from catalogue.imaging.viewers import viewer_links
from catalogue.model import Catalogue
from catalogue.paths import escapes


def local_images(catalogue: Catalogue, content: Path) -> Iterator[tuple[str, str]]:
    """(accession, path) of every local image of a public study, sorted.

    An OME-Zarr counts as one image at its folder (its chunks are not walked).
    """
    data_root = content / catalogue.site.data_root
    for entry in catalogue.public():
        acc = entry.study.accession
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
