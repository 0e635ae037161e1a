#!/usr/bin/env python3
"""Thumbnails per second on 2048 × 2048 16-bit TIFFs, against a naive baseline, and the
cost of a no-op rebuild of many unchanged images.

Measured in one run, so that a noisy machine affects every row alike:

1. the real renderer (``imaging.site_thumbnail``, exactly what the build calls) and a
   naive baseline (``tifffile.imread`` of the full image → float64 → min/max stretch →
   Pillow Lanczos resize → WebP) over the same N generated images, each with --jobs 1
   and 2 (local worker processes, chunked as the build does; pool start-up included);
2. a no-op rebuild of --images unchanged images: the build's thumbnail phase
   (``thumbnail_steps`` planning from the state cache + reuse of the previous files)
   timed alone, and a whole no-op ``catalogue build`` of that tree for context.

The images are deterministic (a fixed seed): blurred blobs ("cells") on a background
with Gaussian noise, shifted per image, in uncompressed strips as most acquisition
software writes them. Usage:

    python scripts/bench_thumbnails.py [--count 200] [--images 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import tifffile
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from catalogue.imaging.thumbnail import site_thumbnail  # noqa: E402
from catalogue.pipeline.builder import BuildOptions, Tally, _execute, run_build  # noqa: E402
from catalogue.pipeline.executors import LocalExecutor  # noqa: E402
from catalogue.pipeline.output import SiteWriter  # noqa: E402
from catalogue.pipeline.plan import plan  # noqa: E402
from catalogue.pipeline.state import BuildState, load_state  # noqa: E402
from catalogue.readers.tree import load  # noqa: E402
from catalogue.steps.thumbnails import SETTINGS, thumbnail_steps  # noqa: E402

SIDE = 2048
TODAY = dt.date(2026, 11, 25)


# --- images --------------------------------------------------------------------------


def base_image(seed: int = 5) -> np.ndarray:
    """One 2048² uint16 field of 400 Gaussian blobs on a dim background, with noise."""
    rng = np.random.default_rng(seed)
    field = np.full((SIDE, SIDE), 180.0)
    y, x = np.mgrid[-24:25, -24:25]
    for cy, cx, radius, peak in zip(
        rng.integers(24, SIDE - 25, 400),
        rng.integers(24, SIDE - 25, 400),
        rng.uniform(4, 12, 400),
        rng.uniform(400, 3000, 400),
        strict=True,
    ):
        field[cy - 24 : cy + 25, cx - 24 : cx + 25] += peak * np.exp(
            -(x**2 + y**2) / (2 * radius**2)
        )
    field += rng.normal(0, 25, field.shape)
    return np.clip(field, 0, 65535).astype(np.uint16)


def write_images(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    base = base_image()
    paths = []
    for index in range(count):
        path = folder / f"field{index:04d}.tif"
        shifted = np.roll(base, (index * 37, index * 91), axis=(0, 1)) + np.uint16(index)
        tifffile.imwrite(path, shifted, photometric="minisblack")
        paths.append(path)
    return paths


# --- renderers (module level: they run in worker processes) ---------------------------


def real(path: Path) -> int:
    return len(site_thumbnail(path, SETTINGS).webp)


def naive(path: Path) -> int:
    data = tifffile.imread(path).astype(np.float64)
    lo, hi = data.min(), data.max()
    grey = ((data - lo) / max(hi - lo, 1e-9) * 255.0).astype(np.uint8)
    image = Image.fromarray(grey).resize((256, 256), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="WEBP", quality=80)
    return len(buffer.getvalue())


def rate(fn: Callable[[Path], int], paths: list[Path], jobs: int, repeat: int) -> float:
    """Median images per second over ``repeat`` runs (pool start-up included)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        sizes = LocalExecutor(jobs).map(fn, paths)
        times.append(time.perf_counter() - start)
        assert all(sizes)
    return len(paths) / statistics.median(times)


# --- no-op rebuild -------------------------------------------------------------------


def write_tree(content: Path, images: int, per_study: int = 100) -> None:
    """A content tree of images / per_study studies, one dataset per distinct image."""
    studies = -(-images // per_study)
    content.mkdir(parents=True)
    (content / "site.yaml").write_text(
        "format: 1\ntitle: Thumbnail benchmark\nbase_url: http://localhost:8000\n"
        "data_url: https://data.example.org/pub\nlicenses: [CC0-1.0]\n"
        "collections:\n  direct: {title: Direct}\n"
    )
    ledger = ["accession\tcreated\tnote"]
    rng = np.random.default_rng(11)
    for number in range(1, studies + 1):
        acc = f"S-BIAD{number}"
        ledger.append(f"{acc}\t2024-01-01\t")
        folder = content / "studies" / acc
        folder.mkdir(parents=True)
        data = content / "data" / acc
        data.mkdir(parents=True)
        datasets = []
        for index in range(per_study):
            if (number - 1) * per_study + index >= images:
                break
            name = f"img{index:03d}.tif"
            tifffile.imwrite(data / name, rng.integers(0, 4000, (128, 128), dtype=np.uint16))
            datasets.append(
                f"  - {{id: d{index:03d}, title: Images {index}, representative: {name}}}"
            )
        (folder / "study.yaml").write_text(
            f"format: 1\naccession: {acc}\ntitle: Benchmark study {number}\n"
            "release_date: 2024-02-01\nlicense: CC0-1.0\ndescription: Generated.\n"
            "authors:\n  - {name: Ada Example}\ndatasets:\n" + "\n".join(datasets) + "\n"
        )
    (content / "accessions.tsv").write_text("\n".join(ledger) + "\n")


def noop_thumbnail_phase(content: Path, out: Path) -> tuple[float, int]:
    """The build's phase 1 against an unchanged tree: plan from the cache, reuse files."""
    catalogue, problems = load(content, TODAY)
    assert catalogue is not None, problems
    old, reason = load_state(out)
    assert reason is None, reason
    new = BuildState(sources=dict(old.sources))
    tally = Tally()
    with SiteWriter(out) as staging:  # not committed: nothing is renamed in
        start = time.perf_counter()
        steps, _ = thumbnail_steps(catalogue, content, new.sources)
        _execute(plan(steps), staging, old, new, 1, tally, lambda m: None)
        elapsed = time.perf_counter() - start
    assert tally.run == 0 and tally.reused == len(steps), (tally, len(steps))
    return elapsed, len(steps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200, help="2048² images to render")
    parser.add_argument("--images", type=int, default=1000, help="images in the no-op tree")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, default=None, help="work folder to keep")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-thumbnails-"))
    try:
        start = time.perf_counter()
        paths = write_images(work / "tiffs", args.count)
        print(
            f"{args.count} images of {SIDE}×{SIDE} uint16 written in "
            f"{time.perf_counter() - start:.1f} s ({os.cpu_count()} CPUs)"
        )
        rows = []
        for jobs in (1, 2):
            fast = rate(real, paths, jobs, args.repeat)
            slow = rate(naive, paths, jobs, args.repeat)
            rows.append((jobs, fast, slow))
        print("\n| jobs | catalogue renderer | naive baseline | speed-up |\n|---|---|---|---|")
        for jobs, fast, slow in rows:
            print(f"| {jobs} | {fast:.0f} images/s | {slow:.0f} images/s | {fast / slow:.1f}× |")

        content, out = work / "content", work / "build"
        write_tree(content, args.images)
        options = BuildOptions(content=content, out=out, today=TODAY, jobs=2)
        start = time.perf_counter()
        assert run_build(options, echo=lambda m: None)
        clean = time.perf_counter() - start
        phase = []
        for _ in range(args.repeat):
            elapsed, steps = noop_thumbnail_phase(content, out)
            phase.append(elapsed)
        whole = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            assert run_build(options, echo=lambda m: None)
            whole.append(time.perf_counter() - start)
        print(
            f"\nno-op rebuild, {steps} unchanged images "
            f"({args.images // 100 or 1} studies; first build {clean:.1f} s):\n"
            f"| thumbnail phase (plan from cache + reuse) | {statistics.median(phase):.3f} s |\n"
            f"| whole no-op `catalogue build` | {statistics.median(whole):.2f} s |"
        )
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
