#!/usr/bin/env python3
"""Cost of the bulk tables (/api/v1/files.parquet and friends) on a huge study: time and
peak memory of the bulk steps alone, against a reference run in the same invocation:
one plain pass that reads the manifests and writes their rows to a file (the I/O floor
of any streaming writer).

Usage: python scripts/bench_bulk.py [--big-study-files 1300000] [--studies 20]
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TODAY = dt.date(2026, 11, 25)


def child(kind: str, content: Path, out: Path) -> None:
    """Runs in a child process, so its peak RSS is its own."""
    from catalogue.readers.manifest import iter_cells
    from catalogue.readers.tree import load
    from catalogue.render import make_environment, templates_digest
    from catalogue.steps.bulk import bulk_steps
    from catalogue.steps.context import RenderContext

    catalogue, problems = load(content, TODAY)
    assert catalogue is not None, problems
    out.mkdir(parents=True, exist_ok=True)
    if kind == "reference":
        with (out / "rows.tsv").open("wb") as fh:
            for e in catalogue.public():
                for ds in e.study.datasets:
                    if ds.files:
                        for _, cells in iter_cells(content / e.folder / ds.files):
                            fh.write(("\t".join(cells) + "\n").encode())
        return
    ctx = RenderContext(
        catalogue=catalogue,
        site=catalogue.site,
        env=make_environment(),
        templates_digest=templates_digest(),
    )

    def opener(rel: str):  # type: ignore[no-untyped-def]
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        return (out / rel).open("wb")

    for step in bulk_steps(ctx, content):
        result = step.make(opener) if step.streams else step.make()
        for rel, data in result.files.items():
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            (out / rel).write_bytes(data)


def run(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of a child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd)
    _, status, usage = __import__("os").wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"{cmd} failed")
    return time.perf_counter() - start, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big-study-files", type=int, default=1_300_000)
    parser.add_argument("--studies", type=int, default=20)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, content, out = args.child
        child(kind, Path(content), Path(out))
        return
    work = Path(tempfile.mkdtemp(prefix="bench-bulk-"))
    try:
        content = work / "content"
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
        me = [sys.executable, __file__, "--child"]
        ref_t, ref_mem = run([*me, "reference", str(content), str(work / "ref")])
        bulk_t, bulk_mem = run([*me, "bulk", str(content), str(work / "bulk")])
        sizes = {
            p.relative_to(work / "bulk").as_posix(): p.stat().st_size
            for p in (work / "bulk").rglob("*")
            if p.is_file()
        }
        rows = args.studies * 50 + args.big_study_files
        print(
            f"bulk tables of {rows:,} files ({args.studies} studies + one of "
            f"{args.big_study_files:,} files)"
        )
        print(
            f"  reference: read manifests, write rows  {ref_t:6.1f} s, peak RSS {ref_mem:.0f} MiB"
        )
        print(
            f"  bulk steps (parquet + partitions/csv) {bulk_t:6.1f} s, peak RSS {bulk_mem:.0f} MiB"
        )
        small = [rel for rel, size in sizes.items() if size < 2**20]
        for rel, size in sorted(sizes.items()):
            if size >= 2**20:
                print(f"    {rel:40} {size / 2**20:8.1f} MiB")
        print(f"    and {len(small)} files under 1 MiB")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
