#!/usr/bin/env python3
"""Time the deposition commands on a folder of 10,000 files (the table in docs/deposit.md).

The folder mixes real images and other files as a deposit does: ``--images`` copies of
the 16-bit TIFF in tests/data/images (headers read: dimensions, pixel size) and the rest
small binary files, in plate/well folders. Times, each as a depositor runs it (a fresh
interpreter): ``add-files`` from a cold resume state with a path pattern, the same
command again (nothing changed), ``check-data`` (sizes) and ``check-data --checksums``,
and ``sha256sum`` over the same files as the reference, in the same run.

    python scripts/bench_deposit.py                 # 10,000 files
    python scripts/bench_deposit.py --files 2000    # a quick look
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
IMAGE = ROOT / "tests/data/images/worm_fitc_16bit.tif"
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


def timed(cmd: list[str], env: dict[str, str], ok: tuple[int, ...] = (0,)) -> float:
    started = time.perf_counter()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if proc.returncode not in ok:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr.decode()}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--images", type=int, default=500, help="how many are TIFF images")
    parser.add_argument("--size", type=int, default=32 << 10, help="bytes of the other files")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-deposit-") as tmp:
        work = Path(tmp)
        content = work / "content"
        (content / "studies/S-BIAD1").mkdir(parents=True)
        (content / "site.yaml").write_text(SITE, encoding="utf-8")
        (content / "studies/S-BIAD1/study.yaml").write_text(STUDY, encoding="utf-8")
        data = content / "data/S-BIAD1"
        image = IMAGE.read_bytes()
        filler = os.urandom(args.size)
        total = 0
        for i in range(args.files):
            plate, well = f"P{i // 1000:02d}", f"{'ABCDEFGH'[i // 100 % 8]}{i // 10 % 10 + 1:02d}"
            folder = data / plate / well
            folder.mkdir(parents=True, exist_ok=True)
            if i < args.images:
                body, name = image, f"f{i % 10}.tif"
            else:
                body, name = i.to_bytes(8, "little") + filler[8:], f"f{i % 10}.dat"
            (folder / name).write_bytes(body)
            total += len(body)
        files = sorted(str(p) for p in data.rglob("*") if p.is_file())
        env = {**os.environ, "PYTHONPATH": str(ROOT), "CATALOGUE_CACHE_DIR": str(work / "c")}
        catalogue = [sys.executable, "-m", "catalogue"]
        for i in range(0, len(files), 2000):  # warm the page cache, as after a copy
            subprocess.run(["cat", *files[i : i + 2000]], stdout=subprocess.DEVNULL, check=True)
        started = time.perf_counter()
        for i in range(0, len(files), 2000):
            subprocess.run(
                ["sha256sum", *files[i : i + 2000]], stdout=subprocess.DEVNULL, check=True
            )
        reference = time.perf_counter() - started
        add = [*catalogue, "add-files", "S-BIAD1", "plates", str(data), "--quiet"]
        add += ["--content", str(content), "-j", str(args.jobs)]
        add += ["--pattern", "{plate}/{well}/{field}.*"]
        rows = [
            ("add-files (cold: hash + headers)", timed(add, env)),
            ("add-files again (nothing changed)", timed(add, env)),
        ]
        check = [*catalogue, "check-data", "S-BIAD1", "--quiet", "--content", str(content)]
        check += ["-j", str(args.jobs)]
        rows.append(("check-data (sizes)", timed(check, env)))
        rows.append(("check-data --checksums", timed([*check, "--checksums"], env)))
        rows.append(("sha256sum over the same files (reference)", reference))
        print(
            f"{args.files:,} files ({args.images:,} TIFF images), {total / 1e6:,.0f} MB, "
            f"{os.cpu_count()} cores, --jobs {args.jobs}\n"
        )
        print("| step | seconds |\n|---|---|")
        for label, seconds in rows:
            print(f"| {label} | {seconds:.1f} |")
        manifest = content / "studies/S-BIAD1/plates.files.tsv"
        header = manifest.read_text(encoding="utf-8").split("\n", 1)[0]
        print(f"\nmanifest columns: {header.replace(chr(9), ', ')}")
        shutil.rmtree(work / "c", ignore_errors=True)


if __name__ == "__main__":
    main()
