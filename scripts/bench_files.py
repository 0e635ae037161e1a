#!/usr/bin/env python3
"""Build cost of a huge dataset: time and peak memory of `catalogue build` on a synthetic
tree whose largest study has --big-study-files rows (default 1,300,000, like the largest
real study), against a reference run in the same invocation: one plain pass that reads the
manifest and writes a copy of it (the I/O floor of any streaming build). The clean build
checks the manifests too: the manifest summary cache is a fresh folder of the run's own.

Usage: python scripts/bench_files.py [--big-study-files 1300000] [--studies 20]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of a child process (its largest process: the
    build's workers are its children)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, max(peak, before) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big-study-files", type=int, default=1_300_000)
    parser.add_argument("--studies", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-files-"))
    content, out = work / "content", work / "build"
    subprocess.run(
        [
            sys.executable,
            str(HERE / "synth.py"),
            "--studies",
            str(args.studies),
            "--files-per-study",
            "50",
            "--big-study-files",
            str(args.big_study_files),
            "--seed",
            "1",
            "--out",
            str(content),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    manifest = next((content / "studies").glob(f"S-BIAD{args.studies + 1}/*.files.tsv"))
    copy = work / "copy.tsv"
    ref_code = (
        "import sys\n"
        "with open(sys.argv[1], 'rb') as src, open(sys.argv[2], 'wb') as dst:\n"
        "    for line in src: dst.write(line)\n"
    )
    ref_t, ref_mem = run([sys.executable, "-c", ref_code, str(manifest), str(copy)])
    cmd = [
        "catalogue",
        "build",
        "--content",
        str(content),
        "--out",
        str(out),
        "--today",
        "2030-01-01",
        "--jobs",
        "2",
    ]
    env = {**os.environ, "CATALOGUE_CACHE_DIR": str(work / "cache")}
    build_t, build_mem = run(cmd, env)
    noop_t, _ = run(cmd, env)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    files = sum(1 for p in out.rglob("*") if p.is_file())
    print(
        f"largest dataset: {args.big_study_files:,} rows "
        f"({manifest.stat().st_size / 1e6:.0f} MB manifest), {args.studies} other studies"
    )
    print(f"  reference: read + copy the manifest  {ref_t:6.1f} s")
    print(f"  catalogue build (clean)             {build_t:6.1f} s, peak RSS {build_mem:.0f} MiB")
    print(f"  catalogue build (nothing changed)   {noop_t:6.1f} s")
    print(f"  output: {files:,} files, {size / 1e6:.0f} MB")
    if args.keep:
        print(f"  kept in {work}")
    else:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
