#!/usr/bin/env python3
"""Fuzz the readers and importers for a while: the targets of tests/fuzzing.py (study.yaml,
site.yaml, manifests, the ledger, PageTab, EMPIAR, IDR), each in rounds with fresh random
seeds until the time is up. Prints the inputs tried per target and every failing input
(minimised by Hypothesis); exits 1 if there was one.

    PYTHONPATH=. python3 scripts/fuzz.py --minutes 5
    PYTHONPATH=. python3 scripts/fuzz.py --minutes 1 --target PageTab
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, given, seed, settings  # noqa: E402

from tests.fuzzing import TARGETS  # noqa: E402


def _counting(check: Callable[[Any], None], tried: list[int]) -> Callable[[Any], None]:
    def counted(data: Any) -> None:
        tried[0] += 1
        check(data)

    return counted


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=1.0, help="time for all targets")
    parser.add_argument("--target", action="append", help="only these targets (repeatable)")
    parser.add_argument("--round", type=int, default=50, help="examples per round")
    args = parser.parse_args()
    targets = [t for t in TARGETS if not args.target or t[0] in args.target]
    if not targets:
        parser.error(f"no such target; known: {', '.join(t[0] for t in TARGETS)}")
    budget = args.minutes * 60 / len(targets)
    failures = 0
    total = 0
    for name, strategy, check in targets:
        tried = [0]
        found: list[str] = []
        counted = _counting(check, tried)
        end = time.monotonic() + budget
        while time.monotonic() < end and len(found) < 3:
            run = settings(
                max_examples=args.round,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )(given(strategy)(counted))
            try:
                seed(random.getrandbits(64))(run)()
            except Exception:  # a falsifying example: keep it and go on with another seed
                found.append(traceback.format_exc(limit=-4))
        total += tried[0]
        failures += len(found)
        print(f"{name}: {tried[0]} inputs tried, {len(found)} failing", flush=True)
        for text in found:
            print(text, file=sys.stderr)
    print(f"fuzz: {total} inputs tried in {args.minutes:g} min, {failures} failing")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
