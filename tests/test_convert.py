"""`catalogue convert`: real files to OME-Zarr pyramids, read back with ome-zarr's reader."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import nd2
import numpy as np
import pytest
import tifffile
from click.testing import CliRunner

from catalogue.cli import main
from catalogue.imaging.metadata import inspect_image
from catalogue.imaging.thumbnail import render_thumbnail

from .ngff import SAMPLES


def read_back(root: Path) -> tuple[list[np.ndarray], dict]:
    """Levels and metadata as the OME reference reader (ome-zarr) sees them."""
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Multiscales, Reader

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        location = parse_url(str(root))
        assert location is not None, f"ome-zarr cannot open {root}"
        nodes = [n for n in Reader(location)() if n.load(Multiscales)]
        assert nodes, "no multiscale image found"
        node = nodes[0]
        return [np.asarray(level) for level in node.data], node.metadata


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["convert", *args])
    return result.exit_code, result.output


def test_tiff_converts_to_a_pyramid_with_the_same_pixels(tmp_path: Path) -> None:
    out = tmp_path / "worm.ome.zarr"
    code, output = run(str(SAMPLES / "worm_fitc_16bit.tif"), "-o", str(out), "--jobs", "2")
    assert code == 0, output
    levels, metadata = read_back(out)
    original = tifffile.imread(SAMPLES / "worm_fitc_16bit.tif")
    assert [level.shape for level in levels] == [
        (1, 1, 1, 520, 696),
        (1, 1, 1, 260, 348),
        (1, 1, 1, 130, 174),
    ]
    assert np.array_equal(levels[0][0, 0, 0], original)
    assert metadata["axes"][-1]["name"] == "x"
    assert json.loads((out / "zarr.json").read_text())["attributes"]["ome"]["version"] == "0.5"
    # the catalogue's own reader gives a thumbnail and the same inspect facts
    assert render_thumbnail(out).webp
    record = inspect_image(out)
    assert record["dimensions"] == {"X": 696, "Y": 520, "Z": 1, "C": 1, "T": 1}
    assert record["pixel_type"] == "uint16" and len(record["levels"]) == 3


def test_lsm_keeps_channels_and_physical_sizes(tmp_path: Path) -> None:
    out = tmp_path / "embryo.ome.zarr"
    code, output = run(str(SAMPLES / "032113-18.lsm"), "-o", str(out))
    assert code == 0, output
    levels, metadata = read_back(out)
    assert levels[0].shape == (1, 3, 1, 512, 512) and levels[1].shape == (1, 3, 1, 256, 256)
    assert np.array_equal(levels[0][0, :, 0], tifffile.imread(SAMPLES / "032113-18.lsm"))
    assert metadata["channel_names"] == ["Ch1-T1", "Ch2-T2", "T PMT-T2"]
    scale = metadata["coordinateTransformations"][0][0]["scale"]
    assert scale[-1] == pytest.approx(1.03783) and scale[-2] == pytest.approx(1.03783)
    assert {a["name"]: a.get("unit") for a in metadata["axes"]}["x"] == "micrometer"
    start, end = metadata["contrast_limits"][0]
    assert 0 <= start < end <= 255  # a window from the data, not the type's full range
    assert inspect_image(out)["physical_size"]["X"] == {"value": 1.03783, "unit": "µm"}


def test_nd2_to_ngff_04(tmp_path: Path) -> None:
    out = tmp_path / "yeast.ome.zarr"
    code, output = run(str(SAMPLES / "example-cerevisiae.nd2"), "-o", str(out), "--ngff", "0.4")
    assert code == 0, output
    assert (out / ".zattrs").is_file() and not (out / "zarr.json").exists()
    levels, metadata = read_back(out)
    with nd2.ND2File(SAMPLES / "example-cerevisiae.nd2") as source:
        expected = source.asarray()
    assert np.array_equal(levels[0][0, :, 0], expected)
    assert metadata["channel_names"] == ["DIC", "FITC BP"]


def test_mrc_volume_keeps_z_and_angstrom(tmp_path: Path) -> None:
    out = tmp_path / "map.ome.zarr"
    code, output = run(str(SAMPLES / "EMD-3001.map"), "-o", str(out))
    assert code == 0, output
    levels, metadata = read_back(out)
    assert levels[0].shape == (1, 1, 25, 43, 73)
    assert {a["name"]: a.get("unit") for a in metadata["axes"]}["z"] == "angstrom"


def test_refusals_leave_nothing_behind(tmp_path: Path) -> None:
    out = tmp_path / "x.ome.zarr"
    out.mkdir()
    code, output = run(str(SAMPLES / "worm_fitc_16bit.tif"), "-o", str(out))
    assert code == 1 and "already exists (use --overwrite" in output
    code, output = run(str(SAMPLES / "truncated.tif"), "-o", str(tmp_path / "t.ome.zarr"))
    assert code == 1 and "truncated.tif" in output and "Traceback" not in output
    code, output = run(str(SAMPLES / "human_D03_3ch.ome.zarr"), "-o", str(tmp_path / "z.ome.zarr"))
    assert code == 1 and "already OME-Zarr" in output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.ome.zarr"]
    code, output = run(str(SAMPLES / "worm_fitc_16bit.tif"), "-o", str(out), "--overwrite")
    assert code == 0, output
    assert read_back(out)[0][0].shape == (1, 1, 1, 520, 696)


def test_convert_study_adds_derived_files_and_the_build_views_them(tmp_path: Path) -> None:
    import shutil

    import yaml

    from .conftest import build_site, copy_root

    content = copy_root(tmp_path, "minimal")
    data = content / "data" / "S-BIAD1"
    shutil.copy(SAMPLES / "032113-18.lsm", data / "embryo.lsm")
    manifest = content / "studies" / "S-BIAD1" / "images.files.tsv"
    manifest.write_text(manifest.read_text(encoding="utf-8") + "embryo.lsm\t984659\n")
    study_file = content / "studies" / "S-BIAD1" / "study.yaml"
    study = yaml.safe_load(study_file.read_text(encoding="utf-8"))
    study["datasets"][0]["convert"] = "ome-zarr"
    study_file.write_text(yaml.safe_dump(study, sort_keys=False), encoding="utf-8")
    result = CliRunner().invoke(main, ["convert-study", "S-BIAD1", "--content", str(content)])
    assert result.exit_code == 0, result.output
    assert "2 converted" in result.output  # worm.tif and embryo.lsm
    levels, metadata = read_back(data / "embryo.lsm.ome.zarr")
    assert levels[0].shape == (1, 3, 1, 512, 512)
    lines = manifest.read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    assert header[-1] == "derived_from"
    derived = [dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:]]
    zattrs = [r for r in derived if r["path"] == "embryo.lsm.ome.zarr/zarr.json"]
    assert zattrs and zattrs[0]["derived_from"] == "embryo.lsm" and len(zattrs[0]["sha256"]) == 64
    # a second run converts nothing and adds no rows
    again = CliRunner().invoke(main, ["convert-study", "S-BIAD1", "--content", str(content)])
    assert again.exit_code == 0 and "0 converted, 2 up to date, 0 manifest" in again.output
    out = tmp_path / "site"
    build_site(content, out)
    page = out / "viewer" / "S-BIAD1" / "embryo.lsm.ome.zarr" / "index.html"
    assert page.is_file()
    assert (out / "viewer" / "S-BIAD1" / "embryo.lsm.ome.zarr" / "data" / "zarr.json").is_file()


@pytest.mark.parametrize("version", ["0.5", "0.4"])
def test_result_validates_against_the_ngff_models_and_is_deterministic(
    tmp_path: Path, version: str
) -> None:
    """ome-zarr-models (pydantic models of the NGFF spec) accepts the metadata, and the
    same input gives the same bytes."""
    import hashlib

    import zarr
    from ome_zarr_models import open_ome_zarr

    trees = []
    for name in ("a", "b"):
        out = tmp_path / f"{name}.ome.zarr"
        code, output = run(str(SAMPLES / "032113-18.lsm"), "-o", str(out), "--ngff", version)
        assert code == 0, output
        trees.append(
            {
                p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(out.rglob("*"))
                if p.is_file()
            }
        )
    assert trees[0] == trees[1] and len(trees[0]) > 4
    if version == "0.5":  # (its 0.4 models need pydantic < 2.13, older than ours)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = open_ome_zarr(zarr.open_group(str(tmp_path / "a.ome.zarr"), mode="r"))
        assert type(model).__name__ == "Image"


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_convert_on_a_dask_cluster_gives_the_local_bytes(tmp_path: Path) -> None:
    """A real distributed.LocalCluster with a worker *process*: the graph must pickle
    (tifffile's zarr view does not), the worker opens the files itself and writes the
    chunks; the result is byte for byte the local threads' one, for a TIFF (tifffile
    regions: an ImageJ hyperstack) and an ND2 (vendor planes)."""
    import logging

    import distributed

    sources = [
        SAMPLES / "imagej_hyperstack_tzcyx.tiff",
        SAMPLES / "example-cerevisiae.nd2",
    ]
    for source in sources:
        code, output = run(str(source), "-o", str(tmp_path / "local" / source.name))
        assert code == 0, output
    with distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=2,
        processes=True,
        protocol="tcp",
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=logging.ERROR,
    ) as cluster:
        spec = f"dask://{cluster.scheduler_address.removeprefix('tcp://')}"
        for source in sources:
            out = tmp_path / "dask" / source.name
            code, output = run(str(source), "-o", str(out), "--executor", spec)
            assert code == 0, output
            assert "chunks computed on dask (tcp://127.0.0.1:" in output
            assert _tree(out) == _tree(tmp_path / "local" / source.name), source.name
        done = set(cluster.scheduler.task_prefixes)
    # the source reads and the chunk writes ran on the cluster, not here
    assert any("tiff" in prefix for prefix in done) and "store-map" in done


def test_convert_rejects_a_bad_executor(tmp_path: Path) -> None:
    code, output = run(
        str(SAMPLES / "worm_fitc_16bit.tif"), "-o", str(tmp_path / "w"), "--executor", "spark://x"
    )
    assert code == 2 and "--executor" in output
    assert not (tmp_path / "w").exists()
