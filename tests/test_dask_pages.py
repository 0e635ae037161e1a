"""Page steps (study pages, file tables, API records, crates …) on a real Dask cluster
(``--executor dask://…``): the site is byte for byte that of a local one-process build,
clean or after an edit, and every failing step is still reported."""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import distributed
import pytest
from click.testing import CliRunner

from catalogue.cli import main
from catalogue.pipeline import workers
from catalogue.pipeline.builder import BuildOptions, run_build

from .build_failures import broken_study_template, kill_worker_rendering, synthetic_tree
from .conftest import build_site, tree_digest

TODAY = dt.date(2026, 12, 1)
WORKERS = "catalogue.pipeline.workers"


@pytest.fixture(scope="module")
def cluster() -> Iterator[distributed.LocalCluster]:
    """Two worker *processes* on loopback TCP: the steps must really travel pickled."""
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        protocol="tcp",
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=logging.ERROR,
    ) as local:
        yield local


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthetic_tree(tmp_path_factory)


def _spec(cluster: distributed.LocalCluster) -> str:
    return f"dask://{cluster.scheduler_address.removeprefix('tcp://')}"


def _no_local_forks(monkeypatch: pytest.MonkeyPatch) -> None:
    def forked(*args: object) -> None:
        raise AssertionError("page steps were forked locally")

    monkeypatch.setattr(workers, "_run_forked", forked)


def test_pages_on_dask_are_the_bytes_of_a_local_build(
    cluster: distributed.LocalCluster,
    synthetic: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    build_site(synthetic, tmp_path / "local", today=TODAY, jobs=1)
    _no_local_forks(monkeypatch)
    before = set(cluster.scheduler.task_prefixes)
    remote = tmp_path / "dask"
    # a relative --content: the workers (started elsewhere) follow the build's directory
    monkeypatch.chdir(synthetic.parent)
    args = ["build", "--content", synthetic.name, "--out", str(remote)]
    args += ["--today", TODAY.isoformat(), "--jobs", "2", "--executor", _spec(cluster)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "page steps ran on dask (tcp://127.0.0.1:" in result.output
    assert "remote_batch" in set(cluster.scheduler.task_prefixes) - before
    local = tree_digest(tmp_path / "local")
    assert len(local) > 500
    assert tree_digest(remote) == local  # the build state included
    assert not (tmp_path / ".dask.catalogue-work").exists()
    # the workers let the build's steps go once it is done (a cluster outlives builds)
    with distributed.Client(cluster) as client:
        for _ in range(50):
            held = client.run(lambda: len(importlib.import_module(WORKERS)._LOADED))
            if set(held.values()) == {0}:
                break
            time.sleep(0.1)
        assert set(held.values()) == {0}, held

    # an edit rebuilt on Dask equals a clean local build of the edited content
    edited = tmp_path / "edited"
    shutil.copytree(synthetic, edited)
    study = sorted((edited / "studies").iterdir())[3] / "study.yaml"
    study.write_text(study.read_text().replace("title: ", "title: Edited ", 1))
    messages = build_site(edited, remote, today=TODAY, jobs=2, executor=_spec(cluster))
    assert any("page steps ran on dask" in m for m in messages), messages
    assert any("steps run" in m and "reused" in m for m in messages)
    monkeypatch.undo()
    build_site(edited, tmp_path / "clean", today=TODAY, jobs=1, clean=True)
    assert tree_digest(remote) == tree_digest(tmp_path / "clean")


def test_failing_page_steps_on_dask_are_all_reported(
    cluster: distributed.LocalCluster,
    synthetic: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = tmp_path / "build"
    build_site(synthetic, out, today=TODAY, jobs=1)
    before = tree_digest(out)
    templates = broken_study_template(tmp_path)
    _no_local_forks(monkeypatch)
    messages: list[str] = []
    options = BuildOptions(
        content=synthetic,
        out=out,
        today=TODAY,
        templates=templates,
        jobs=2,
        executor=_spec(cluster),
    )
    assert not run_build(options, messages.append)
    failed = [m for m in messages if m.startswith("error: step page:study:")]
    public = len([m for m in (out / "studies").iterdir() if (m / "index.html").is_file()])
    assert len(failed) == public and all("no_such_value" in m for m in failed)
    assert failed == sorted(failed)  # in step order, whichever worker ran them
    assert f"{public} step(s) failed; the previous site is unchanged" in messages[-1]
    assert tree_digest(out) == before
    assert not (tmp_path / ".build.catalogue-work").exists()


def test_a_worker_that_cannot_see_the_work_folder_says_so(
    cluster: distributed.LocalCluster,
    synthetic: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """File tables are streamed into the work folder beside --out: on a cluster without
    that shared file system the build stops with a message, the old site untouched."""
    out = tmp_path / "build"
    build_site(synthetic, out, today=TODAY, jobs=1)
    before = tree_digest(out)
    monkeypatch.setattr(workers, "_announce", lambda probe: None)  # as if on another disk
    messages: list[str] = []
    options = BuildOptions(
        content=synthetic, out=out, today=TODAY, jobs=2, executor=_spec(cluster), clean=True
    )
    assert not run_build(options, messages.append)
    assert any("is not visible on the Dask worker" in m for m in messages), messages
    assert messages[-1].startswith("build: stopped; the previous site is unchanged")
    assert tree_digest(out) == before
    assert not (tmp_path / ".build.catalogue-work").exists()


def test_a_lost_worker_stops_the_build_cleanly(
    cluster: distributed.LocalCluster,
    synthetic: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A step that kills its worker process each time it runs (out of memory, say): Dask
    retries it on restarted workers, then gives up; the build says so, leaves the old
    site as it was, and the next build on the cluster completes.
    Last in this file: it costs the cluster a few worker restarts."""
    from catalogue.steps import pages

    out = tmp_path / "build"
    build_site(synthetic, out, today=TODAY, jobs=1)
    before = tree_digest(out)
    real = kill_worker_rendering(monkeypatch, out)
    messages: list[str] = []
    options = BuildOptions(
        content=synthetic, out=out, today=TODAY, jobs=2, executor=_spec(cluster), clean=True
    )
    assert not run_build(options, messages.append)
    died = "the page steps failed on dask (tcp://127.0.0.1:"
    assert any(died in m and "a Dask worker died" in m for m in messages), messages
    assert messages[-1].startswith("build: stopped; the previous site is unchanged")
    assert tree_digest(out) == before
    monkeypatch.setattr(pages, "_render", real)
    build_site(synthetic, out, today=TODAY, jobs=2, executor=_spec(cluster), clean=True)
    assert tree_digest(out) == before
    assert not (tmp_path / ".build.catalogue-work").exists()
