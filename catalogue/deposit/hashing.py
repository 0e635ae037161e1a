"""Hash files (and read image headers) in parallel, at the speed of the disk.

SHA-256 in OpenSSL is as fast as ``sha256sum``; what costs is the per-file overhead of a
Python loop on folders of many small files, and one core left idle. Files therefore go to
worker processes in chunks (up to ``CHUNK_FILES`` files or ``CHUNK_BYTES`` bytes), a
bounded number of chunks in flight, so that memory stays flat for any number of files
and results come back in submission order (the caller writes them as they arrive).

A file is read once: its digest, and for image files their header (the same
``harvest_file`` values as ``catalogue harvest``: dimensions, pixel type, pixel sizes).
A file whose size or modification time changed while it was read is reported, not
recorded, so a manifest never pairs a size with a digest of other bytes.

On a folder of many small files even that is too slow when the main process first walks
the whole folder (a ``stat`` per file, name checks, tuples) and then hands each file to a
worker: the main process, not SHA-256, sets the pace. So ``scan`` does the per-file half
of the walk in the workers too: the main process only lists folders and sends names in
chunks; a worker looks at each file (``walk.classify``), asks the resume state whether it
is known unchanged, and hashes the small ones there and then (one open, one read, one
fstat). Large files and images whose header is read come back as ``Found`` and go through
``run`` afterwards, so that one large file per chunk still keeps every core busy.

On a Dask cluster (``--executor dask://…``) the same chunks are mapped through
``pipeline.executors``; the workers must see the folder at the same path.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from catalogue.deposit.walk import Skipped, classify, is_image

T = TypeVar("T")
R = TypeVar("R")

CHUNK_FILES = 256
CHUNK_BYTES = 64 << 20
BLOCK = 1 << 20
SMALL = 1 << 20  # read in one call up to this size


class Task(NamedTuple):
    """One file to read (a tuple: thousands cross to the workers per second)."""

    path: str  # absolute path of the file
    rel: str
    size: int
    mtime_ns: int
    harvest: bool = False  # read the image header too
    place: str | None = None  # copy or link the file here ("copy:DEST" or "link:DEST")


def sha256_of(path: str, size: int = -1) -> tuple[str, int, int]:
    """(digest, size, mtime_ns) of one file; the stat is taken after reading.

    Small files (most of a million-file folder) are read in one system call, without a
    file object or a fresh buffer: that per-file overhead, not SHA-256, is what limits a
    folder of small files.
    """
    # never through a link: the walk listed a regular file, and one swapped for a link
    # since (to a file outside the folder) must not be read, hashed or placed
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    try:
        if 0 <= size <= SMALL:
            data = os.read(fd, size + 1)
            h = hashlib.sha256(data)
            if len(data) > size:  # grew since the walk: read the rest
                while chunk := os.read(fd, BLOCK):
                    h.update(chunk)
        else:
            h = hashlib.sha256()
            buffer = bytearray(BLOCK)
            view = memoryview(buffer)
            while n := os.readv(fd, [buffer]):
                h.update(view[:n])
        st = os.fstat(fd)
    finally:
        os.close(fd)
    return h.hexdigest(), st.st_size, st.st_mtime_ns


def _place(source: str, spec: str) -> None:
    """Copy or hard-link ``source`` to its place under the site's data_root, atomically."""
    mode, dest = spec.split(":", 1)
    target = Path(dest)
    if os.path.realpath(target.parent) != str(target.parent):
        # the data folder is given resolved: a link inside it would write elsewhere
        raise OSError(errno.ELOOP, f"a symbolic link in {target.parent} leads out of it")
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        if mode == "link" and os.path.samefile(source, target):
            return
        st, sst = target.stat(), os.stat(source)
        if mode == "copy" and st.st_size == sst.st_size and st.st_mtime_ns == sst.st_mtime_ns:
            return
    temp = target.with_name(f".{target.name}.deposit-{os.getpid()}")
    try:
        if mode == "link":
            os.link(source, temp)
        else:
            shutil.copy2(source, temp)
        os.replace(temp, target)
    finally:
        if temp.exists():
            temp.unlink()


def process_chunk(tasks: list[Task]) -> list[dict[str, Any]]:
    """The results of one chunk, in order (runs in a worker; never raises for a file)."""
    out = []
    for task in tasks:
        result: dict[str, Any] = {"rel": task.rel}
        try:
            digest, size, mtime = sha256_of(task.path, task.size)
        except OSError as exc:
            result["error"] = f"cannot be read ({exc.strerror or exc}): not included"
            out.append(result)
            continue
        if size != task.size or mtime != task.mtime_ns:
            result["error"] = "changed while it was read: not included (run again)"
            out.append(result)
            continue
        result.update(sha256=digest, size=size, mtime_ns=mtime)
        if task.harvest:
            from catalogue.imaging.harvest import harvest_file

            record = harvest_file(task.path)
            result["values"] = record["values"]
            if record.get("warning"):
                result["warning"] = record["warning"]
        if task.place:
            try:
                _place(task.path, task.place)
            except OSError as exc:
                result["error"] = f"cannot be placed in data_root ({exc.strerror or exc})"
        out.append(result)
    return out


class ScanJob(NamedTuple):
    """Names from ``walk.entries`` for one worker: ``(rel, None)`` to look at, ``(rel,
    reason)`` already left out (passed through, so every report comes back in order)."""

    root: str
    names: list[tuple[str, str | None]]
    state: str | None  # the resume state's SQLite file, when it has rows
    inline: bool  # hash small files here (False: --copy/--link, a Dask executor)
    headers: bool  # images' headers are read (so images are not hashed here)


_STATES: dict[str, Any] = {}


def _known(state: str, rel: str) -> tuple[int, int, str, str] | None:
    """(size, mtime_ns, sha256, harvested) recorded for ``rel`` by an earlier run."""
    db = _STATES.get(state)
    if db is None:
        import sqlite3

        db = _STATES[state] = sqlite3.connect(f"file:{state}?mode=ro", uri=True)
    row = db.execute(
        "SELECT size, mtime_ns, sha256, harvested FROM hashed WHERE path = ?", (rel,)
    ).fetchone()
    return row


def scan_chunk(job: ScanJob) -> list[tuple[Any, ...]]:
    """Each name of the job, in order, as one of
    ``("skip", rel, reason)``, ``("found", rel, size, mtime_ns)`` (hash it later),
    ``("known", rel, size, sha256, harvested)`` (unchanged since an earlier run) or
    ``("hashed", result)`` (a ``process_chunk`` result, error included)."""
    out: list[tuple[Any, ...]] = []
    small: list[Task] = []
    for rel, why in job.names:
        if why is not None:
            out.append(("skip", rel, why))
            continue
        item = classify(job.root, rel)
        if isinstance(item, Skipped):
            out.append(("skip", rel, item.reason))
            continue
        if not job.inline or item.size > SMALL or (job.headers and is_image(rel)):
            out.append(("found", *item))
            continue
        if job.state is not None:
            row = _known(job.state, rel)
            if row is not None and row[0] == item.size and row[1] == item.mtime_ns:
                out.append(("known", rel, item.size, row[2], row[3] or ""))
                continue
        small.append(Task(f"{job.root}/{rel}", rel, item.size, item.mtime_ns))
    if small:
        out.extend(("hashed", result) for result in process_chunk(small))
    return out


def scan(
    folder: Path,
    names: Iterable[tuple[str, str | None]],
    jobs: int,
    state: str | None,
    inline: bool,
    headers: bool,
) -> Iterator[tuple[Any, ...]]:
    """``scan_chunk`` over every name, in order (see the module docstring)."""
    root = str(folder.resolve())

    def job_list() -> Iterator[ScanJob]:
        batch: list[tuple[str, str | None]] = []
        for item in names:
            batch.append(item)
            if len(batch) >= CHUNK_FILES:
                yield ScanJob(root, batch, state, inline, headers)
                batch = []
        if batch:
            yield ScanJob(root, batch, state, inline, headers)

    try:
        for results in ordered_map(scan_chunk, job_list(), jobs):
            yield from results
    finally:
        while _STATES:  # connections opened in this process (jobs=1)
            _STATES.popitem()[1].close()


def ordered_map(fn: Callable[[T], R], items: Iterable[T], jobs: int) -> Iterator[R]:
    """``map(fn, items)`` over ``jobs`` worker processes, a few items in flight per worker
    (memory stays flat), results in the order of ``items``."""
    if jobs <= 1:
        yield from map(fn, items)
        return
    window: deque[Future[R]] = deque()
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        try:
            for item in items:
                window.append(pool.submit(fn, item))
                while len(window) > jobs * 3:
                    yield window.popleft().result()
            while window:
                yield window.popleft().result()
        finally:
            for future in window:
                future.cancel()


def chunks(tasks: Iterable[Task]) -> Iterator[list[Task]]:
    chunk: list[Task] = []
    size = 0
    for task in tasks:
        chunk.append(task)
        size += task.size
        if len(chunk) >= CHUNK_FILES or size >= CHUNK_BYTES:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def run(
    tasks: Iterable[Task],
    jobs: int,
    done: Callable[[int, int], None] = lambda files, size: None,
    executor: str | None = None,
) -> Iterator[dict[str, Any]]:
    """Results of every task, in order; ``done(files, bytes)`` after each chunk."""
    if executor and executor != "local":
        yield from _run_executor(tasks, jobs, done, executor)
        return
    if jobs <= 1:
        for chunk in chunks(tasks):
            results = process_chunk(chunk)
            done(len(chunk), sum(t.size for t in chunk))
            yield from results
        return
    window: deque[tuple[list[Task], Future[list[dict[str, Any]]]]] = deque()
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        try:
            for chunk in chunks(tasks):
                window.append((chunk, pool.submit(process_chunk, chunk)))
                while len(window) > jobs * 3:
                    yield from _collect(window.popleft(), done)
            while window:
                yield from _collect(window.popleft(), done)
        finally:
            for _, future in window:
                future.cancel()


def _collect(
    item: tuple[list[Task], Future[list[dict[str, Any]]]], done: Callable[[int, int], None]
) -> list[dict[str, Any]]:
    chunk, future = item
    results = future.result()
    done(len(chunk), sum(t.size for t in chunk))
    return results


def _run_executor(
    tasks: Iterable[Task], jobs: int, done: Callable[[int, int], None], spec: str
) -> Iterator[dict[str, Any]]:
    from catalogue.pipeline.executors import open_executor

    runner = open_executor(spec, jobs)
    try:
        group: list[list[Task]] = []
        for chunk in chunks(tasks):
            group.append(chunk)
            if len(group) >= max(2, jobs * 2):
                yield from _map_group(runner, group, done)
                group = []
        yield from _map_group(runner, group, done)
    finally:
        runner.close()


def _map_group(
    runner: Any, group: list[list[Task]], done: Callable[[int, int], None]
) -> Iterator[dict[str, Any]]:
    for chunk, results in zip(group, runner.map(process_chunk, group), strict=True):
        done(len(chunk), sum(t.size for t in chunk))
        yield from results
