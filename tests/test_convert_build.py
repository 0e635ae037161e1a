"""OME-Zarr conversion inside the build (site.yaml ``conversion.in_build``): converted
into a cache folder, served by the site's own viewer, not converted again while the
source and the converter are unchanged, the same site on a Dask cluster."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import distributed
import numpy as np
import pytest
import tifffile
import yaml

from catalogue.pipeline.builder import BuildOptions, run_build
from catalogue.pipeline.state import STATE_FILE

from .conftest import TODAY, build_site, copy_root, tree_digest
from .ngff import SAMPLES
from .test_convert import read_back

ROWS = {
    "hela.tif": SAMPLES / "imagej_hyperstack_tzcyx.tiff",
    "yeast.nd2": SAMPLES / "example-cerevisiae.nd2",
    "broken.tif": SAMPLES / "truncated.tif",
}


@pytest.fixture
def content(tmp_path: Path) -> Path:
    """The minimal root, its images dataset marked ``convert: ome-zarr``, conversion on."""
    root = copy_root(tmp_path, "minimal")
    data = root / "data" / "S-BIAD1"
    manifest = root / "studies" / "S-BIAD1" / "images.files.tsv"
    lines = manifest.read_text(encoding="utf-8")
    for name, source in ROWS.items():
        shutil.copy(source, data / name)
        lines += f"{name}\t{source.stat().st_size}\t\t\n"
    manifest.write_text(lines, encoding="utf-8")
    study_file = root / "studies" / "S-BIAD1" / "study.yaml"
    study = yaml.safe_load(study_file.read_text(encoding="utf-8"))
    study["datasets"][0]["convert"] = "ome-zarr"
    study["datasets"][0]["representative"] = "hela.tif"
    study_file.write_text(yaml.safe_dump(study, sort_keys=False), encoding="utf-8")
    site_file = root / "site.yaml"
    site_file.write_text(
        site_file.read_text(encoding="utf-8") + "conversion: {in_build: true}\n", encoding="utf-8"
    )
    return root


def _cache(out: Path) -> dict[str, int]:
    folder = out.parent / f"{out.name}.ome-zarr"
    return {p.name: (p / "zarr.json").stat().st_mtime_ns for p in sorted(folder.iterdir())}


def _retitle(content: Path, title: str) -> None:
    study_file = content / "studies" / "S-BIAD1" / "study.yaml"
    study = yaml.safe_load(study_file.read_text(encoding="utf-8"))
    study["title"] = title
    study_file.write_text(yaml.safe_dump(study, sort_keys=False), encoding="utf-8")


def test_build_converts_serves_and_caches(content: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    messages = build_site(content, out)
    # the unreadable file: one warning, no viewer, and the build goes on
    assert any("S-BIAD1/broken.tif: W051 cannot convert" in m for m in messages), messages
    assert not (out / "viewer" / "S-BIAD1" / "broken.tif").exists()
    cache = _cache(out)
    assert len(cache) == 3  # worm.tif, hela.tif, yeast.nd2, named by content hash
    # the site's own viewer, with the conversion copied beside it
    base = out / "viewer" / "S-BIAD1" / "hela.tif"
    assert (base / "index.html").is_file()
    levels, metadata = read_back(base / "data")
    source = tifffile.imread(SAMPLES / "imagej_hyperstack_tzcyx.tiff")
    assert np.array_equal(levels[0], np.moveaxis(source, 2, 1))  # (t, c, z, y, x)
    assert [a.get("unit") for a in metadata["axes"]][0] == "second"
    assert (out / "viewer" / "S-BIAD1" / "yeast.nd2" / "data" / "zarr.json").is_file()
    # linked first from the study page (the representative) and the file table
    study = (out / "studies" / "S-BIAD1" / "index.html").read_text(encoding="utf-8")
    assert 'href="/viewer/S-BIAD1/hela.tif/"' in study
    files = out / "studies" / "S-BIAD1" / "files" / "images"
    table = (files / "page" / "1" / "index.html").read_text(encoding="utf-8")
    assert 'href="/viewer/S-BIAD1/yeast.nd2/"' in table  # the plain table
    data = "".join(p.read_text(encoding="utf-8") for p in (files / "data").glob("*.json"))
    assert "/viewer/S-BIAD1/yeast.nd2/" in data  # the interactive one

    # an edit elsewhere: nothing is converted again (the cache's files are untouched)
    _retitle(content, "Worms and HeLa cells")
    build_site(content, out)
    assert _cache(out) == cache

    # a changed source is converted again under a new name; the old one is pruned
    replaced = SAMPLES / "multi-channel-z-series.ome.tif"
    shutil.copy(replaced, content / "data" / "S-BIAD1" / "hela.tif")
    build_site(content, out)
    after = _cache(out)
    assert len(after) == 3 and len(set(after) - set(cache)) == 1
    levels, _ = read_back(base / "data")
    assert levels[0].shape == (1, 3, 5, 167, 439)

    # an emptied cache is filled again (the step is not reused without its folder)
    shutil.rmtree(out.parent / f"{out.name}.ome-zarr")
    _retitle(content, "Worms again")
    build_site(content, out)
    assert set(_cache(out)) == set(after)


def test_off_by_default_and_nothing_embargoed(content: Path, tmp_path: Path) -> None:
    site_file = content / "site.yaml"
    site_file.write_text(
        site_file.read_text(encoding="utf-8").replace("conversion: {in_build: true}\n", ""),
        encoding="utf-8",
    )
    build_site(content, tmp_path / "plain")
    assert not (tmp_path / "plain.ome-zarr").exists()
    assert not (tmp_path / "plain" / "viewer").exists()
    # turned on, but the study is under embargo on --today: nothing converted or shown
    site_file.write_text(
        site_file.read_text(encoding="utf-8") + "conversion: {in_build: true}\n", encoding="utf-8"
    )
    study_file = content / "studies" / "S-BIAD1" / "study.yaml"
    study = yaml.safe_load(study_file.read_text(encoding="utf-8"))
    study["release_date"] = "2099-01-01"
    study_file.write_text(yaml.safe_dump(study, sort_keys=False), encoding="utf-8")
    build_site(content, tmp_path / "embargo")
    assert not (tmp_path / "embargo.ome-zarr").exists()
    assert not (tmp_path / "embargo" / "viewer" / "S-BIAD1").exists()


def test_a_folder_inside_the_content_or_site_is_refused(content: Path, tmp_path: Path) -> None:
    site_file = content / "site.yaml"
    text = site_file.read_text(encoding="utf-8")
    for folder in ("converted", "../site/converted"):
        site_file.write_text(
            text.replace("{in_build: true}", f"{{in_build: true, folder: {folder}}}"),
            encoding="utf-8",
        )
        messages: list[str] = []
        ok = run_build(
            BuildOptions(content=content, out=tmp_path / "site", today=TODAY),
            echo=messages.append,
        )
        assert not ok
        assert any("conversion.folder" in m and "overlaps" in m for m in messages), messages
    assert not (content / "converted").exists()


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A real distributed.LocalCluster on loopback TCP (tasks are pickled to reach it)."""
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


def test_on_dask_the_site_is_byte_identical(content: Path, tmp_path: Path, cluster: str) -> None:
    site_file = content / "site.yaml"
    site_file.write_text(
        site_file.read_text(encoding="utf-8").replace(
            "{in_build: true}", "{in_build: true, folder: ../conv-dask}"
        ),
        encoding="utf-8",
    )
    spec = f"dask://{cluster.removeprefix('tcp://')}"
    build_site(content, tmp_path / "dask", executor=spec, clean=True)
    assert len(list((tmp_path / "conv-dask").iterdir())) == 3
    site_file.write_text(
        site_file.read_text(encoding="utf-8").replace("conv-dask", "conv-local"),
        encoding="utf-8",
    )
    build_site(content, tmp_path / "local", clean=True)
    local = {k: v for k, v in tree_digest(tmp_path / "local").items() if k != STATE_FILE}
    remote = {k: v for k, v in tree_digest(tmp_path / "dask").items() if k != STATE_FILE}
    assert local == remote
    assert any(k.startswith("viewer/S-BIAD1/hela.tif/data/") for k in local)
