#!/usr/bin/env python3
"""Where a build's time goes, stage by stage, without a profiler's distortion.

    PYTHONPATH=. python3 scripts/build_phases.py build --content C --out O --today 2026-11-25

Runs ``catalogue`` with the given arguments, with a timer around each of the builder's
stage functions (loading, reading the state, planning each kind of step, running them),
and prints the seconds of each on stderr when the build ends. A profiler (cProfile)
doubles the cost of Python-heavy stages and hides what the garbage collector costs; these
timers are what the stage took in a normal run (the figures of ``docs/performance.md``).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import Any

STAGES = (
    "load",
    "read_history",
    "load_state",
    "thumbnail_steps",
    "local_images",
    "file_thumbnail_steps",
    "plan_groups",
    "listing_steps",
    "api_steps",
    "sitemap_steps",
    "stats_steps",
    "query_index_steps",
    "croissant_steps",
    "bulk_steps",
    "redirect_steps",
    "urllist_steps",
    "plan",
    "_execute",
    "_what_changed",
)


def main() -> None:
    started = time.perf_counter()
    import catalogue.cli
    from catalogue.pipeline import builder, fingerprint

    imported = time.perf_counter() - started
    seconds: dict[str, float] = {}

    def timed(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            t = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - t

        return run

    for name in STAGES:
        setattr(builder, name, timed(name, getattr(builder, name)))
    fingerprint.unchanged = timed("fingerprint", fingerprint.unchanged)  # type: ignore[method-assign]
    parent = os.getpid()
    real_exit = os._exit

    def report_then_exit(code: int) -> None:
        if os.getpid() == parent:  # not in a forked worker
            print(f"{'imports':22s} {imported:6.2f}", file=sys.stderr)
            for name, s in sorted(seconds.items(), key=lambda kv: -kv[1]):
                print(f"{name:22s} {s:6.2f}", file=sys.stderr)
            print(f"{'total':22s} {time.perf_counter() - started:6.2f}", file=sys.stderr)
        real_exit(code)

    os._exit = report_then_exit  # the build ends with os._exit (catalogue.cli.build)
    sys.argv = ["catalogue", *sys.argv[1:]]
    catalogue.cli.run()


if __name__ == "__main__":
    main()
