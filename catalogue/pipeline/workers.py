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
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import sys
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any, BinaryIO

from catalogue.pipeline.output import OutputError, SiteWriter
from catalogue.pipeline.plan import PlanError, Step

# Fewer steps than this are not worth starting processes for (a rebuild after an edit).
MIN_FORKED = 8
# A batch holds whole studies and about this many steps: large enough that a round trip
# is negligible, small enough that the last batches still balance the workers.
BATCH_STEPS = 48


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


# Set in the parent just before the pool forks; a forked worker reads its inherited copy.
_WORK: tuple[Sequence[Step], SiteWriter] | None = None


def run_one(index: int, step: Step, writer: SiteWriter) -> Outcome:
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


def _run_batch(indices: list[int]) -> Batch:
    """In a forked worker: run these steps, hand back what the parent must record."""
    assert _WORK is not None, "the worker was not forked from a planning build"
    steps, writer = _WORK
    writer.pending, writer.unchanged = {}, 0  # this worker's own files only
    outcomes = [run_one(i, steps[i], writer) for i in indices]
    batch = Batch(outcomes, writer.pending, writer.unchanged)
    writer.pending, writer.unchanged = {}, 0
    return batch


def batches(steps: Sequence[Step], group_of: Callable[[Step], str]) -> list[list[int]]:
    """Step numbers in batches of whole groups (studies); steps of no group (site-wide
    listings, indexes: often the longest) come first, one batch each."""
    alone: list[list[int]] = []
    groups: dict[str, list[int]] = {}
    for i, step in enumerate(steps):
        key = group_of(step)
        if key:
            groups.setdefault(key, []).append(i)
        else:
            alone.append([i])
    out = alone
    current: list[int] = []
    for members in groups.values():
        current += members
        if len(current) >= BATCH_STEPS:
            out.append(current)
            current = []
    if current:
        out.append(current)
    return out


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def run_all(
    steps: Sequence[Step],
    writer: SiteWriter,
    jobs: int,
    group_of: Callable[[Step], str] = lambda step: "",
    done: Callable[[], None] | None = None,
) -> list[Outcome]:
    """Run every step (none heavy) and write its files; outcomes in step order."""
    tick = done or (lambda: None)
    if jobs < 2 or len(steps) < MIN_FORKED or not can_fork():
        outcomes = []
        for i, step in enumerate(steps):
            outcomes.append(run_one(i, step, writer))
            tick()
        return outcomes
    return _run_forked(steps, writer, jobs, batches(steps, group_of), tick)


def _run_forked(
    steps: Sequence[Step],
    writer: SiteWriter,
    jobs: int,
    work: list[list[int]],
    tick: Callable[[], None],
) -> list[Outcome]:
    """One batch at a time per worker, the next sent when one comes back."""
    global _WORK
    fork = multiprocessing.get_context("fork")
    found: dict[int, Outcome] = {}
    todo = deque(work)
    workers: list[tuple[BaseProcess, Connection]] = []
    busy: dict[Connection, BaseProcess] = {}
    _WORK = (steps, writer)
    gc.freeze()  # the workers' garbage collector then leaves the inherited pages shared
    finished = False
    try:
        for _ in range(min(jobs, len(work))):
            mine, theirs = fork.Pipe()
            process = fork.Process(target=_worker, args=(theirs, os.getpid()), daemon=True)
            process.start()
            theirs.close()
            workers.append((process, mine))
            mine.send(todo.popleft())
            busy[mine] = process
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
                if todo:
                    ready.send(todo.popleft())
                else:
                    ready.send(None)
                    del busy[ready]
        finished = True
    finally:
        _WORK = None
        gc.unfreeze()
        for started, conn in workers:
            conn.close()
            if not finished:  # interrupted, or a worker died: stop the others now
                started.kill()
            started.join()
        if not finished:
            # the batches in flight wrote temporary files no worker reported: the journal
            # names them all, so the failed build removes them with its own
            writer.adopt_journal()
    return [found[i] for i in range(len(steps))]


def _worker(conn: Connection, parent: int) -> None:
    """A forked worker: batches of step numbers in, ``Batch`` records out, until None."""
    _die_with(parent)
    while (indices := conn.recv()) is not None:
        conn.send(_run_batch(indices))


def _die_with(parent: int) -> None:
    """Ask Linux to kill this worker when the build process dies (a SIGKILLed build must
    not leave workers writing temporary files, or holding the site's lock)."""
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it died before the request was made
        os._exit(1)
