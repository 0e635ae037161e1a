"""`catalogue build` killed (SIGKILL, whole process group) at random moments leaves the
previous or the new complete site, and the next build recovers: scripts/kill_loop.py
with three kills on a small tree (the script runs 25 on the demo)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from .conftest import ROOTS

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "kill_loop.py"


def load_script():  # noqa: ANN201
    spec = importlib.util.spec_from_file_location("kill_loop", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


def test_killed_builds_leave_a_whole_site(tmp_path: Path):
    kill_loop = load_script()
    report = kill_loop.kill_loop(ROOTS / "lifecycle" / "content", 3, tmp_path, seed=17)
    assert report.kills == 3
    assert report.broken == []
    assert report.old_site + report.new_site == 3
    assert report.final_ok
