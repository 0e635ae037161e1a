"""OME-Zarr conversion as an opt-in build step, served by the site's own viewer.

``catalogue convert-study`` publishes conversions as derived files at ``data_url`` but
writes into ``content/``, which the build never does. This step is the other way: with
``conversion: {in_build: true}`` in site.yaml, each local image listed by a dataset
marked ``convert: ome-zarr`` is converted during the build into a cache folder outside
the content and the site (``conversion.folder``, default ``<out>.ome-zarr/`` beside
the site), and the viewer step then publishes a copy under ``/viewer/<acc>/<path>/``.

Conversions are cached like thumbnails: the folder's name is a hash of the source's
sha256 (remembered by file statistics), ``CONVERTER_VERSION`` and the settings, so an
unchanged image is never converted again and a changed one (or a new converter) gets
a new name. A conversion is a heavy step, so it runs on the build's executor (local
processes or Dask workers, which need the cache folder at the same path); inside the
step the chunks are computed by Dask's synchronous scheduler, the parallelism being
across images. A file that cannot be converted gets one warning (W051) and no viewer,
and is not tried again until it or the converter changes.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from catalogue.formats import thumbnail_candidate
from catalogue.imaging.ngff import is_zarr
from catalogue.model import Catalogue
from catalogue.paths import escapes
from catalogue.pipeline.plan import Step, StepResult
from catalogue.pipeline.state import StepRecord
from catalogue.readers.manifest import iter_rows, path_problem
from catalogue.steps.thumbnails import source_sha256

# Bump when catalogue.imaging.convert writes different bytes for the same input.
CONVERTER_VERSION = "1"
TILE = 256
DERIVED = "derived_from"  # the column convert-study writes (catalogue.imaging.derive)
_CACHED = re.compile(r"^\.?[0-9a-f]{24}\.ome\.zarr")


class ConversionRefused(Exception):
    """A conversion folder the build must not write into."""


@dataclass(frozen=True)
class Conversion:
    """One image to be viewed as OME-Zarr: where it is and where its conversion goes."""

    accession: str
    path: str  # manifest path of the source image
    step_id: str
    target: Path


def conversion_folder(site_folder: str | None, content: Path, out: Path) -> Path:
    """The cache folder, refused when it overlaps the content or the site."""
    folder = (content / site_folder) if site_folder else out.parent / f"{out.name}.ome-zarr"
    f, c, o = folder.resolve(), content.resolve(), out.resolve()
    for other, what in ((c, "the content folder"), (o, "the site (--out)")):
        if f == other or f.is_relative_to(other) or other.is_relative_to(f):
            raise ConversionRefused(
                f"conversion.folder {folder} overlaps {what} {other}; choose a folder outside both"
            )
    return folder


def candidates(catalogue: Catalogue, content: Path) -> list[tuple[str, str, Path]]:
    """(accession, manifest path, local file) of the images to convert, sorted.

    Public studies only (nothing embargoed is converted or published); rows of manifests
    of datasets marked ``convert: ome-zarr`` whose file is a local image (not OME-Zarr,
    not a link out of the study's data folder) and has no derived OME-Zarr already
    (``convert-study`` made one: it is viewed as it is).
    """
    data_root = content / catalogue.site.data_root
    found: set[tuple[str, str, Path]] = set()
    for entry in catalogue.public():
        acc = entry.accession
        base = data_root / acc
        if not base.is_dir() or escapes(base, content):
            continue
        for ds in entry.study.datasets:
            summary = entry.manifests.get(ds.id)
            if ds.convert != "ome-zarr" or summary is None or not ds.files:
                continue
            rows = list(iter_rows(content / entry.folder / str(ds.files)))
            derived = {v for row in rows for k, v in row.attributes if k == DERIVED and v}
            for row in rows:
                rel = row.path
                if (
                    path_problem(rel)
                    or not thumbnail_candidate(rel)
                    or ".zarr" in rel.lower()
                    or rel in derived
                ):
                    continue
                source = base / rel
                if source.is_symlink() or not source.is_file() or escapes(source, base):
                    continue
                found.add((acc, rel, source))
    return sorted(found, key=lambda item: (item[0], item[1]))


def conversion_steps(
    catalogue: Catalogue, content: Path, folder: Path, cache: dict[str, list[Any]]
) -> tuple[list[Step], list[Conversion]]:
    """One heavy step per distinct image (identical files share one conversion)."""
    ngff = catalogue.site.conversion.ngff
    steps: list[Step] = []
    planned: list[Conversion] = []
    for acc, rel, source in candidates(catalogue, content):
        identity = source_sha256(source, os.path.relpath(source, Path.cwd()), cache)
        key = hashlib.sha256(
            f"{identity}\0{CONVERTER_VERSION}\0{ngff}\0{TILE}".encode()
        ).hexdigest()[:24]
        target = (folder / f"{key}.ome.zarr").absolute()
        step_id = f"convert:{key}"
        steps.append(
            Step(
                id=step_id,
                outputs=(),
                digest=key,
                make=partial(_make, str(source.absolute()), str(target), f"{acc}/{rel}", ngff),
                heavy=True,
            )
        )
        planned.append(Conversion(acc, rel, step_id, target))
    return steps, planned


def forget_lost(planned: list[Conversion], records: dict[str, StepRecord]) -> None:
    """Drop the previous build's record of a conversion whose folder has gone (someone
    emptied the cache), so that it runs again instead of being reused."""
    for item in planned:
        record = records.get(item.step_id)
        if record is not None and record.info.get("ok") and not is_zarr(item.target):
            del records[item.step_id]


def converted(planned: list[Conversion]) -> list[Conversion]:
    """The conversions that exist after the steps ran or were reused."""
    return [item for item in planned if is_zarr(item.target)]


def prune(folder: Path, planned: list[Conversion]) -> int:
    """Remove conversions this build no longer uses (and leftovers of killed ones) from
    the cache folder; only names this step writes are touched."""
    if not folder.is_dir():
        return 0
    keep = {item.target.name for item in planned}
    removed = 0
    for entry in sorted(folder.iterdir()):
        if _CACHED.match(entry.name) and entry.name not in keep and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
            removed += 1
    return removed


def _make(source: str, target: str, label: str, ngff: str) -> StepResult:
    """Convert ``source`` to ``target`` unless a finished conversion is already there."""
    if is_zarr(Path(target)):
        return StepResult(files={}, info={"ok": True})
    try:
        import dask

        from catalogue.imaging.convert import ConvertError, convert
    except ImportError:
        why = "conversion needs ome-zarr and dask: pip install 'catalogue[convert]'"
        return StepResult(files={}, warnings=(f"{label}: W051 cannot convert ({why})",))
    try:
        # one image per worker: its chunks are computed here, in order, by this process
        with dask.config.set(scheduler="synchronous"):
            result = convert(Path(source), Path(target), ngff_version=ngff, tile=TILE)
    except ConvertError as exc:
        why = str(exc).removeprefix(f"{Path(source).absolute()}: ")
        return StepResult(files={}, warnings=(f"{label}: W051 cannot convert ({why})",))
    except Exception as exc:  # a broken file must not stop the build
        why = f"{type(exc).__name__}: {exc}"
        return StepResult(files={}, warnings=(f"{label}: W051 cannot convert ({why})",))
    return StepResult(files={}, info={"ok": True, "levels": len(result.levels)})
