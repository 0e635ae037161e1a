#!/usr/bin/env python3
"""Cold builds of one content tree with ``--jobs 1`` (the reference) and ``--jobs N``,
interleaved, in one invocation; checks that both write the same bytes.

    python scripts/measure_parallel.py --studies 1000 [--jobs 2] [--repeat 2] [--keep DIR]
    python scripts/measure_parallel.py --content DIR [--jobs 2]

Prints a table and one JSON line: wall seconds, CPU seconds (user + system, the build's
worker processes included) and the peak resident memory of the largest process, per
``--jobs``. Each build is a fresh ``catalogue build --clean`` into an empty folder.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TODAY = "2026-12-01"


def tree_digest(root: Path) -> str:
    h = hashlib.sha256()
    for folder, dirs, files in sorted(os.walk(root)):
        dirs.sort()
        for name in sorted(files):
            path = Path(folder) / name
            rel = path.relative_to(root).as_posix()
            if rel == ".catalogue-state.json":
                continue
            h.update(rel.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def build(content: Path, out: Path, jobs: int) -> dict[str, float]:
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-m", "catalogue", "build", "--content", str(content)]
    cmd += ["--out", str(out), "--today", TODAY, "--jobs", str(jobs), "--clean"]
    with tempfile.TemporaryFile() as log:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log)
        # wait4: the CPU time of the build and of every worker it waited for
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            log.seek(0)
            raise SystemExit(f"build --jobs {jobs} failed:\n{log.read().decode()}")
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--studies", type=int, help="synthesise this many studies")
    source.add_argument("--content", type=Path, help="an existing content tree")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="work folder to keep (default: temporary)")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="measure-parallel-"))
    work.mkdir(parents=True, exist_ok=True)
    content = args.content
    if content is None:
        content = work / "content"
        if not content.is_dir():
            subprocess.run(
                [sys.executable, str(HERE / "synth.py"), "--studies", str(args.studies)]
                + ["--out", str(content), "--jobs", str(args.jobs)],
                check=True,
                stdout=subprocess.DEVNULL,
            )
    runs: dict[int, list[dict[str, float]]] = {1: [], args.jobs: []}
    digests: dict[int, str] = {}
    try:
        for _ in range(args.repeat):
            for jobs in runs:  # interleaved: load from elsewhere hits both alike
                out = work / f"out-{jobs}"
                runs[jobs].append(build(content, out, jobs))
                digests[jobs] = tree_digest(out)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    best = {j: min(r, key=lambda x: x["wall_s"]) for j, r in runs.items()}
    print(f"{'--jobs':>6} {'wall s':>8} {'CPU s':>8} {'peak MiB':>9}   (best of {args.repeat})")
    for jobs, r in best.items():
        print(f"{jobs:>6} {r['wall_s']:>8.1f} {r['cpu_s']:>8.1f} {r['peak_rss_mib']:>9.0f}")
    same = len(set(digests.values())) == 1
    speedup = best[1]["wall_s"] / best[args.jobs]["wall_s"]
    print(f"speed-up {speedup:.2f}x; outputs identical: {same}")
    print(
        json.dumps(
            {
                "studies": args.studies,
                "content": str(args.content) if args.content else None,
                "jobs": args.jobs,
                "runs": {str(j): r for j, r in runs.items()},
                "speedup": round(speedup, 2),
                "identical": same,
                "load_average": os.getloadavg()[0],
            }
        )
    )
    if not same:
        raise SystemExit("the outputs differ")


if __name__ == "__main__":
    main()
