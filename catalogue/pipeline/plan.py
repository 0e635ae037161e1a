"""Build steps, the planner and the runner.

A step declares its outputs and a digest of everything it reads *before* it runs
(as Lektor's build programs do). That lets the runner refuse two producers for one
file, reuse the previous build's files when the digest is unchanged, and run heavy
steps in worker processes that return bytes while the parent alone writes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from catalogue.pipeline.executors import Executor, LocalExecutor


@dataclass(frozen=True)
class StepResult:
    files: dict[str, bytes]
    warnings: tuple[str, ...] = ()
    info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    """One unit of work. ``make`` must be a pure function of what ``digest`` covers.

    Steps marked ``heavy`` run in a process pool, so their ``make`` must be picklable
    (a module-level function or a functools.partial of one).
    """

    id: str
    outputs: tuple[str, ...]
    digest: str
    make: Callable[..., StepResult]
    heavy: bool = False
    # A streaming step is called as make(open_output) and writes its (many, large) files
    # through ``open_output(path)`` (a binary file in the staging tree) instead of returning
    # them, so that a million-row file table never sits in memory. It runs in the parent.
    streams: bool = False


class PlanError(Exception):
    pass


class StepsFailed(Exception):
    """Some steps raised; every failure is collected so that all are reported at once."""

    def __init__(self, failures: list[tuple[str, str]]):
        super().__init__(f"{len(failures)} step(s) failed")
        self.failures = failures


def digest_of(*parts: Any) -> str:
    """A stable hash of JSON-able parts (the declared inputs of a step)."""
    text = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def text_digest(*parts: str) -> str:
    """``digest_of`` for parts that are plain text without NUL (accessions, paths, other
    digests), for the loops that make one a study: a JSON dump each was a tenth of
    planning a one-study edit at 10,000 studies."""
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def json_part(value: Any) -> str:
    """A JSON-able part of a ``text_digest``: "" when empty (the common case, cheaply)."""
    return json.dumps(value, sort_keys=True, default=str, separators=(",", ":")) if value else ""


def plan(steps: Iterable[Step]) -> list[Step]:
    """Deduplicate identical steps and refuse two different producers for one output."""
    by_id: dict[str, Step] = {}
    producer: dict[str, str] = {}
    for step in steps:
        known = by_id.get(step.id)
        if known is not None:
            if known.digest != step.digest or known.outputs != step.outputs:
                raise PlanError(f"two different steps share the id {step.id}")
            continue
        by_id[step.id] = step
        for out in step.outputs:
            if out in producer:
                raise PlanError(f"{out} would be written by both {producer[out]} and {step.id}")
            producer[out] = step.id
    return sorted(by_id.values(), key=lambda s: s.id)


def _call(make: Callable[[], StepResult]) -> StepResult:
    return make()


def run_steps(
    steps: Sequence[Step],
    jobs: int,
    executor: Executor | None = None,
    done: Callable[[], None] | None = None,
) -> dict[str, StepResult]:
    """Run the given steps, heavy ones in parallel, and return their results by step id.

    Heavy steps go to ``executor`` (e.g. a Dask cluster, see ``catalogue.pipeline.executors``)
    when one is given, else to ``jobs`` local processes; light ones run here.
    """
    results: dict[str, StepResult] = {}
    heavy = [s for s in steps if s.heavy]
    light = [s for s in steps if not s.heavy]
    runner = executor if executor is not None else LocalExecutor(jobs)
    if heavy:
        for step, result in zip(heavy, runner.map(_call, [s.make for s in heavy]), strict=True):
            results[step.id] = result
            if done:
                done()
    failures: list[tuple[str, str]] = []
    for step in light:
        try:
            results[step.id] = step.make()
        except Exception as exc:  # one broken page must not hide the others' problems
            failures.append((step.id, f"{type(exc).__name__}: {exc}"))
        if done:
            done()
    if failures:
        raise StepsFailed(failures)
    for step in steps:
        extra = set(results[step.id].files) - set(step.outputs)
        if extra:
            raise PlanError(f"step {step.id} wrote undeclared outputs: {sorted(extra)}")
    return results
