"""List the files of a deposit folder, in a stable order, and say what was left out.

A depositor's folder holds things that must not silently become part of a study: editor
backups and ``.DS_Store`` files (hidden), links to elsewhere on the disk, files nobody may
read, sockets. Each is reported as a ``Skipped`` entry with its reason, and never listed.
The walk is a generator over ``os.scandir`` (names sorted per folder, so the order is the
same on every run and every machine), so a folder of a million files is never held in
memory.

Hidden names are data inside a Zarr store (``.zattrs``, ``.zgroup``, ``.zarray``,
``.zmetadata``), so those are kept there and only there.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from catalogue.readers.manifest import path_problem

ZARR_METADATA = frozenset({".zattrs", ".zgroup", ".zarray", ".zmetadata"})


class Found(NamedTuple):
    """A file to list (a tuple: there may be millions)."""

    rel: str  # path relative to the folder, '/'-separated
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class Skipped:
    rel: str
    reason: str


def _in_zarr(rel_dir: str) -> bool:
    return any(part.lower().endswith(".zarr") for part in rel_dir.split("/") if part)


def walk(folder: Path) -> Iterator[Found | Skipped]:
    """Every regular file below ``folder`` (a ``Found``) or a reason it was left out."""
    root = folder.resolve()
    stack: list[tuple[Path, str]] = [(root, "")]
    while stack:
        directory, rel_dir = stack.pop()
        try:
            with os.scandir(directory) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            yield Skipped(rel_dir or ".", f"folder cannot be read ({exc.strerror or exc})")
            continue
        subfolders: list[tuple[Path, str]] = []
        for entry in entries:
            rel = f"{rel_dir}{entry.name}"
            if entry.name.startswith(".") and not (
                entry.name in ZARR_METADATA and _in_zarr(rel_dir)
            ):
                yield Skipped(rel, "hidden file or folder (name starts with '.'): not included")
                continue
            why = path_problem(rel)
            if why is None and not rel.isascii() and _undecodable(rel):
                why = "name is not valid UTF-8"
            if why is not None:
                yield Skipped(rel, f"{why}: not included")
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError as exc:
                yield Skipped(rel, f"cannot be read ({exc.strerror or exc})")
                continue
            if stat.S_ISLNK(st.st_mode):
                yield _link(root, Path(entry.path), rel)
                continue
            if stat.S_ISDIR(st.st_mode):
                subfolders.append((Path(entry.path), rel + "/"))
                continue
            if not stat.S_ISREG(st.st_mode):
                yield Skipped(rel, "not a regular file (device, socket or pipe): not included")
                continue
            if not os.access(entry.path, os.R_OK):
                yield Skipped(rel, "file is not readable (permissions): not included")
                continue
            yield Found(rel, st.st_size, st.st_mtime_ns)
        stack.extend(reversed(subfolders))  # depth first, in name order


def _undecodable(name: str) -> bool:
    """os.scandir hands bytes that are not UTF-8 over as lone surrogates."""
    return any("\udc80" <= c <= "\udcff" for c in name)


def _link(root: Path, path: Path, rel: str) -> Skipped:
    """Symbolic links are never followed: a deposit lists files, not pointers to them."""
    try:
        target = path.resolve(strict=True)
    except RuntimeError:  # Python's word for ELOOP while resolving
        return Skipped(rel, "symbolic link loop (it leads back to itself): not included")
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return Skipped(rel, "symbolic link loop (it leads back to itself): not included")
        return Skipped(rel, "symbolic link to nothing (broken): not included")
    if not target.is_relative_to(root):
        return Skipped(rel, f"symbolic link leaving the folder (to {target}): not included")
    return Skipped(
        rel,
        f"symbolic link to {target.relative_to(root).as_posix()} inside the folder: not "
        "included (the target is listed itself)",
    )
