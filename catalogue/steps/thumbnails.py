"""Thumbnail steps: one per distinct image (a file or an OME-Zarr folder), named by hash.

The output name is a hash of (source identity, thumbnail settings, thumbnailer version),
so an unchanged image costs nothing on the next build and a stale one cannot survive.
A file's identity is the sha256 of its bytes; an OME-Zarr folder's is the sha256 of its
metadata files and of the chunk files of the level the thumbnail reads (see
``zarr_sha256``). Both are cached by file statistics, so a rebuild does not re-read them.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from catalogue.formats import thumbnail_candidate
from catalogue.imaging.base import ThumbnailSettings
from catalogue.imaging.ngff import identity_files, is_zarr
from catalogue.model import Catalogue
from catalogue.paths import escapes
from catalogue.pipeline.plan import Step, StepResult
from catalogue.pipeline.state import StepRecord
from catalogue.readers.manifest import path_problem
from catalogue.steps.context import Thumb

SETTINGS = ThumbnailSettings()
K = TypeVar("K", bound=tuple[str, str])


def source_sha256(path: Path, rel: str, cache: dict[str, list[Any]]) -> str:
    """sha256 of a source image, remembered by (size, mtime_ns) so rebuilds do not re-read it."""
    st = path.stat()
    known = cache.get(rel)
    if known and known[0] == st.st_size and known[1] == st.st_mtime_ns:
        return str(known[2])
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    cache[rel] = [st.st_size, st.st_mtime_ns, h.hexdigest()]
    return h.hexdigest()


# Above this many chunk bytes, an OME-Zarr level is identified by its files' sizes and
# modification times instead of their bytes (hashing gigabytes to plan a build is not
# worth it; a copy that keeps mtimes, as rsync -a does, still hits the cache).
ZARR_HASH_BYTES = 256 * 2**20


def zarr_sha256(root: Path, rel: str, cache: dict[str, list[Any]]) -> str:
    """Identity of an OME-Zarr folder as far as its thumbnail is concerned.

    sha256 over the metadata files from the root down to the level read and over the
    chunk files of that level (their bytes, or their size and mtime past
    ``ZARR_HASH_BYTES``), each preceded by its relative path. Remembered by a signature
    of (path, size, mtime_ns) of those files, so a rebuild only stats them.
    """
    metadata, chunks = identity_files(root, SETTINGS)
    stats = [(p, p.stat()) for p in [*metadata, *chunks]]
    listing = "\n".join(
        f"{p.relative_to(root).as_posix()}\t{st.st_size}\t{st.st_mtime_ns}" for p, st in stats
    )
    signature = hashlib.sha256(listing.encode()).hexdigest()
    total = sum(st.st_size for _, st in stats)
    known = cache.get(rel)
    if known and known[0] == total and known[1] == signature:
        return str(known[2])
    by_content = sum(st.st_size for _, st in stats[len(metadata) :]) <= ZARR_HASH_BYTES
    h = hashlib.sha256()
    for index, (p, st) in enumerate(stats):
        h.update(p.relative_to(root).as_posix().encode() + b"\0")
        if index < len(metadata) or by_content:
            h.update(p.read_bytes())
        else:
            h.update(f"{st.st_size}\t{st.st_mtime_ns}".encode())
        h.update(b"\0")
    cache[rel] = [total, signature, h.hexdigest()]
    return h.hexdigest()


def source_identity(path: Path, rel: str, cache: dict[str, list[Any]]) -> str:
    """sha256 standing for everything a thumbnail of ``path`` reads."""
    if path.is_dir():
        return zarr_sha256(path, rel, cache)
    return source_sha256(path, rel, cache)


def _make(source: str, rel: str, out: str) -> StepResult:
    # the readers (numpy, Pillow, tifffile) are imported when an image is rendered, not
    # by every build that only plans thumbnails it already has
    from catalogue.imaging.thumbnail import site_thumbnail

    thumb = site_thumbnail(Path(source), SETTINGS)
    warnings: tuple[str, ...] = ()
    if thumb.warning is not None:
        warnings = (
            f"{rel}: W050 cannot make a thumbnail ({thumb.warning}); showing a placeholder",
        )
    return StepResult(files={out: thumb.webp}, warnings=warnings, info=dict(thumb.info))


def _local(source: Path, folder: Path, content: Path) -> bool:
    """A local copy to render: a file, or a folder that is (or is named as) a zarr, that
    is really inside the study's data ``folder`` (a link out of it is never rendered)."""
    if escapes(source, folder) or escapes(folder, content):
        return False
    if source.is_dir():
        return is_zarr(source) or source.name.lower().endswith(".zarr")
    return source.is_file()


def _step(source: Path, cache: dict[str, list[Any]]) -> Step:
    """The step rendering ``source``; identical images share one step (and one file)."""
    rel = os.path.relpath(source, Path.cwd())
    key = hashlib.sha256(
        (source_identity(source, rel, cache) + SETTINGS.key()).encode()
    ).hexdigest()[:24]
    out = f"thumbnails/{key}.webp"
    # An absolute path, so that a worker in another directory (Dask) finds the file.
    return Step(
        id=f"thumbnail:{key}",
        outputs=(out,),
        digest=key,
        make=partial(_make, str(source.absolute()), rel, out),
        heavy=True,
    )


def thumbnail_steps(
    catalogue: Catalogue, content: Path, cache: dict[str, list[Any]]
) -> tuple[list[Step], dict[tuple[str, str], str]]:
    """Steps for the public studies' representative images, and which step serves which dataset."""
    steps: list[Step] = []
    used: dict[tuple[str, str], str] = {}
    data_root = content / catalogue.site.data_root
    for entry in catalogue.public():
        acc = entry.accession
        for ds_id, representative in entry.representatives:  # without its model
            source = data_root / acc / representative
            if not _local(source, data_root / acc, content):
                continue
            step = _step(source, cache)
            steps.append(step)
            used[(acc, ds_id)] = step.id
    return steps, used


def file_thumbnail_steps(
    catalogue: Catalogue,
    content: Path,
    cache: dict[str, list[Any]],
    files: Iterable[tuple[str, str]],
) -> tuple[list[Step], dict[tuple[str, str], str]]:
    """Steps for any local files of public studies, e.g. a file table's thumbnail column.

    ``files`` are (accession, manifest path) pairs; a pair is skipped when its study is
    not public (an embargoed image must not leak), its path is unsafe, no local copy
    exists under ``content/<data_root>/<accession>/``, or its name is not an image
    format (``thumbnail_candidate``). Returns the steps (give them to ``plan`` together
    with ``thumbnail_steps``: identical images share one step) and, per pair, the id of
    its step; ``resolve_thumbs`` turns those into ``Thumb`` after the steps ran.
    """
    public = {entry.accession for entry in catalogue.public()}
    data_root = content / catalogue.site.data_root
    steps: list[Step] = []
    used: dict[tuple[str, str], str] = {}
    for acc, path in files:
        if acc not in public or path_problem(path) or not thumbnail_candidate(path):
            continue
        source = data_root / acc / path
        if not _local(source, data_root / acc, content):
            continue
        step = _step(source, cache)
        steps.append(step)
        used[(acc, path)] = step.id
    return steps, used


def resolve_thumbs(
    used: Mapping[K, str], records: Mapping[str, StepRecord], root: str
) -> dict[K, Thumb]:
    """After the thumbnail steps ran (or were reused): what pages show for each key.

    ``root`` is the site's URL path prefix (``context.site_root``). A key whose step has
    no record is left out.
    """
    thumbs: dict[K, Thumb] = {}
    for key, step_id in used.items():
        record = records.get(step_id)
        if record is None:
            continue
        thumbs[key] = Thumb(
            url=f"{root}/{record.outputs[0]}",
            width=int(record.info.get("width", 0)),
            height=int(record.info.get("height", 0)),
            ok=bool(record.info.get("ok")),
        )
    return thumbs
