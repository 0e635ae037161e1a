#!/usr/bin/env python3
"""Benchmark: `catalogue convert` (lazy Dask source, local threads or a Dask cluster)
against the naive conversion (read the whole TIFF into memory, hand the array to
ome-zarr), on the same synthetic tiled TIFF, in the same invocation.

Each variant runs in its own process, which prints its wall time and peak resident
memory (its own and, for ``dask-local``, the largest worker's); ``--repeat`` runs each
in turn and the best time is kept. The outputs of the catalogue variants are compared
byte for byte with each other (same pyramid, same chunks).

    python scripts/bench_convert.py               # the figures in docs/performance.md
    python scripts/bench_convert.py --size 1024   # a quick look
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import tifffile

ROOT = Path(__file__).resolve().parent.parent

WRAP = """
import atexit, resource, sys, time
start = time.perf_counter()
def report():
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    sys.stderr.write(f"\\nBENCH {time.perf_counter() - start:.3f} {own} {kids}\\n")
atexit.register(report)
"""

CATALOGUE = (
    WRAP
    + """
sys.argv = ["catalogue", "convert", *sys.argv[1:]]
from catalogue.cli import main
main()
"""
)

# The naive way: everything in memory, ome-zarr's own pyramid from a numpy array.
NAIVE = (
    WRAP
    + """
import tifffile, zarr
from ome_zarr.format import FormatV05
from ome_zarr.writer import write_image
source, out, levels, tile = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
data = tifffile.imread(source)[None, :, None]  # (t, c, z, y, x)
group = zarr.open_group(out, mode="w", zarr_format=3)
write_image(data, group, scale_factors=tuple(2**i for i in range(1, levels + 1)),
            axes="tczyx", fmt=FormatV05(), storage_options={"chunks": (1, 1, 1, tile, tile)})
"""
)


def run(code: str, args: list[str]) -> tuple[float, int, int]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, check=False
    )
    lines = [line for line in done.stderr.splitlines() if line.startswith("BENCH ")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"failed: {args}\n{done.stderr[-2000:]}")
    _, seconds, own, kids = lines[-1].split()
    return float(seconds), int(own) // 1024, int(kids) // 1024


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=4096, help="X and Y of the image")
    parser.add_argument("--channels", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-convert-"))
    try:
        source = work / "image.tif"
        rng = np.random.default_rng(1)
        plane = rng.integers(0, 4096, (args.size, args.size), dtype=np.uint16)
        with tifffile.TiffWriter(source, bigtiff=True) as tif:
            for _ in range(args.channels):
                tif.write(plane, tile=(512, 512), photometric="minisblack", metadata=None)
        mib = source.stat().st_size / 2**20
        levels = max(0, int(np.ceil(np.log2(args.size / 256))))
        print(
            f"source: {args.channels} × {args.size} × {args.size} uint16, tiled 512², "
            f"{mib:,.0f} MiB uncompressed; {levels + 1} levels, chunks 256²; "
            f"best of {args.repeat}, jobs {args.jobs}"
        )
        variants = {
            "naive (whole image in memory, ome-zarr)": (
                NAIVE,
                lambda out: [str(source), str(out), str(levels), "256"],
            ),
            "catalogue convert, local threads": (
                CATALOGUE,
                lambda out: [str(source), "-o", str(out), "--jobs", str(args.jobs)],
            ),
            "catalogue convert --executor dask-local": (
                CATALOGUE,
                lambda out: [
                    str(source),
                    "-o",
                    str(out),
                    "--jobs",
                    str(args.jobs),
                    "--executor",
                    "dask-local",
                ],
            ),
        }
        best: dict[str, tuple[float, int, int]] = {}
        for round_ in range(args.repeat):
            for index, (name, (code, argv)) in enumerate(variants.items()):
                out = work / f"out{index}.ome.zarr"
                shutil.rmtree(out, ignore_errors=True)
                result = run(code, argv(out))
                if round_ == 0 or result[0] < best[name][0]:
                    best[name] = result
        same = tree(work / "out1.ome.zarr") == tree(work / "out2.ome.zarr")
        print(f"{'variant':45} {'seconds':>8} {'peak MiB':>9} {'workers MiB':>12}")
        for name, (seconds, own, kids) in best.items():
            print(f"{name:45} {seconds:8.1f} {own:9,} {kids:12,}")
        print(f"threads and dask-local outputs byte-identical: {same}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
