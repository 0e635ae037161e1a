#!/usr/bin/env python3
"""Time `catalogue build` on a content tree and weigh its study pages.

Runs, in one invocation so that a noisy machine affects all of them alike:
  1. reference: the Pagefind binary alone over the finished site (the floor of any build),
  2. a clean build (--clean),
  3. a no-op rebuild (nothing changed).
Each is repeated --repeat times; the median is reported.

Usage: python scripts/bench_build.py [--content content] [--repeat 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from catalogue.pipeline.builder import BuildOptions, run_build


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--content", type=Path, default=Path("content"))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--today", default="2026-11-25")
    args = parser.parse_args()
    today = dt.date.fromisoformat(args.today)
    work = Path(tempfile.mkdtemp(prefix="bench-build-"))
    out = work / "build"

    def build(clean: bool) -> None:
        opts = BuildOptions(content=args.content, out=out, today=today, clean=clean)
        assert run_build(opts, echo=lambda m: None)

    def pagefind_executable() -> str:
        import pagefind_bin  # pip install 'catalogue[bench]'

        return str(pagefind_bin.get_executable())

    def pagefind_only() -> None:
        site = work / "pf"
        if site.exists():
            shutil.rmtree(site)
        shutil.copytree(out, site, ignore=shutil.ignore_patterns("pagefind"))
        cmd = [str(pagefind_executable()), "--site", str(site), "--glob", "studies/*/index.html"]
        subprocess.run(cmd, check=True, capture_output=True)

    build(True)
    rows = {"pagefind alone (reference)": [], "clean build": [], "no-op rebuild": []}
    for _ in range(args.repeat):
        rows["pagefind alone (reference)"].append(timed(pagefind_only))
        rows["clean build"].append(timed(lambda: build(True)))
        rows["no-op rebuild"].append(timed(lambda: build(False)))
    studies = sorted(out.glob("studies/*/index.html"))
    print(f"content: {args.content} ({len(studies)} public study pages), median of {args.repeat}")
    for name, values in rows.items():
        print(f"  {name:28s} {statistics.median(values):6.3f} s")
    css = (out / "static" / "style.css").read_bytes()
    weights = []
    for page in studies:
        html = page.read_bytes()
        images = re.findall(rb'<img src="/(thumbnails/[0-9a-f]+\.webp)"', html)
        img_bytes = sum((out / i.decode()).stat().st_size for i in set(images))
        weights.append((len(html), len(gzip.compress(html)), img_bytes, page.parent.name))
    html_sizes = [w[0] for w in weights]
    print(
        f"study page HTML: median {statistics.median(html_sizes) / 1000:.1f} kB, "
        f"max {max(html_sizes) / 1000:.1f} kB ({max(weights)[3]}); "
        f"gzip median {statistics.median(w[1] for w in weights) / 1000:.1f} kB"
    )
    print(
        f"shared CSS {len(css) / 1000:.1f} kB; thumbnails per page median "
        f"{statistics.median(w[2] for w in weights) / 1000:.1f} kB, "
        f"max {max(w[2] for w in weights) / 1000:.1f} kB"
    )
    heaviest = max(weights, key=lambda w: w[0] + w[2] + len(css))
    print(
        f"heaviest study page in total (HTML + CSS + thumbnails): {heaviest[3]} "
        f"{(heaviest[0] + heaviest[2] + len(css)) / 1000:.1f} kB, no JavaScript"
    )
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
