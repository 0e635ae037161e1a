"""A cache of loaded studies, so that a rebuild re-reads only the study folders that changed.

Parsing and validating 10,000 study.yaml files takes most of a rebuild in which nothing
changed. What ``load_study`` returns (the validated entry, its problems, the accession it
declares) is a pure function of the files it reads, the validated site, ``today``, the
working directory (paths in messages) and the loading code. So each study's result is
stored with a *fingerprint* of its files: size and modification time first, the sha256
when those moved (a file touched but unchanged is then still a hit), and the existence of
each representative image the study names (a warning depends on it).

Like git's index, the change time and inode are compared too (no program can set the
change time back), and a file modified in the last two seconds before the cache was
written is checked by hash, not trusted by its time stamps: an edit that keeps size and
times within one clock tick can then never be missed.

One pickle per content tree, in the same folder as the manifest summaries
(``$CATALOGUE_CACHE_DIR``, see ``summary_cache``; ``CATALOGUE_CACHE_DIR=""`` switches it
off); anything unreadable or of another version is a miss, never an error. It is written
only when something changed, atomically (temporary file + rename).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import stat
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from catalogue.readers import summary_cache

# bump with any change to what load_study checks or returns that the code digest misses
CACHE_VERSION = "2"
RACY_NS = 2_000_000_000  # files modified this close to the cache write are re-hashed

# (size, mtime_ns, ctime_ns, inode) of a file, None when it is missing. The change time
# cannot be set back by a program (os.utime sets it to now), so an edit that restores
# size and modification time is still noticed, as git's index notices it.
Stamp = tuple[int, int, int, int] | None
# (path, stamp, sha256 or ""): one input file of a study
FileStamp = tuple[str, Stamp, str]
# path -> stamp of the files a fingerprint walk saw (pipeline/fingerprint.py)
Walked = dict[str, os.stat_result]


def _presence(path: str) -> tuple[bool, str]:
    """Whether a path exists, and where it really is when it is a link (the checks refuse
    links out of the tree, so a link appearing must be seen)."""
    try:
        mode = os.lstat(path).st_mode  # one system call for the common case: no link
    except OSError:
        return False, ""
    if stat.S_ISLNK(mode):
        return os.path.exists(path), os.path.realpath(path)
    return True, ""


def _stamp(path: str) -> Stamp:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


@dataclass
class Cached:
    stamps: tuple[FileStamp, ...]
    absent: tuple[str, ...]  # paths whose existence or linkness matters: present[i] below
    present: tuple[tuple[bool, str], ...]
    # (entry | None, problems, declared (accession, line) | None), pickled on its own so
    # that saving the cache after one edit does not pickle 10,000 studies again
    blob: bytes


@dataclass
class StudyCache:
    key: str
    path: Path | None
    entries: dict[str, Cached] = field(default_factory=dict)
    written_ns: int = 0
    changed: bool = False
    hits: int = 0
    # the stamps of the files the build's fingerprint walk saw (pipeline/fingerprint.py),
    # used instead of a system call a file; a path it did not see is asked for
    walked: Walked | None = None

    def _stamp(self, path: str) -> Stamp:
        st = self.walked.get(path) if self.walked is not None else None
        if st is None:
            return _stamp(path)
        return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)

    def _presence(self, path: str) -> tuple[bool, str]:
        if self.walked is not None and path in self.walked:
            return True, ""  # a file the walk saw, not a link
        return _presence(path)

    def get(self, folder: str) -> Any | None:
        """The cached result for a study folder if none of its inputs changed, else None."""
        item = self.entries.get(folder)
        if item is None:
            return None
        fresh: list[FileStamp] = []
        for path, stamp, sha in item.stamps:
            now = self._stamp(path)
            if now is None or stamp is None:
                if now != stamp:
                    return None
                fresh.append((path, None, ""))
                continue
            if now[0] != stamp[0]:
                return None  # another size
            racy = stamp[1] >= self.written_ns - RACY_NS
            if (now != stamp or racy) and file_sha256(path) != sha:
                return None
            fresh.append((path, now, sha))
        for path, seen in zip(item.absent, item.present, strict=True):
            if self._presence(path) != seen:
                return None
        if tuple(fresh) != item.stamps:  # touched but unchanged: trust the new stamps
            item.stamps = tuple(fresh)
            self.changed = True
        self.hits += 1
        return pickle.loads(item.blob)

    def keep(self, folder: str, item: Cached) -> None:
        """Store an item made by ``cached`` (possibly in another process)."""
        self.entries[folder] = item
        self.changed = True

    def keep_only(self, folders: set[str]) -> None:
        gone = set(self.entries) - folders
        for f in gone:
            del self.entries[f]
        self.changed = self.changed or bool(gone)

    def save(self) -> None:
        if self.path is None or not self.changed:
            return
        data = {
            "version": CACHE_VERSION,
            "key": self.key,
            "written_ns": time.time_ns(),
            "entries": self.entries,
        }
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
            with tmp.open("wb") as fh:
                pickle.dump(data, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, self.path)
        except OSError:
            pass  # a cache that cannot be written is only slower


def cached(inputs: list[Path], checked: list[Path], result: Any) -> Cached:
    """What the cache keeps of one study's loading: its files' stamps and the pickled
    result. A pure function of the files, so a loading worker can make it."""
    stamps: list[FileStamp] = []
    for p in inputs:
        now = _stamp(str(p))
        stamps.append((str(p), now, file_sha256(str(p)) if now is not None else ""))
    return Cached(
        tuple(stamps),
        tuple(str(p) for p in checked),
        tuple(_presence(str(p)) for p in checked),
        pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL),
    )


def file_sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


@cache
def code_digest() -> str:
    """A hash of the loading code itself, so that an upgrade never reuses stale results."""
    import catalogue

    root = Path(catalogue.__file__).parent
    h = hashlib.sha256(CACHE_VERSION.encode())
    for pattern in ("readers/*.py", "*.py", "data/*"):
        for p in sorted(root.glob(pattern)):
            h.update(p.name.encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def open_cache(content: Path, context: str, walked: Walked | None = None) -> StudyCache:
    """The cache of ``content`` for this ``context`` (site, today, cwd), empty on a miss;
    ``walked``: the stamps of a fingerprint walk of ``content`` just before."""
    base = summary_cache.cache_dir()
    key = hashlib.sha256(f"{code_digest()}\0{context}".encode()).hexdigest()
    if base is None:
        return StudyCache(key, None, walked=walked)
    tree = hashlib.sha256(str(content.resolve()).encode()).hexdigest()[:32]
    path = base.parent / "studies" / f"{tree}.pickle"
    try:
        with path.open("rb") as fh:
            data = pickle.load(fh)
        if data.get("version") == CACHE_VERSION and data.get("key") == key:
            return StudyCache(key, path, data["entries"], data["written_ns"], walked=walked)
    except Exception:  # noqa: BLE001 - any unreadable cache is a miss
        pass
    return StudyCache(key, path, changed=True, walked=walked)
