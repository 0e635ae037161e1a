"""Running a build's light and streaming steps across ``--jobs`` processes.

Pages, file tables, API records, RO-Crates … are thousands of small steps whose ``make``
is a closure over the build's ``RenderContext`` (the catalogue, the Jinja environment):
not picklable, and too big to ship to a worker per step anyway. On Linux the cheap way to
spread them is ``fork``: the pool is started *after* planning, so every worker inherits
the planned steps, closures included, and receives only step numbers. A worker runs its
steps and writes their files itself, through its inherited copy of the build's
``SiteWriter`` (each output goes to its own fixed temporary name; the journal is an
``O_APPEND`` file, so lines from several processes never mix), and sends back only what
the parent must record: warnings, info, which temporary files it created, failures.

Steps of one study go to the same worker in one batch, so what they share (a study's
description converted from markdown, see ``catalogue.render``) is computed once. Results
are put back in step order, so warnings, the build state and the bytes written are the
same whatever the number of processes. Where ``fork`` is not available (macOS, Windows),
or for one job or a handful of steps, everything runs in this process, through the very
same function.

**On a Dask cluster** (``--executor dask…``) there is no fork to inherit the closures, so
the planned steps are pickled (cloudpickle) *once*, all of them in one pickle: the
``RenderContext`` they share is stored in it once (10.6 MB for 1,000 studies, 0.65 s to
pickle or unpickle). That pickle is scattered to every worker (``Executor.map_shared``),
a worker unpickles it at its first batch and keeps it for the build (a memo keyed by a
token of the build), and the batches (step numbers, whole studies) run there by number.
Re-planning the steps on each worker from a smaller description was the alternative;
it would cost the same transfer (the catalogue is most of the context) plus the planning
per worker, and would tie the step factories to a second caller.

What comes back: a page step's files as bytes, written here by the build's own
``SiteWriter`` (so a worker needs no access to the site folder for them); a streaming step
(file tables: possibly millions of rows, never held in memory) writes its temporary files
itself into the build's work folder, through a ``SiteWriter`` of its own, as a forked
worker does. That needs the work folder (beside ``--out``) at the same absolute path on
the workers, as the content tree already is (see ``catalogue.pipeline.executors``); a
worker that cannot see it says so (a build error), rather than writing elsewhere.
Outcomes are put back in step order, so the site is byte for byte that of a local build.
"""

from __future__ import annotations

import gc
import math
import multiprocessing
import os
import pickle
import signal
import sys
import threading
import time
import uuid
import weakref
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, BinaryIO, Protocol, TypeGuard

from catalogue.pipeline.executors import Executor
from catalogue.pipeline.output import OutputError, SiteWriter
from catalogue.pipeline.plan import PlanError, Step

# Fewer steps than this are not worth starting processes for (a rebuild after an edit).
MIN_FORKED = 8
# A batch holds whole studies and about this many steps: large enough that a round trip
# is negligible, small enough that the last batches still balance the workers.
BATCH_STEPS = 48
# A forked worker whose own memory (pages no longer shared with the build process) passed
# this is replaced by a fresh fork after its batch (see ``_run_forked``).
RECYCLE_BYTES = 160 * 1024 * 1024


@dataclass
class Outcome:
    """What the parent records of one step that ran (its files are already written)."""

    index: int
    warnings: tuple[str, ...] = ()
    info: dict[str, Any] = field(default_factory=dict)
    error: str | None = None  # the step raised: reported with every other failure
    fatal: str | None = None  # the site cannot be written (OutputError): stops the build


@dataclass
class Batch:
    outcomes: list[Outcome]
    pending: dict[str, bool]  # temporary files this worker created (see SiteWriter)
    unchanged: int
    private: int = 0  # bytes of this worker's own memory after the batch


class Writer(Protocol):
    """Where ``run_one`` puts a step's files: the build's ``SiteWriter``, or on a Dask
    worker one that keeps them for the build process."""

    def write(self, rel: str, data: bytes) -> None: ...

    def open(self, rel: str) -> BinaryIO: ...


# Set in the parent just before the pool forks; a forked worker reads its inherited copy.
_WORK: tuple[Sequence[Step], SiteWriter] | None = None


def run_one(index: int, step: Step, writer: Writer) -> Outcome:
    """Run a step and write its files through ``writer``."""
    try:
        if step.streams:
            declared = set(step.outputs)

            def open_output(rel: str) -> BinaryIO:
                if rel not in declared:
                    raise PlanError(f"step {step.id} wrote undeclared output {rel}")
                return writer.open(rel)

            result = step.make(open_output)
        else:
            result = step.make()
            extra = set(result.files) - set(step.outputs)
            if extra:
                raise PlanError(f"step {step.id} wrote undeclared outputs: {sorted(extra)}")
            for rel, data in sorted(result.files.items()):
                writer.write(rel, data)
    except OutputError as exc:
        return Outcome(index, fatal=str(exc))
    except Exception as exc:  # one broken page must not hide the others' problems
        return Outcome(index, error=f"{type(exc).__name__}: {exc}")
    return Outcome(index, tuple(result.warnings), dict(result.info))


def _run_batch(indices: list[int], own: _OwnMemory) -> Batch:
    """In a forked worker: run these steps, hand back what the parent must record."""
    assert _WORK is not None, "the worker was not forked from a planning build"
    steps, writer = _WORK
    writer.pending, writer.unchanged = {}, 0  # this worker's own files only
    outcomes = [run_one(i, steps[i], writer) for i in indices]
    batch = Batch(outcomes, writer.pending, writer.unchanged, own.bytes(RECYCLE_BYTES))
    writer.pending, writer.unchanged = {}, 0
    return batch


def batches(steps: Sequence[Step], group_of: Callable[[Step], str]) -> list[list[int]]:
    """Step numbers in batches of whole groups (studies); steps of no group (site-wide
    listings, indexes: often the longest) come first, one batch each."""
    alone, grouped = split_batches(steps, group_of)
    return alone + grouped


def split_batches(
    steps: Sequence[Step], group_of: Callable[[Step], str]
) -> tuple[list[list[int]], list[list[int]]]:
    """(one batch per site-wide step, batches of whole groups)."""
    alone: list[list[int]] = []
    groups: dict[str, list[int]] = {}
    for i, step in enumerate(steps):
        key = group_of(step)
        if key:
            groups.setdefault(key, []).append(i)
        else:
            alone.append([i])
    out: list[list[int]] = []
    current: list[int] = []
    for members in groups.values():
        current += members
        if len(current) >= BATCH_STEPS:
            out.append(current)
            current = []
    if current:
        out.append(current)
    return alone, out


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def goes_to_cluster(executor: Executor | None, steps: int) -> TypeGuard[Executor]:
    """Whether ``run_all`` ships this many steps to ``executor``'s cluster: a distributed
    one, and enough steps to be worth sending the build's context."""
    return executor is not None and executor.distributed and steps >= MIN_FORKED


def run_all(
    steps: Sequence[Step],
    writer: SiteWriter,
    jobs: int,
    group_of: Callable[[Step], str] = lambda step: "",
    done: Callable[[], None] | None = None,
    executor: Executor | None = None,
) -> list[Outcome]:
    """Run every step (none heavy) and write its files; outcomes in step order.

    With a distributed ``executor`` (Dask) the steps run on its workers (see the module
    docstring), unless they are too few to be worth shipping the build's context.
    """
    tick = done or (lambda: None)
    if goes_to_cluster(executor, len(steps)):
        return run_on_cluster(steps, writer, executor, batches(steps, group_of), tick)
    if jobs < 2 or len(steps) < MIN_FORKED or not can_fork():
        outcomes = []
        for i, step in enumerate(steps):
            outcomes.append(run_one(i, step, writer))
            tick()
        return outcomes
    return _run_forked(steps, writer, jobs, *split_batches(steps, group_of), tick)


def _run_forked(
    steps: Sequence[Step],
    writer: SiteWriter,
    jobs: int,
    wide: list[list[int]],
    narrow: list[list[int]],
    tick: Callable[[], None],
) -> list[Outcome]:
    """One batch at a time per worker, the next sent when one comes back.

    Memory decides two things. A site-wide step (the search index, the bulk tables, the
    browse pages) reads every study, so the worker running it ends up with its own copy of
    every page of the catalogue it touched (copy-on-write: reading a Python object writes
    its reference count): at most ``jobs // 2`` workers (one of two) run those, while the
    others render studies. And a worker whose own memory grew past ``RECYCLE_BYTES`` is
    retired after its batch and a fresh one forked in its place, sharing the build's pages
    again. (Running the site-wide steps in a thread of this process instead, where those
    pages belong, was tried: the thread and the loop feeding the workers share one
    interpreter lock, and the build took longer.)
    """
    global _WORK
    fork = multiprocessing.get_context("fork")
    found: dict[int, Outcome] = {}
    wide_todo, narrow_todo = deque(wide), deque(narrow)
    wide_slots = max(1, jobs // 2)
    started_all: list[tuple[BaseProcess, Connection]] = []
    busy: dict[Connection, BaseProcess] = {}
    on_wide: set[Connection] = set()  # workers that have run a site-wide step
    _WORK = (steps, writer)
    gc.freeze()  # the workers' garbage collector then leaves the inherited pages shared
    finished = False

    def take(conn: Connection | None) -> tuple[list[int], bool] | None:
        """The next batch for this worker (None: a new one) and whether it is site-wide."""
        if wide_todo and (conn in on_wide or len(on_wide & set(busy)) < wide_slots):
            return wide_todo.popleft(), True
        if narrow_todo:
            return narrow_todo.popleft(), False
        if wide_todo and not busy:  # cannot happen (a worker on wide work is busy)
            return wide_todo.popleft(), True
        return None

    def start(batch: list[int], is_wide: bool) -> None:
        mine, theirs = fork.Pipe()
        process = fork.Process(target=_worker, args=(theirs, os.getpid()), daemon=True)
        process.start()
        theirs.close()
        started_all.append((process, mine))
        busy[mine] = process
        if is_wide:
            on_wide.add(mine)
        mine.send(batch)

    try:
        for _ in range(min(jobs, len(wide) + len(narrow))):
            first = take(None)
            if first is None:
                break
            start(*first)
        while busy:
            waiting: list[Any] = [*busy, *(p.sentinel for p in busy.values())]
            for ready in wait(waiting):
                if not isinstance(ready, Connection) or ready not in busy:
                    continue  # a sentinel: its pipe says why (EOF) just below
                try:
                    batch: Batch = ready.recv()
                except EOFError:
                    raise OutputError(
                        "a build worker process died (killed, or out of memory); "
                        "run with --jobs 1 to see where"
                    ) from None
                writer.adopt(batch.pending, batch.unchanged)
                for outcome in batch.outcomes:
                    found[outcome.index] = outcome
                    tick()
                if batch.private <= RECYCLE_BYTES:
                    more = take(ready)
                    if more is not None:
                        if more[1]:
                            on_wide.add(ready)
                        ready.send(more[0])
                        continue
                ready.send(None)  # done, or retired: a fresh fork shares the pages again
                busy.pop(ready).join()  # it ends on None: no process or pipe kept per retiree
                ready.close()
                on_wide.discard(ready)
                more = take(None)
                if more is not None:
                    start(*more)
        finished = True
    finally:
        _WORK = None
        gc.unfreeze()
        for started, conn in started_all:
            conn.close()
            if not finished:  # interrupted, or a worker died: stop the others now
                started.kill()
            started.join()
        if not finished:
            # the batches in flight wrote temporary files no worker reported: the journal
            # names them all, so the failed build removes them with its own
            writer.adopt_journal()
    return [found[i] for i in range(len(steps))]


class _OwnMemory:
    """This worker's own memory (pages no longer shared with the build process), read from
    Linux's ``smaps_rollup``, which walks every page of the process: 20 ms for a 1 GiB
    build, once a batch (3,000 batches at 10,000 studies), cost more CPU than the DataCite
    records. So it is read only when it could have passed the limit: each page this
    process made its own cost it a page fault, so the faults since the last reading bound
    the growth. Where transparent huge pages are always on, one fault can make 2 MiB its
    own: there it is also read at least every second."""

    def __init__(self) -> None:
        self.known = 0
        self.faults = _faults()
        self.read_at = time.monotonic()
        self.every = 1.0 if _huge_pages_always() else math.inf

    def bytes(self, limit: int) -> int:
        faults, now = _faults(), time.monotonic()
        estimate = self.known + (faults - self.faults) * PAGE
        if estimate <= limit and now - self.read_at < self.every:
            return estimate
        self.known, self.faults, self.read_at = _private_bytes(), faults, now
        return self.known


def _huge_pages_always() -> bool:
    try:
        with open("/sys/kernel/mm/transparent_hugepage/enabled", encoding="ascii") as fh:
            return "[always]" in fh.read()
    except OSError:
        return True  # cannot tell: assume the worst


PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _faults() -> int:
    import resource  # POSIX only, as fork is

    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _private_bytes() -> int:
    """0 where Linux's /proc is not there to say."""
    try:
        with open("/proc/self/smaps_rollup", "rb") as fh:
            for line in fh:
                if line.startswith(b"Private_Dirty:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _worker(conn: Connection, parent: int) -> None:
    """A forked worker: batches of step numbers in, ``Batch`` records out, until None."""
    _die_with(parent)
    own = _OwnMemory()
    while (indices := conn.recv()) is not None:
        conn.send(_run_batch(indices, own))


def _die_with(parent: int) -> None:
    """Ask Linux to kill this worker when the build process dies (a SIGKILLed build must
    not leave workers writing temporary files, or holding the site's lock)."""
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it died before the request was made
        os._exit(1)


# --- a Dask cluster ------------------------------------------------------------------------


@dataclass(frozen=True)
class Shipped:
    """What every worker receives once per build: the pickled steps and where to write."""

    token: str  # this build (a worker keeps the unpickled steps of the latest one)
    steps: bytes  # cloudpickle of the planned steps, their shared context stored once
    out: str  # the site folder (absolute): streaming steps write into its work folder
    probe: str  # a file in that work folder: a worker that cannot see it is refused
    cwd: str  # the build's working directory: steps may hold paths relative to it


@dataclass
class RemoteBatch:
    outcomes: list[Outcome]
    files: dict[str, bytes]  # the outputs of non-streaming steps, for the parent to write
    pending: dict[str, bool]  # temporary files streaming steps wrote (see SiteWriter)


class _RemoteWriter:
    """A worker's writer: files given whole are kept for the parent; streamed ones go to
    the shared work folder, through a ``SiteWriter`` of this worker (no lock: the build
    process holds it)."""

    def __init__(self, out: Path, probe: Path):
        self.files: dict[str, bytes] = {}
        self._site = SiteWriter(out)
        self._probe = probe

    def write(self, rel: str, data: bytes) -> None:
        self.files[rel] = data

    def open(self, rel: str) -> BinaryIO:
        # the build removes the probe when it stops (a failure elsewhere): a batch still
        # running here (Dask cannot kill it) must not add temporary files after the
        # build cleaned up its own
        if not self._probe.is_file():
            raise OutputError("the build was stopped")
        return self._site.open(rel)

    def close(self) -> dict[str, bool]:
        self._site._close_journal()
        return self._site.pending


_LOADED: dict[str, Sequence[Step]] = {}  # on a worker: build token → its unpickled steps
_LOADING = threading.Lock()  # a worker may run several batches at once, in threads


def _steps_of(shipped: Shipped) -> Sequence[Step]:
    """The shipped steps, unpickled at this worker's first batch of the build and kept
    while the cluster keeps ``shipped`` (released when the build's tasks are done)."""
    with _LOADING:
        steps = _LOADED.get(shipped.token)
        if steps is None:
            enabled = gc.isenabled()
            gc.disable()  # millions of objects arrive at once: no collections meanwhile
            try:
                steps = _LOADED[shipped.token] = pickle.loads(shipped.steps)
            finally:
                if enabled:
                    gc.enable()
            gc.freeze()  # they live for the whole build: later collections skip them
            weakref.finalize(shipped, _forget, shipped.token)
        return steps


def _forget(token: str) -> None:
    with _LOADING:
        _LOADED.pop(token, None)
        gc.unfreeze()  # what the build left may be collected again


def remote_batch(indices: list[int], shared: Shipped) -> RemoteBatch:
    """On a Dask worker: run these steps of the shipped build, hand back their results."""
    steps = _steps_of(shared)
    if os.getcwd() != shared.cwd:
        # --content may be relative: the worker follows the build (a shared file system)
        with _LOADING:
            try:
                os.chdir(shared.cwd)
            except OSError as exc:
                fatal = f"the build's folder {shared.cwd} is not on the Dask worker: {exc}"
                return RemoteBatch([Outcome(i, fatal=fatal) for i in indices], {}, {})
    if any(steps[i].streams for i in indices) and not Path(shared.probe).is_file():
        where = Path(shared.probe).parent
        fatal = (
            f"the build's work folder {where} is not visible on the Dask worker "
            "(file tables are written there: the site folder must be on a file system "
            "the workers share, at the same path)"
        )
        return RemoteBatch([Outcome(i, fatal=fatal) for i in indices], {}, {})
    writer = _RemoteWriter(Path(shared.out), Path(shared.probe))
    try:
        outcomes = [run_one(i, steps[i], writer) for i in indices]
    finally:
        pending = writer.close()
    return RemoteBatch(outcomes, writer.files, pending)


def _announce(probe: Path) -> None:
    """The file that tells a worker it sees the build's work folder."""
    probe.parent.mkdir(parents=True, exist_ok=True)
    probe.touch()


def run_on_cluster(
    steps: Sequence[Step],
    writer: SiteWriter,
    executor: Executor,
    work: list[list[int]],
    tick: Callable[[], None],
) -> list[Outcome]:
    """Ship the steps once, run the batches on the cluster, write what comes back.

    Files are written as batches come back (memory holds a few batches, not the site);
    the order of writes changes nothing (``SiteWriter.commit`` renames in a sorted order).
    """
    import cloudpickle  # type: ignore[import-untyped]  # comes with Dask distributed

    token = uuid.uuid4().hex
    probe = writer.work / f"probe-{token}"
    found: dict[int, Outcome] = {}
    try:
        pickled = cloudpickle.dumps(list(steps))
        shipped = Shipped(token, pickled, str(writer.out), str(probe), os.getcwd())
        _announce(probe)
    except OSError as exc:
        raise OutputError(f"cannot prepare the build's work folder: {exc}") from None
    finished = False
    results: Iterator[RemoteBatch] | None = None
    try:
        try:
            results = executor.map_shared(remote_batch, work, shipped)
            for batch in results:
                writer.adopt(batch.pending, 0)
                for rel, data in batch.files.items():
                    writer.write(rel, data)
                for outcome in batch.outcomes:
                    found[outcome.index] = outcome
                    tick()
        except OutputError:
            raise
        except Exception as exc:  # the cluster failed (a worker died, a lost connection)
            kind = type(exc).__name__
            # a task retried on worker after worker that died (KilledWorker), or whose
            # shipped steps died with the last worker holding them (cancelled)
            lost = kind in ("KilledWorker", "FutureCancelledError", "CancelledError")
            why = "a Dask worker died (killed, or out of memory)" if lost else kind
            raise OutputError(
                f"the page steps failed on {executor.name}: {why}; "
                f"run with --executor local to see where ({kind}: {exc})"
            ) from None
        finished = True
    finally:
        if results is not None and hasattr(results, "close"):
            results.close()  # interrupted: the cluster drops the batches still queued
        probe.unlink(missing_ok=True)
        if not finished:  # streamed files of batches in flight: the journal names them
            writer.adopt_journal()
    return [found[i] for i in range(len(steps))]
