"""Heavy steps on Dask distributed give the same site as local processes."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import distributed
import pytest
import yaml
from click.testing import CliRunner

from catalogue.cli import main
from catalogue.imaging.harvest import harvest_study
from catalogue.pipeline import executors
from catalogue.pipeline.executors import (
    DaskExecutor,
    ExecutorError,
    LazyExecutor,
    LocalExecutor,
    open_executor,
    scheduler_address,
)

from .conftest import build_site, tree_digest
from .ngff import SAMPLES

MINIMAL = Path(__file__).parent / "roots" / "minimal" / "content"
IMAGES = {
    "worm": "worm.tif",
    "ome": "multi-channel-z-series.ome.tif",
    "slide": "CMU-1-Small-Region.svs",
    "ihc": "ihc_histology_rgb.png",
    "cells": "human_D03_3ch.ome.zarr",
    "plate": "human_plate.ome.zarr",
    "broken": "truncated.tif",
}


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A real distributed.LocalCluster (one in-process worker thread) on loopback TCP."""
    with distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=False,
        protocol="tcp",
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=logging.ERROR,
    ) as local:
        yield local.scheduler_address


@pytest.fixture
def content(tmp_path: Path) -> Path:
    """The minimal root with one dataset per sample image (representatives)."""
    assert SAMPLES.is_dir(), f"sample images missing: {SAMPLES}"  # a failure, never a skip
    root = tmp_path / "content"
    shutil.copytree(MINIMAL, root)
    data = root / "data" / "S-BIAD1"
    for name in IMAGES.values():
        if name != "worm.tif":
            source = SAMPLES / name
            if source.is_dir():
                shutil.copytree(source, data / name)
            else:
                shutil.copy(source, data / name)
    study_file = root / "studies" / "S-BIAD1" / "study.yaml"
    study_file.chmod(0o644)
    study = yaml.safe_load(study_file.read_text())
    study["datasets"] = [
        {"id": key, "title": key, "representative": name} for key, name in IMAGES.items()
    ]
    study["datasets"][0]["files"] = "images.files.tsv"
    study_file.write_text(yaml.safe_dump(study, sort_keys=False))
    return root


def test_scheduler_address() -> None:
    assert scheduler_address("dask://sched.example.org:8786") == "tcp://sched.example.org:8786"
    assert scheduler_address("dask://127.0.0.1:8786/") == "tcp://127.0.0.1:8786"
    assert scheduler_address("dask+tls://h:1") == "tls://h:1"
    for bad in ("dask://nohost", "dask://:8786", "spark://h:1", "dask://h:port"):
        with pytest.raises(ExecutorError):
            scheduler_address(bad)


def test_local_executor_keeps_order() -> None:
    items = list(range(40))
    assert LocalExecutor(2).map(abs, [-i for i in items]) == items
    assert LocalExecutor(1).map(abs, [-3]) == [3]


def test_lazy_executor_opens_nothing_for_no_work() -> None:
    with LazyExecutor("dask://127.0.0.1:9", 1) as lazy:
        assert lazy.map(abs, []) == []  # an unreachable scheduler is never contacted


def test_unreachable_scheduler_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(executors, "CONNECT_TIMEOUT", "0.5s")
    with pytest.raises(ExecutorError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        open_executor("dask://127.0.0.1:9", 1)


def test_dask_executor_maps_in_order(cluster: str) -> None:
    executor = open_executor(f"dask://{cluster.removeprefix('tcp://')}", 1)
    assert isinstance(executor, DaskExecutor)
    try:
        assert executor.map(partial(pow, 2), [3, 1, 2, 1]) == [8, 2, 4, 2]
        assert executor.map(abs, []) == []
    finally:
        executor.close()


def test_build_on_dask_is_byte_identical_to_a_local_build(
    cluster: str, content: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    local = build_site(content, tmp_path / "local", jobs=2)
    spec = f"dask://{cluster.removeprefix('tcp://')}"
    seen: list[int] = []
    dask_map = DaskExecutor.map

    def counting(self: DaskExecutor, fn: object, items: list) -> list:
        seen.append(len(items))
        return dask_map(self, fn, items)

    def no_local(*args: object) -> None:
        raise AssertionError("heavy steps ran locally")

    monkeypatch.setattr(DaskExecutor, "map", counting)
    monkeypatch.setattr(LocalExecutor, "map", no_local)
    remote = build_site(content, tmp_path / "dask", executor=spec, clean=True)
    assert seen == [len(IMAGES)]  # every thumbnail went to the cluster
    state = ".catalogue-state.json"
    assert {k: v for k, v in tree_digest(tmp_path / "local").items() if k != state} == {
        k: v for k, v in tree_digest(tmp_path / "dask").items() if k != state
    }
    thumbnails = list((tmp_path / "dask" / "thumbnails").iterdir())
    assert len(thumbnails) == len(IMAGES)  # one per image, the broken one a placeholder
    for messages in (local, remote):
        warnings = [m for m in messages if "W050" in m]
        assert len(warnings) == 1 and "truncated.tif" in warnings[0]


def test_harvest_on_dask(cluster: str, content: Path) -> None:
    with LazyExecutor(f"dask://{cluster.removeprefix('tcp://')}", 1) as runner:
        report = harvest_study(content, "S-BIAD1", executor=runner)
        assert runner.name.startswith("dask (tcp://127.0.0.1:")
    assert report.manifests[0].read == 1


def test_build_command_rejects_a_bad_executor(content: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["build", "--content", str(content), "--out", str(tmp_path / "o"), "--executor", "x"]
    )
    assert result.exit_code == 2
    assert "unknown executor" in result.output


def test_local_processes_render_zarr_after_the_parent_did() -> None:
    # zarr keeps an event-loop thread; forked workers must not inherit a dead one.
    from catalogue.imaging.thumbnail import render_thumbnail

    image = SAMPLES / "human_D03_3ch.ome.zarr"
    expected = render_thumbnail(image)
    assert LocalExecutor(2).map(render_thumbnail, [image, image]) == [expected, expected]
