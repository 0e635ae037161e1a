"""Property-based fuzzing of the readers and importers (tests/fuzzing.py) on a bounded
budget: a few seconds per target in CI, derandomised so that a failure reproduces.
`scripts/fuzz.py --minutes N` runs the same targets for longer, with fresh seeds."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings

from .fuzzing import TARGETS

EXAMPLES = int(os.environ.get("CATALOGUE_FUZZ_EXAMPLES", "40"))


@pytest.mark.parametrize(("name", "strategy", "check"), TARGETS, ids=[t[0] for t in TARGETS])
def test_hostile_input_gets_problems_not_tracebacks(name, strategy, check):
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def run(data):
        check(data)

    run()
