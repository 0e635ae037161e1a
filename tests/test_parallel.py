"""Pages, file tables and API records run in forked worker processes (``--jobs``): the
site is byte for byte the one a single process writes, every failure is still reported,
and a worker or a build that dies never leaves a broken site or a stray process."""

from __future__ import annotations

import contextlib
import itertools
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from catalogue.pipeline import workers
from catalogue.pipeline.builder import BuildOptions, run_build
from catalogue.render import TEMPLATES

from .build_failures import broken_study_template, kill_worker_rendering, synthetic_tree
from .conftest import build_site, tree_digest

TODAY_ARG = "2026-12-01"


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthetic_tree(tmp_path_factory)


def _spy_forks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The --jobs of each run that went to forked workers."""
    started: list[int] = []
    real = workers._run_forked

    def spy(steps, writer, jobs, wide, narrow, tick):  # type: ignore[no-untyped-def]
        started.append(jobs)
        return real(steps, writer, jobs, wide, narrow, tick)

    monkeypatch.setattr(workers, "_run_forked", spy)
    return started


def test_one_and_two_jobs_write_the_same_bytes(
    synthetic: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = _spy_forks(monkeypatch)
    import datetime as dt

    today = dt.date.fromisoformat(TODAY_ARG)
    one = build_site(synthetic, tmp_path / "one", today=today, jobs=1)
    assert started == []  # one job: everything in this process
    two = build_site(synthetic, tmp_path / "two", today=today, jobs=2)
    assert started == [2]  # the pages phase went to two workers
    a, b = tree_digest(tmp_path / "one"), tree_digest(tmp_path / "two")
    assert len(a) > 500
    assert sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k)) == []
    # the same report (files written, warnings), but for the time taken
    assert [m.split(" in ")[0] for m in one] == [m.split(" in ")[0] for m in two]
    # an edit rebuilt by two workers equals a clean single-process build
    study = next((synthetic / "studies").iterdir()) / "study.yaml"
    edited = tmp_path / "edited"
    shutil.copytree(synthetic, edited)
    target = edited / "studies" / study.parent.name / "study.yaml"
    target.write_text(target.read_text().replace("title: ", "title: Edited ", 1))
    build_site(edited, tmp_path / "two", today=today, jobs=2)
    build_site(edited, tmp_path / "clean", today=today, jobs=1, clean=True)
    assert tree_digest(tmp_path / "two") == tree_digest(tmp_path / "clean")


def test_site_wide_steps_run_on_one_worker_and_big_workers_are_replaced(
    synthetic: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A site-wide step copies the whole catalogue into the worker that runs it, so with
    two jobs no two run at once; a worker past the memory limit is replaced after its
    batch (here: after every batch). The site is still the single-process one."""
    import datetime as dt
    import os

    log = tmp_path / "ran.log"
    real = workers.run_one
    parent = os.getpid()

    def zombies() -> int:  # unreaped children of the build process, seen from a worker
        build = os.getppid()
        kids = Path(f"/proc/{build}/task/{build}/children").read_text().split()
        states = []
        for kid in kids:
            with contextlib.suppress(OSError):
                states.append(Path(f"/proc/{kid}/stat").read_text().rsplit(")", 1)[1].split()[0])
        return states.count("Z")

    def logged(index, step, writer):  # type: ignore[no-untyped-def]
        begin = time.monotonic()
        outcome = real(index, step, writer)
        seen = zombies() if os.getpid() != parent else 0
        with log.open("a") as fh:
            fh.write(f"{os.getpid()} {begin} {time.monotonic()} {seen} {step.id}\n")
        return outcome

    monkeypatch.setattr(workers, "run_one", logged)
    monkeypatch.setattr(workers, "RECYCLE_BYTES", 0)
    today = dt.date.fromisoformat(TODAY_ARG)
    build_site(synthetic, tmp_path / "one", today=today, jobs=1)
    log.unlink()
    build_site(synthetic, tmp_path / "two", today=today, jobs=2)
    assert tree_digest(tmp_path / "one") == tree_digest(tmp_path / "two")
    ran = [line.split(maxsplit=4) for line in log.read_text().splitlines()]
    pids = {pid for pid, *_ in ran}
    assert str(os.getpid()) not in pids
    assert len(pids) > 4, "every batch was to retire its worker"
    unreaped = max(int(z) for _, _, _, z, _ in ran)
    assert unreaped <= 1, f"{unreaped} retired workers were left unreaped while the build ran"
    wide = sorted(
        (float(b), float(e), pid)
        for pid, b, e, _, sid in ran
        if sid.startswith(("search:", "bulk:", "page:browse", "page:home", "feed"))
    )
    assert len(wide) > 5
    for (_, end, pid), (begin, _, other) in itertools.pairwise(wide):
        assert begin >= end or pid == other, "two site-wide steps ran at once"


def test_failing_steps_in_workers_are_all_reported(
    synthetic: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import datetime as dt

    today = dt.date.fromisoformat(TODAY_ARG)
    out = tmp_path / "build"
    build_site(synthetic, out, today=today, jobs=2)
    before = tree_digest(out)
    templates = broken_study_template(tmp_path)
    started = _spy_forks(monkeypatch)
    messages: list[str] = []
    options = BuildOptions(content=synthetic, out=out, today=today, templates=templates, jobs=2)
    assert not run_build(options, messages.append)
    assert started == [2]
    failed = [m for m in messages if m.startswith("error: step page:study:")]
    public = len([m for m in (out / "studies").iterdir() if (m / "index.html").is_file()])
    assert len(failed) == public and all("no_such_value" in m for m in failed)
    assert failed == sorted(failed)  # in step order, whichever worker ran them
    assert f"{public} step(s) failed; the previous site is unchanged" in messages[-1]
    assert tree_digest(out) == before
    assert not (tmp_path / ".build.catalogue-work").exists()


def test_a_worker_that_dies_stops_the_build_cleanly(
    synthetic: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The kernel's out-of-memory killer takes a worker: a clear message, the previous
    site unchanged, and the next build completes."""
    import datetime as dt

    from catalogue.steps import pages

    today = dt.date.fromisoformat(TODAY_ARG)
    out = tmp_path / "build"
    build_site(synthetic, out, today=today, jobs=2)
    before = tree_digest(out)
    real = kill_worker_rendering(monkeypatch, out)
    messages: list[str] = []
    options = BuildOptions(
        content=synthetic, out=out, today=today, jobs=2, templates=_touched(tmp_path)
    )
    assert not run_build(options, messages.append)
    assert any("a build worker process died" in m for m in messages), messages
    assert tree_digest(out) == before
    monkeypatch.setattr(pages, "_render", real)
    build_site(synthetic, out, today=today, jobs=2, templates=_touched(tmp_path))
    build_site(synthetic, tmp_path / "clean", today=today, templates=_touched(tmp_path))
    assert tree_digest(out) == tree_digest(tmp_path / "clean")
    assert not (tmp_path / ".build.catalogue-work").exists()


def _touched(tmp_path: Path) -> Path:
    """A copy of the templates with one change, so that every page is rendered again."""
    templates = tmp_path / "templates"
    if not templates.exists():
        shutil.copytree(TEMPLATES, templates)
        base = templates / "base.html"
        base.write_text(base.read_text() + "\n")
    return templates


def _workers_of(pid: int) -> set[int]:
    """Children of ``pid`` running the same command (forked workers, not git)."""
    found: set[int] = set()
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                if Path(f"/proc/{child}/cmdline").read_bytes() == command:
                    found.add(int(child))
    except (FileNotFoundError, ProcessLookupError):
        pass
    return found


def test_a_killed_build_leaves_no_worker_running(synthetic: Path, tmp_path: Path) -> None:
    # the suite runs on Linux (scripts/test, Debian): /proc is how the workers are found
    assert Path("/proc/self/task").is_dir(), "this test needs Linux's /proc"
    out = tmp_path / "build"
    cmd = [sys.executable, "-m", "catalogue", "build", "--content", str(synthetic)]
    cmd += ["--out", str(out), "--today", TODAY_ARG, "--jobs", "2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seen: set[int] = set()
    deadline = time.monotonic() + 60
    while len(seen) < 2 and time.monotonic() < deadline and proc.poll() is None:
        seen |= _workers_of(proc.pid)
        time.sleep(0.01)
    assert len(seen) >= 2, "the build finished before its workers were seen"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    alive = seen
    while alive and time.monotonic() < deadline:
        alive = {pid for pid in alive if _alive(pid)}
        time.sleep(0.05)
    assert alive == set()
    # and the site is finished by the next build, as after any kill
    build = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert build.returncode == 0, build.stderr
    clean = tmp_path / "clean"
    again = [sys.executable, "-m", "catalogue", "build", "--content", str(synthetic)]
    again += ["--out", str(clean), "--today", TODAY_ARG, "--jobs", "1"]
    subprocess.run(again, check=True, capture_output=True)
    assert tree_digest(out) == tree_digest(clean)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"  # a zombie has stopped; its parent (init) reaps it
