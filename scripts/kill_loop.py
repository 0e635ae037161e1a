#!/usr/bin/env python3
"""Kill `catalogue build` at random moments and check what is left is a whole site.

Two versions of a content tree (A, and B with one study's title changed) are first built
cleanly as references. Then, round after round, the live output folder is rebuilt from
the other version and the build (with its whole process group, process pool included)
gets SIGKILL at a random moment of its run. After each kill the output folder must be
byte for byte the previous site or the new one, never anything in between, and a final
unhurried build must give the reference exactly. Only the command line is used, so the
check holds whatever the build's output design is.

    PYTHONPATH=. python3 scripts/kill_loop.py --kills 25
    PYTHONPATH=. python3 scripts/kill_loop.py --kills 3 --content tests/roots/minimal/content
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TODAY = "2026-11-25"
MARK = " (revised)"


# the build's own cache of what it did (image identities, step digests), never served:
# an incremental build rightly records more in it than a clean one
STATE = ".catalogue-state.json"


def digest(site: Path) -> dict[str, str]:
    """Every file of a site and the sha256 of its bytes (links into it followed)."""
    base = site.resolve()
    out = {}
    for folder, _, files in os.walk(base):
        for name in files:
            if name == STATE and Path(folder) == base:
                continue
            path = Path(folder) / name
            out[path.relative_to(base).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def _differing(a: dict[str, str], b: dict[str, str]) -> list[str]:
    return sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))


def build(content: Path, out: Path, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
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
            TODAY,
            "--jobs",
            "2",
            *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: the kill takes its workers too
        env={**os.environ, "CATALOGUE_CACHE_DIR": ""},
    )


def finish(proc: subprocess.Popen[bytes]) -> None:
    _, err = proc.communicate(timeout=900)
    if proc.returncode != 0:
        raise SystemExit(f"build failed: {err.decode(errors='replace')[-2000:]}")


def variant(content: Path, dest: Path) -> Path:
    """A copy of ``content`` with the first study's title changed."""
    shutil.copytree(content, dest, symlinks=True)
    study = sorted((dest / "studies").glob("*/study.yaml"))[0]
    lines = study.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if line.startswith("title:"):
            lines[i] = line.rstrip() + MARK
            break
    study.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return dest


@dataclass
class Report:
    kills: int = 0
    during: int = 0  # kills that hit a running build (the others came after it ended)
    old_site: int = 0  # after the kill the folder held the previous site
    new_site: int = 0  # ... or the new one (the kill came after the switch)
    broken: list[str] = field(default_factory=list)  # anything else
    leftovers: int = 0  # entries beside the output folder that were not there before
    final_ok: bool = False
    build_seconds: float = 0.0


def kill_loop(content: Path, kills: int, work: Path, seed: int, echo=print) -> Report:  # noqa: ANN001
    rnd = random.Random(seed)
    versions = [work / "A", variant(content, work / "B")]
    shutil.copytree(content, versions[0], symlinks=True)
    refs = []
    report = Report()
    for i, tree in enumerate(versions):
        ref = work / f"ref-{i}" / "build"
        started = time.monotonic()
        finish(build(tree, ref))
        report.build_seconds = max(report.build_seconds, time.monotonic() - started)
        refs.append(digest(ref))
    live = work / "live" / "build"
    finish(build(versions[0], live))
    before = set(os.listdir(live.parent))
    current = 0
    for n in range(kills):
        target = 1 - current
        proc = build(versions[target], live)
        delay = rnd.uniform(0.05, report.build_seconds * 0.9)
        time.sleep(delay)
        ended = proc.poll() is not None
        if not ended:
            os.killpg(proc.pid, signal.SIGKILL)
            report.during += 1
        proc.wait()
        report.kills += 1
        if not live.exists():
            state = None
        else:
            found = digest(live)
            state = next((i for i, ref in enumerate(refs) if found == ref), None)
        if state == current:
            report.old_site += 1
        elif state == target:
            report.new_site += 1
            current = target
        else:
            close = min(refs, key=lambda ref: len(_differing(ref, found)) if live.exists() else 0)
            what = ", ".join(_differing(close, found)[:8]) if live.exists() else "no folder"
            how = "after the build had ended" if ended else "during the build"
            report.broken.append(
                f"kill {n + 1} after {delay:.2f} s ({how}): output is no whole site ({what})"
            )
            break
        echo(
            f"kill {n + 1}/{kills} after {delay:.2f} s: {'new' if state == target else 'old'} site"
        )
    report.leftovers = len(set(os.listdir(live.parent)) - before)
    if not report.broken:
        final = 1 - current
        finish(build(versions[final], live))
        report.final_ok = digest(live) == refs[final]
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=25)
    parser.add_argument("--content", type=Path, default=ROOT / "content")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: random)")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    with tempfile.TemporaryDirectory(prefix="catalogue-kill-") as tmp:
        report = kill_loop(args.content.resolve(), args.kills, Path(tmp), seed)
    print(
        f"kill loop (seed {seed}): {report.kills} SIGKILLs ({report.during} into a running "
        f"build) at random moments of builds of about "
        f"{report.build_seconds:.1f} s; {report.old_site} left the previous site, "
        f"{report.new_site} the new one, {len(report.broken)} a broken one; "
        f"{report.leftovers} entries left beside the output folder; final build "
        f"{'identical to the reference' if report.final_ok else 'DIFFERENT'}"
    )
    for line in report.broken:
        print(line)
    return 0 if not report.broken and report.final_ok else 1


if __name__ == "__main__":
    sys.exit(main())
