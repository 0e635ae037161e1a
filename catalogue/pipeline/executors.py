"""Where a build's work runs: local processes (default) or a Dask distributed cluster.

Thumbnails, pages and header harvests over a whole archive can outgrow one machine.
Rather than a home-made scheduler, such work goes to Dask distributed through one tiny
interface: ``Executor.map`` for the build's heavy steps (picklable ``make`` partials)
and ``harvest``'s per-file reads, ``Executor.map_shared`` for the page-phase steps, whose
large shared part (the pickled steps and their context) is sent to each worker once
(``catalogue.pipeline.workers``). Workers of a remote cluster need this package
installed, and the content tree, the build's working directory and the folder holding
``--out`` at the same absolute paths (a shared file system): work items carry paths, not
file bytes, and file tables are streamed into the build's work folder beside ``--out``.

Executor specifications (``--executor``):

- ``local`` (default): ``--jobs`` worker processes on this machine;
- ``dask://HOST:PORT``: the scheduler of an existing Dask cluster (``tls://`` and other
  Dask protocols also work when written out, e.g. ``dask+tls://HOST:PORT``);
- ``dask-local``: a ``distributed.LocalCluster`` started for this run (``--jobs``
  single-threaded worker processes), useful to try the Dask path on one machine.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Protocol, TypeVar

CONNECT_TIMEOUT = "10s"  # how long to wait for a scheduler before giving up
T = TypeVar("T")
R = TypeVar("R")
S = TypeVar("S")


class ExecutorError(Exception):
    """A problem with the executor itself (bad spec, unreachable scheduler)."""


class Executor(Protocol):
    name: str
    # True when work leaves this process tree (Dask): the build then ships its page steps
    # there too (catalogue.pipeline.workers), instead of forking local workers.
    distributed: bool

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """``[fn(item) for item in items]``, in order, possibly in parallel elsewhere."""
        ...

    def map_shared(self, fn: Callable[[T, S], R], items: Sequence[T], shared: S) -> Iterator[R]:
        """``fn(item, shared)`` for every item, yielded as each call finishes (any order).

        ``shared`` is what every call needs and is too big to send with each (the build's
        pickled page steps): it goes to each worker once, not once per item.
        """
        ...

    def close(self) -> None: ...


class LocalExecutor:
    """``jobs`` processes of this machine (in this process when one job is enough).

    Items go to workers in chunks so that thousands of small tasks (10 ms thumbnails)
    do not pay one inter-process round trip each.
    """

    def __init__(self, jobs: int):
        self.jobs = max(1, jobs)
        self.name = f"local ({self.jobs} process{'es' if self.jobs > 1 else ''})"
        self.distributed = False

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        if self.jobs == 1 or len(items) < 2:
            return [fn(item) for item in items]
        workers = min(self.jobs, len(items))
        chunksize = max(1, min(16, len(items) // (workers * 4)))
        with ProcessPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(fn, items, chunksize=chunksize))

    def map_shared(self, fn: Callable[[T, S], R], items: Sequence[T], shared: S) -> Iterator[R]:
        # local page steps are forked (catalogue.pipeline.workers), never pickled: in order here
        for item in items:
            yield fn(item, shared)

    def close(self) -> None:
        pass


class DaskExecutor:
    """Tasks on a Dask distributed cluster, one task per item, results in order."""

    def __init__(self, client: Any, name: str, cluster: Any = None):
        self.client = client
        self.cluster = cluster
        self.name = name
        self.distributed = True

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        if not items:
            return []
        # pure=False: two equal items are still two tasks (the build dedupes steps itself).
        futures = self.client.map(fn, list(items), pure=False)
        try:
            return list(self.client.gather(futures))
        finally:
            self.client.cancel(futures)

    def map_shared(self, fn: Callable[[T, S], R], items: Sequence[T], shared: S) -> Iterator[R]:
        if not items:
            return
        # scattered to every worker up front (broadcast): a task then finds it in its own
        # worker's memory, whichever worker runs it. A list, so that a tuple or dict is
        # shipped as one value rather than element by element.
        [handle] = self.client.scatter([shared], broadcast=True, hash=False)
        futures = self.client.map(fn, list(items), shared=handle, pure=False)
        try:
            for future in _distributed().as_completed(futures):
                yield future.result()
        finally:
            self.client.cancel([*futures, handle])

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


class LazyExecutor:
    """Opens the executor for ``spec`` on the first non-empty ``map`` only.

    A rebuild with nothing to render then neither starts a local cluster nor connects
    to a scheduler, so ``--executor`` costs nothing when the images are unchanged.
    Use as a context manager; it closes what it opened.
    """

    def __init__(self, spec: str | None, jobs: int):
        self.spec = spec
        self.jobs = jobs
        self._opened: Executor | None = None
        self.name = spec or "local"
        self.distributed = (spec or "local").strip() != "local"

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        if not items:
            return []
        if self._opened is None:
            self._opened = open_executor(self.spec, self.jobs)
            self.name = self._opened.name
        return self._opened.map(fn, items)

    def map_shared(self, fn: Callable[[T, S], R], items: Sequence[T], shared: S) -> Iterator[R]:
        if not items:
            return iter(())
        if self._opened is None:
            self._opened = open_executor(self.spec, self.jobs)
            self.name = self._opened.name
        return self._opened.map_shared(fn, items, shared)

    def close(self) -> None:
        if self._opened is not None:
            self._opened.close()
            self._opened = None

    def __enter__(self) -> LazyExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_executor(spec: str | None, jobs: int) -> Executor:
    """An executor for ``spec`` (see the module docstring); the caller closes it."""
    spec = (spec or "local").strip()
    if spec == "local":
        return LocalExecutor(jobs)
    if spec == "dask-local":
        distributed = _distributed()
        cluster = distributed.LocalCluster(
            n_workers=max(1, jobs),
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        return DaskExecutor(
            distributed.Client(cluster), f"dask-local ({max(1, jobs)} workers)", cluster
        )
    address = scheduler_address(spec)
    distributed = _distributed()
    try:
        client = distributed.Client(address, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError) as exc:
        raise ExecutorError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    return DaskExecutor(client, f"dask ({address})")


def scheduler_address(spec: str) -> str:
    """``dask://host:port`` → ``tcp://host:port``; ``dask+tls://…`` → ``tls://…``."""
    if spec.startswith("dask://"):
        rest, protocol = spec[len("dask://") :], "tcp"
    elif spec.startswith("dask+") and "://" in spec:
        protocol, rest = spec[len("dask+") :].split("://", 1)
    else:
        raise ExecutorError(f"unknown executor {spec!r}: use local, dask-local or dask://HOST:PORT")
    host, _, port = rest.rstrip("/").rpartition(":")
    if not host or not port.isdigit():
        raise ExecutorError(f"executor {spec!r} needs a host and a port, e.g. dask://host:8786")
    return f"{protocol}://{host}:{port}"


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise ExecutorError(
            "the Dask executor needs Dask distributed: pip install 'catalogue[dask]'"
        ) from None
    return distributed
