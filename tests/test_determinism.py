"""Byte-identical output whatever the number of jobs, the output folder, the time zone
and the locale of the machine (through the command line, as a nightly build runs it).

The tree is the lifecycle one as a git repository, so version histories (commit times),
redirects, a tombstone, thumbnails, file tables and the search index are all in it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .conftest import tree_digest
from .test_lifecycle import make_repo

# the two time zones are 24 to 25 hours apart: a date taken from the local clock anywhere
# would differ between them
RUNS = [
    {"jobs": "1", "TZ": "Pacific/Kiritimati", "LC_ALL": "C.UTF-8"},  # UTC+14
    {"jobs": "3", "TZ": "America/Adak", "LC_ALL": "C"},  # UTC-10 / -9
]


def build(content: Path, out: Path, jobs: str, **env: str) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "catalogue",
            "build",
            "--content",
            str(content),
            "--out",
            str(out),
            "--today",
            "2026-11-25",
            "--jobs",
            jobs,
            "--clean",
        ],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def differing(a: dict[str, str], b: dict[str, str]) -> list[str]:
    return sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))


def test_builds_are_identical_across_jobs_folders_and_time_zones(tmp_path: Path):
    content, _ = make_repo(tmp_path / "git")
    digests = []
    for i, run in enumerate(RUNS):
        out = tmp_path / f"out-{i}" / ("deep/" * i) / "build"
        build(content, out, run["jobs"], TZ=run["TZ"], LC_ALL=run["LC_ALL"])
        digests.append(tree_digest(out))
    assert len(digests[0]) > 30
    for other in digests[1:]:
        assert differing(digests[0], other) == []
