""" "Open in viewer" links: each OME-Zarr layout gets URLs that open something."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import yaml

from catalogue.imaging.viewers import viewer_links, zarr_root
from catalogue.model import Site, Viewers
from catalogue.readers.tree import load_site

from .ngff import SAMPLES, pyramid, two_halves, write_container, write_image

DATA = "https://data.example.org/pub"


@pytest.fixture(scope="module")
def samples() -> Path:
    assert SAMPLES.is_dir(), f"sample images missing: {SAMPLES}"  # a failure, never a skip
    return SAMPLES


def site(**viewers: str | None) -> Site:
    return Site(
        format=1,
        title="t",
        base_url="https://archive.example.org",
        data_url=DATA,
        licenses=("CC0-1.0",),
        collections={},
        viewers=Viewers(**viewers),
    )


def links(root: Path, path: str, **viewers: str | None) -> dict[str, str]:
    return dict(viewer_links(site(**viewers), "S-BIAD9", path, root))


def neuroglancer_source(url: str) -> str:
    state = json.loads(unquote(urlsplit(url).fragment.removeprefix("!")))
    (layer,) = state["layers"]
    assert layer["type"] == "image"
    return layer["source"]


def query(url: str, key: str) -> str:
    (value,) = parse_qs(urlsplit(url).query)[key]
    return value


def test_single_image_sample(samples: Path) -> None:
    found = links(samples / "human_D03_3ch.ome.zarr", "zarr/human D03.ome.zarr")
    image = f"{DATA}/S-BIAD9/zarr/human%20D03.ome.zarr"
    assert list(found) == ["Vizarr", "Neuroglancer", "ITK-VTK viewer"]
    # The data URL is itself percent-encoded as a query value ("%20" becomes "%2520").
    assert found["Vizarr"] == (
        f"https://hms-dbmi.github.io/vizarr/?source={image.replace('%', '%25')}"
    )
    assert query(found["Vizarr"], "source") == image
    assert neuroglancer_source(found["Neuroglancer"]) == f"zarr://{image}"
    assert found["Neuroglancer"].startswith("https://neuroglancer-demo.appspot.com/#!%7B")
    assert found["ITK-VTK viewer"].startswith("https://kitware.github.io/itk-vtk-viewer/app/?")
    assert query(found["ITK-VTK viewer"], "image") == image


def test_plate_sample_opens_the_plate_in_vizarr_and_a_field_elsewhere(samples: Path) -> None:
    found = links(samples / "human_plate.ome.zarr", "plates/human_plate.ome.zarr")
    plate = f"{DATA}/S-BIAD9/plates/human_plate.ome.zarr"
    assert query(found["Vizarr"], "source") == plate  # Vizarr shows the whole plate
    # Neuroglancer and ITK-VTK open one image: the first field of the first well.
    assert neuroglancer_source(found["Neuroglancer"]) == f"zarr://{plate}/D/3/0"
    assert query(found["ITK-VTK viewer"], "image") == f"{plate}/D/3/0"
    # and that field really is a multiscale image
    attrs = json.loads((samples / "human_plate.ome.zarr/D/3/0/.zattrs").read_text())
    assert attrs["multiscales"]


def test_plate_wells_are_ordered_by_row_and_column(samples: Path, tmp_path: Path) -> None:
    plate = tmp_path / "p.ome.zarr"
    shutil.copytree(samples / "human_plate.ome.zarr", plate)
    attrs = json.loads((plate / ".zattrs").read_text())
    shutil.copytree(plate / "D" / "3", plate / "A" / "1")
    attrs["plate"]["rows"].insert(0, {"name": "A"})
    attrs["plate"]["columns"].insert(0, {"name": "1"})
    attrs["plate"]["wells"] = [
        {"path": "D/3", "rowIndex": 1, "columnIndex": 1},
        {"path": "A/1", "rowIndex": 0, "columnIndex": 0},
    ]
    (plate / ".zattrs").write_text(json.dumps(attrs))
    found = links(plate, "p.ome.zarr")
    assert neuroglancer_source(found["Neuroglancer"]).endswith("/p.ome.zarr/A/1/0")


def test_bioformats2raw_container_opens_its_first_series(tmp_path: Path) -> None:
    root = write_container(tmp_path / "c.ome.zarr", [[two_halves()], [two_halves()]])
    found = links(root, "c.ome.zarr")
    first = f"{DATA}/S-BIAD9/c.ome.zarr/0"
    # The container root has no multiscales: every viewer gets the first image.
    assert query(found["Vizarr"], "source") == first
    assert neuroglancer_source(found["Neuroglancer"]) == f"zarr://{first}"
    assert query(found["ITK-VTK viewer"], "image") == first


def test_ngff_05_uses_zarr3_and_skips_itk_vtk(tmp_path: Path) -> None:
    root = write_image(tmp_path / "v5.ome.zarr", pyramid(two_halves(), 2), version="0.5")
    found = links(root, "v5.ome.zarr")
    assert list(found) == ["Vizarr", "Neuroglancer"]
    assert neuroglancer_source(found["Neuroglancer"]) == f"zarr3://{DATA}/S-BIAD9/v5.ome.zarr"


def test_configured_viewers(samples: Path) -> None:
    found = links(
        samples / "human_D03_3ch.ome.zarr",
        "x.zarr",
        vizarr="https://viewers.example.org/vizarr/",
        neuroglancer=None,
        itk_vtk_viewer=None,
    )
    assert found == {"Vizarr": f"https://viewers.example.org/vizarr/?source={DATA}/S-BIAD9/x.zarr"}
    with pytest.raises(ValueError):
        Viewers(vizarr="javascript:alert(1)")


def test_site_yaml_viewers_mapping(tmp_path: Path) -> None:
    content = tmp_path / "content"
    shutil.copytree(Path(__file__).parent / "roots" / "minimal" / "content", content)
    data = yaml.safe_load((content / "site.yaml").read_text())
    loaded, problems = load_site(content)
    assert loaded is not None and loaded.viewers == Viewers(), problems
    data["viewers"] = {"neuroglancer": "https://ng.example.org/", "itk_vtk_viewer": None}
    (content / "site.yaml").write_text(yaml.safe_dump(data))
    loaded, problems = load_site(content)
    assert loaded is not None, problems
    assert loaded.viewers.neuroglancer == "https://ng.example.org/"
    assert loaded.viewers.itk_vtk_viewer is None
    assert loaded.viewers.vizarr == Viewers().vizarr
    data["viewers"] = {"vizar": "https://typo.example.org/"}
    (content / "site.yaml").write_text(yaml.safe_dump(data))
    loaded, problems = load_site(content)
    assert loaded is None and any("vizar" in p.message for p in problems)


def test_no_links_for_anything_else(samples: Path, tmp_path: Path) -> None:
    assert links(samples / "worm_fitc_16bit.tif", "worm.tif") == {}
    assert links(tmp_path / "missing.zarr", "missing.zarr") == {}
    broken = tmp_path / "broken.zarr"
    broken.mkdir()
    (broken / ".zattrs").write_text("{oops")
    assert links(broken, "broken.zarr") == {}
    unknown = tmp_path / "group.zarr"
    unknown.mkdir()
    (unknown / ".zgroup").write_text('{"zarr_format": 2}')
    assert links(unknown, "group.zarr") == {}


def test_zarr_root() -> None:
    assert zarr_root("a/b.ome.zarr/0/.zattrs") == "a/b.ome.zarr"
    assert zarr_root("b.zarr") == "b.zarr"
    assert zarr_root("plate.ome.zarr/A/1/0/0/0/0") == "plate.ome.zarr"
    assert zarr_root("images/a.tif") is None
