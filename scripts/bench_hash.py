#!/usr/bin/env python3
"""Benchmark: `catalogue add-files` hashing against `sha256sum` over the same files.

Writes three synthetic folders (few large files, many medium files, many small files),
then for each, alternately, runs the reference (`sha256sum` over every file, one process,
as a depositor would run it) and `catalogue add-files --no-headers --quiet` from a cold
resume state (every file read and hashed; the manifest written), ``--repeat`` times, and
prints the best time of each with the ratio: ``hashing`` is ``add_files()`` timed inside
the process (what grows with the folder), ``command`` the whole command as a depositor
runs it (plus the interpreter's start and imports, about a second). Files are read
from the page cache in both (each folder is read once before timing), so the figures
compare hashing and per-file overhead, not the disk. Also times a second add-files run
(nothing changed: the resume path) and ``check-data --checksums``.

    python scripts/bench_hash.py                   # the figures in docs/performance.md
    python scripts/bench_hash.py --scale 0.2       # a quick look
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SITE = """format: 1
title: Bench
base_url: http://localhost:8000
data_url: https://data.example.org/pub
licenses: [CC0-1.0]
collections: {direct: {title: Direct}}
"""
STUDY = """format: 1
accession: S-BIAD1
title: Bench
release_date: 2024-01-01
license: CC0-1.0
description: Bench.
authors: [{name: A}]
"""


def make_folder(folder: Path, files: int, size: int) -> None:
    block = os.urandom(min(size, 1 << 20))
    per_dir = 1000
    for i in range(files):
        sub = folder / f"plate{i // per_dir:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        with (sub / f"f{i:07d}.dat").open("wb") as fh:
            left = size
            fh.write(i.to_bytes(8, "little"))  # every file distinct
            left -= 8
            while left > 0:
                fh.write(block[:left])
                left -= len(block[:left])


def all_files(folder: Path) -> list[str]:
    return sorted(str(p) for p in folder.rglob("*") if p.is_file())


def reference(files: list[str]) -> float:
    """sha256sum over the files (batched like xargs, one process at a time)."""
    started = time.perf_counter()
    for i in range(0, len(files), 2000):
        subprocess.run(["sha256sum", *files[i : i + 2000]], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


INPROCESS = """
import sys, time
from pathlib import Path
from catalogue.deposit.addfiles import AddOptions, add_files
options = AddOptions(Path(sys.argv[1]), "S-BIAD1", "data", Path(sys.argv[2]), headers=False,
                     jobs=int(sys.argv[3]))
started = time.perf_counter()
add_files(options)
print(time.perf_counter() - started)
"""


def in_process(content: Path, folder: Path, jobs: int, env: dict[str, str]) -> float:
    """add_files() alone, timed inside the process: what grows with the folder (the
    interpreter and imports cost the same for ten files as for a million)."""
    out = subprocess.run(
        [sys.executable, "-c", INPROCESS, str(content), str(folder), str(jobs)],
        check=True,
        env=env,
        capture_output=True,
        text=True,
    )
    return float(out.stdout.split()[-1])


def catalogue(*args: str, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "catalogue", *args],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the file counts")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    cases = [
        ("few large files", max(1, int(4 * args.scale)), 64 << 20),
        ("many medium files", max(1, int(1000 * args.scale)), 256 << 10),
        ("many small files", max(1, int(10_000 * args.scale)), 4 << 10),
    ]
    print(f"cores: {os.cpu_count()}, --jobs {args.jobs}, best of {args.repeat}")
    print(
        f"{'case':<18} {'files':>7} {'bytes':>8} {'sha256sum':>10} {'hashing':>9} {'ratio':>6} "
        f"{'command':>9} {'ratio':>6} {'re-run':>8} {'check-data':>10}"
    )
    with tempfile.TemporaryDirectory(prefix="bench-hash-") as tmp:
        work = Path(tmp)
        for label, count, size in cases:
            folder = work / label.replace(" ", "-")
            make_folder(folder, count, size)
            files = all_files(folder)
            content = work / "content"
            shutil.rmtree(content, ignore_errors=True)
            (content / "studies/S-BIAD1").mkdir(parents=True)
            (content / "site.yaml").write_text(SITE, encoding="utf-8")
            study = content / "studies/S-BIAD1/study.yaml"
            env = {**os.environ, "PYTHONPATH": str(ROOT)}
            reference(files)  # warm the page cache
            ref_times, ours, engine, reruns = [], [], [], []
            cmd = ["add-files", "S-BIAD1", "data", str(folder), "--content", str(content)]
            cmd += ["--no-headers", "--quiet", "-j", str(args.jobs)]

            def fresh(env: dict[str, str] = env, study: Path = study) -> None:
                shutil.rmtree(work / "state", ignore_errors=True)
                env["CATALOGUE_CACHE_DIR"] = str(work / "state")
                study.write_text(STUDY, encoding="utf-8")
                (study.parent / "data.files.tsv").unlink(missing_ok=True)

            for _ in range(args.repeat):
                ref_times.append(reference(files))
                fresh()
                engine.append(in_process(content, folder, args.jobs, env))
                fresh()
                ours.append(catalogue(*cmd, env=env))
                reruns.append(catalogue(*cmd, env=env))
            shutil.move(str(folder), str(content / "data" / "S-BIAD1"))
            check = catalogue(
                "check-data",
                "S-BIAD1",
                "--checksums",
                "--quiet",
                "--content",
                str(content),
                "-j",
                str(args.jobs),
                env=env,
            )
            shutil.rmtree(content / "data")
            best_ref, best, core = min(ref_times), min(ours), min(engine)
            print(
                f"{label:<18} {count:>7,} {count * size / 1e6:>6.0f}MB {best_ref:>9.2f}s "
                f"{core:>8.2f}s {core / best_ref:>5.2f}x {best:>8.2f}s {best / best_ref:>5.2f}x "
                f"{min(reruns):>7.2f}s {check:>9.2f}s",
                flush=True,
            )


if __name__ == "__main__":
    main()
