"""Writing the site in place: only changed files are touched, each one atomically.

A rebuild of an archive of 10,000 studies changes a handful of its 100,000 files; copying
or linking all of them into a fresh folder for every build (the design this replaced)
cost most of a rebuild. Instead every output is first written to a temporary file in the
build's work folder beside the site (``.NAME.catalogue-work/``, one fixed name, on the
same file system), and renamed over its target only when every step of the build has
succeeded, in an order that never leaves a link to a missing file:

1. files that did not exist before (new pages, content-named thumbnails), then files that
   are replaced: a page is never renamed in before what it links to;
2. the build state (``.catalogue-state.json``);
3. then files no step produces any more are deleted (and their empty folders).

Until step 1 starts the site is byte for byte the previous one; the renames take
milliseconds for an edit. A file whose new bytes equal the old ones is not written at
all (its time stamp stays, so rsync and object-store mirrors see no change).

**The journal.** Before the first temporary file is created, the work folder's
``journal`` lists (appending, one path a line) every path the build is about to write or
delete. A build that is killed leaves it behind; the next build reads it first, removes
the temporary files it names, rebuilds every step that owns one of those paths (the old
state cannot vouch for them any more) and deletes those that no step claims. The work
folder is removed when a build has committed completely. A failed build (a step raised)
removes its temporary files and leaves the site exactly as it was. Temporary names are
fixed (a hash of the path), so nothing left by kills can accumulate.

One build at a time: the site folder is locked (``flock``) for the duration.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import posixpath
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any, BinaryIO

JOURNAL = "journal"


def work_folder(out: Path) -> Path:
    """Beside the site, one fixed name: the build's temporary files and its journal."""
    return out.parent / f".{out.name}.catalogue-work"


def journal_path(out: Path) -> Path:
    return work_folder(out) / JOURNAL


class OutputError(Exception):
    """The site cannot be written (disk full, permissions, another build running)."""


def dumps_json(value: Any, pretty: bool = False) -> bytes:
    """Deterministic JSON bytes: sorted keys, fixed separators, UTF-8."""
    if pretty:
        text = json.dumps(value, sort_keys=True, ensure_ascii=False, indent=2)
    else:
        text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return (text + "\n").encode("utf-8")


def describe_os_error(exc: OSError, where: Path | str) -> str:
    """A message a maintainer can act on, for the errors a full or read-only disk gives."""
    if exc.errno == errno.ENOSPC:
        return f"no space left on the device holding {where}"
    if exc.errno == errno.EDQUOT:
        return f"disk quota exceeded on the device holding {where}"
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return f"cannot write to {where}: {exc.strerror}"
    return f"cannot write to {where}: {exc.strerror or exc}"


class SiteWriter:
    """The output folder of a build, written in place (see the module docstring)."""

    def __init__(self, out: Path, clean: bool = False):
        self.out = out.resolve()
        self.work = work_folder(self.out)
        self.root = self.out  # what steps that look at the output folder probe
        self.clean = clean
        self.dirty: set[str] = set()  # paths an interrupted build may have left changed
        self.pending: dict[str, bool] = {}  # rel -> whether the target existed before
        self.unchanged = 0  # files a step wrote again with the same bytes (left as they were)
        self.written: list[str] = []  # files renamed in by commit()
        self.deleted = 0
        self._journal: int | None = None  # descriptor of the journal, opened by _journal_pid
        self._journal_pid = 0
        self._lock: int | None = None
        self._safe_dirs: set[str] = set()
        self._committed = False
        self._renaming = False
        self._made = False  # whether __enter__ made the output folder
        self._first = False  # whether it held nothing (no previous site, no killed build)

    # --- lifetime -------------------------------------------------------------------------

    def __enter__(self) -> SiteWriter:
        try:
            self._made = not self.out.exists()
            self.out.mkdir(parents=True, exist_ok=True)
            self._first = not any(self.out.iterdir())  # before the journal is made
            self._lock = os.open(self.out, os.O_RDONLY)
        except OSError as exc:
            raise OutputError(describe_os_error(exc, self.out)) from None
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self._lock)
            self._lock = None
            raise OutputError(f"another build is writing to {self.out}; wait for it") from None
        self._recover()
        _remove_old_staging(self.out)
        return self

    def __exit__(self, *exc: object) -> None:
        self._close_journal()
        if not self._committed and not self._renaming:
            # failed before anything was renamed in: the site is as it was, journal and all
            for rel in self.pending:
                _unlink(self._tmp(rel))
            self.pending.clear()
            if not self.dirty:
                self._remove_work()
                if self._first:
                    self._remove_empty_folders()
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    def _remove_empty_folders(self) -> None:
        """A first build that failed leaves no trace: the folders its steps made for files
        never renamed in go (else the next build would take the folder for a stranger's,
        and --out would hold an empty skeleton of a site)."""
        for folder, _dirs, _files in os.walk(self.out, topdown=False):
            if folder != str(self.out):
                with contextlib.suppress(OSError):
                    os.rmdir(folder)
        if self._made:
            with contextlib.suppress(OSError):
                self.out.rmdir()

    def _recover(self) -> None:
        """Finish what a killed build left: drop its temporary files, note its paths."""
        path = self.work / JOURNAL
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return
        except (OSError, UnicodeDecodeError):
            lines = []
        for rel in lines:
            if rel and _safe(rel):
                self.dirty.add(rel)
                _unlink(self._tmp(rel))

    def _note(self, rels: Iterable[str]) -> None:
        # O_APPEND, one write() per call: lines from forked workers (catalogue.pipeline
        # .workers) never mix, and each is in the kernel before its file exists (a SIGKILL
        # keeps it). A forked worker opens its own descriptor.
        if self._journal is None or self._journal_pid != os.getpid():
            (self.work / "tmp").mkdir(parents=True, exist_ok=True)
            self._journal = os.open(
                self.work / JOURNAL, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644
            )
            self._journal_pid = os.getpid()
        data = "".join(rel + "\n" for rel in rels).encode("utf-8")
        while data:
            data = data[os.write(self._journal, data) :]

    def _close_journal(self) -> None:
        if self._journal is not None and self._journal_pid == os.getpid():
            os.close(self._journal)
        self._journal = None

    # --- forked workers (catalogue.pipeline.workers) -------------------------------------

    def adopt(self, pending: dict[str, bool], unchanged: int) -> None:
        """Take over the temporary files a forked worker wrote (they are renamed in, or
        removed on failure, with this writer's own)."""
        self.pending.update(pending)
        self.unchanged += unchanged

    def adopt_journal(self) -> None:
        """After a worker died: every path the journal names may have a temporary file
        that no worker reported, so all of them are removed with the build's own."""
        try:
            lines = (self.work / JOURNAL).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            return
        for rel in lines:
            if rel and _safe(rel):
                self.pending.setdefault(rel, True)

    # --- writing --------------------------------------------------------------------------

    def _tmp(self, rel: str) -> Path:
        """The fixed temporary name of an output (so a kill leaves at most one per path)."""
        return self.work / "tmp" / hashlib.sha256(rel.encode()).hexdigest()[:40]

    def _remove_work(self) -> None:
        _unlink(self.work / JOURNAL)
        for folder in (self.work / "tmp", self.work):
            with contextlib.suppress(OSError):
                folder.rmdir()

    def reuse(self, rel: str) -> bool:
        """Whether the previous build's file can stay as it is (nothing to copy)."""
        return rel not in self.dirty and not self.clean

    def _target(self, rel: str) -> Path:
        if not _safe(rel):
            raise ValueError(f"output path escapes the site: {rel}")
        target = self.out / rel
        parent = posixpath.dirname(rel)
        if parent not in self._safe_dirs:
            # a link planted inside the site must not send a write elsewhere
            target.parent.mkdir(parents=True, exist_ok=True)
            if not Path(os.path.realpath(target.parent)).is_relative_to(self.out):
                raise ValueError(f"output folder is a link out of the site: {parent}")
            self._safe_dirs.add(parent)
        return target

    def write(self, rel: str, data: bytes) -> None:
        target = self._target(rel)
        try:
            existed = target.is_file()
            if existed and _same(target, data):
                self.unchanged += 1
                self.pending.pop(rel, None)
                return
            self._note([rel])
            self._tmp(rel).write_bytes(data)
        except OSError as exc:
            raise OutputError(describe_os_error(exc, self.out)) from None
        self.pending[rel] = existed

    def open(self, rel: str) -> BinaryIO:
        """A file to stream a large output into; it replaces the target at commit."""
        target = self._target(rel)
        try:
            self._note([rel])
            fh = self._tmp(rel).open("wb")
        except OSError as exc:
            raise OutputError(describe_os_error(exc, self.out)) from None
        self.pending[rel] = target.is_file()
        return fh

    def commit(self, state: tuple[str, bytes], keep: set[str], previous: Iterable[str]) -> int:
        """Rename everything in, write the state, delete what no step claims any more.

        ``keep``: every output of this build; ``previous``: the outputs of the last one.
        Returns the number of files deleted.
        """
        stale = (set(previous) | self.dirty) - keep - {state[0]}
        if self.clean:
            stale |= {rel for rel in _walk(self.out) if rel not in keep} - {state[0]}
        stale = {rel for rel in stale if _safe(rel)}
        try:
            self._note(sorted(stale))
            order = sorted(self.pending, key=lambda rel: (self.pending[rel], rel))
            self.written = order
            self._renaming = True
            for rel in order:
                os.replace(self._tmp(rel), self.out / rel)
            self.pending.clear()
            name, data = state
            self._note([name])
            tmp = self._tmp(name)
            tmp.write_bytes(data)
            os.replace(tmp, self.out / name)
        except OSError as exc:
            raise OutputError(describe_os_error(exc, self.out)) from None
        self._committed = True
        for rel in sorted(stale):
            target = self.out / rel
            _unlink(target)
            _prune(target.parent, self.out)
        self._close_journal()
        self._remove_work()
        self.deleted = len(stale)
        return len(stale)


def _safe(rel: str) -> bool:
    return (
        bool(rel)
        and not rel.startswith("/")
        and posixpath.normpath(rel) == rel
        and rel != ".."
        and not rel.startswith("../")
        and "\0" not in rel
    )


def _same(path: Path, data: bytes) -> bool:
    if path.stat().st_size != len(data):
        return False
    return path.read_bytes() == data


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    except IsADirectoryError:
        shutil.rmtree(path, ignore_errors=True)


def _prune(folder: Path, root: Path) -> None:
    """Remove ``folder`` and its parents up to ``root`` while they are empty."""
    while folder != root and folder.is_relative_to(root):
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


def _walk(root: Path) -> Iterable[str]:
    for folder, _dirs, files in os.walk(root):
        base = Path(folder).relative_to(root).as_posix()
        for name in files:
            yield name if base == "." else f"{base}/{name}"


def _remove_old_staging(out: Path) -> None:
    """Staging folders of the previous design (``.NAME.staging-PID``, ``.NAME.old-PID``)
    that killed builds left beside the site: no build makes them any more."""
    for prefix in (f".{out.name}.staging-", f".{out.name}.old-"):
        for path in out.parent.glob(prefix + "*"):
            if path.is_dir() and path.name[len(prefix) :].isdigit():
                shutil.rmtree(path, ignore_errors=True)
