"""List the files of a deposit folder, in a stable order, and say what was left out.

A depositor's folder holds things that must not silently become part of a study: editor
backups and ``.DS_Store`` files (hidden), links to elsewhere on the disk, files nobody may
read, sockets. Each is reported as a ``Skipped`` entry with its reason, and never listed.

The walk is split in two so that the per-file half can run in worker processes:
``entries`` goes through the folders (``os.scandir``, names sorted per folder, so the
order is the same on every run and every machine; directory entries' types come from the
listing, so it makes no system call per file) and yields every name that may be a file;
``classify`` looks at one of them (``lstat``, permissions, name rules). Neither holds the
folder in memory.

Hidden names are data inside a Zarr store (``.zattrs``, ``.zgroup``, ``.zarray``,
``.zmetadata``), so those are kept there and only there.
"""

from __future__ import annotations

import errno
import functools
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from catalogue.readers.manifest import MAX_PATH_BYTES, path_problem

ZARR_METADATA = frozenset({".zattrs", ".zgroup", ".zarray", ".zmetadata"})
# a name path_problem cannot object to (checked first: it is nearly every name)
_PLAIN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+=,@%~ -]{0,254}")


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


def name_problem(rel: str, name: str) -> str | None:
    """Why ``rel`` (whose folders were already checked) cannot be listed, or None."""
    if _PLAIN.fullmatch(name) and len(rel) <= MAX_PATH_BYTES:
        return None
    why = path_problem(rel)
    if why is None and not rel.isascii() and _undecodable(rel):
        why = "name is not valid UTF-8"
    return why


def entries(folder: Path) -> Iterator[tuple[str, str | None]]:
    """``(rel, None)`` for every name below ``folder`` that is not a folder (to be
    ``classify``-ed), ``(rel, reason)`` for what is left out on its name or because its
    folder cannot be read; folders are descended depth first, in name order."""
    root = folder.resolve()
    stack: list[tuple[str, str]] = [(str(root), "")]
    while stack:
        directory, rel_dir = stack.pop()
        try:
            with os.scandir(directory) as it:
                listed = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            yield rel_dir.rstrip("/") or ".", f"folder cannot be read ({exc.strerror or exc})"
            continue
        subfolders: list[tuple[str, str]] = []
        for entry in listed:
            name = entry.name
            rel = f"{rel_dir}{name}"
            if name.startswith(".") and not (name in ZARR_METADATA and _in_zarr(rel_dir)):
                yield rel, "hidden file or folder (name starts with '.'): not included"
                continue
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_dir = False  # classify says why
            if not is_dir:
                yield rel, None
                continue
            why = name_problem(rel, name)
            if why is not None:
                yield rel, f"{why}: not included"
                continue
            subfolders.append((entry.path, rel + "/"))
        stack.extend(reversed(subfolders))  # depth first, in name order


def classify(root: str, rel: str) -> Found | Skipped:
    """One name from ``entries``: a regular file to list, or why it is left out."""
    why = name_problem(rel, rel.rsplit("/", 1)[-1])
    if why is not None:
        return Skipped(rel, f"{why}: not included")
    path = f"{root}/{rel}"
    try:
        st = os.lstat(path)
    except OSError as exc:
        return Skipped(rel, f"cannot be read ({exc.strerror or exc})")
    if stat.S_ISLNK(st.st_mode):
        return _link(Path(root), Path(path), rel)
    if not stat.S_ISREG(st.st_mode):
        if stat.S_ISDIR(st.st_mode):
            return Skipped(rel, "became a folder while it was listed: not included (run again)")
        return Skipped(rel, "not a regular file (device, socket or pipe): not included")
    # world-readable needs no access() call (nearly every file); anything else is asked
    if not st.st_mode & stat.S_IROTH and not os.access(path, os.R_OK):
        return Skipped(rel, "file is not readable (permissions): not included")
    return Found(rel, st.st_size, st.st_mtime_ns)


def walk(folder: Path) -> Iterator[Found | Skipped]:
    """Every regular file below ``folder`` (a ``Found``) or a reason it was left out."""
    root = str(folder.resolve())
    for rel, why in entries(folder):
        yield Skipped(rel, why) if why is not None else classify(root, rel)


def _undecodable(name: str) -> bool:
    """os.scandir hands bytes that are not UTF-8 over as lone surrogates."""
    return any("\udc80" <= c <= "\udcff" for c in name)


@functools.lru_cache(maxsize=4096)
def _image_suffix(key: str) -> bool:
    from catalogue.formats import thumbnail_candidate

    return thumbnail_candidate(key)


def is_image(rel: str) -> bool:
    """``thumbnail_candidate`` by the name's last suffixes, memoised: called per file."""
    if ".zarr/" in rel.lower():
        return False
    parts = rel.rsplit("/", 1)[-1].lower().rsplit(".", 2)
    return _image_suffix("x." + ".".join(parts[1:]) if len(parts) > 1 else "x")


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
