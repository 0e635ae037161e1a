"""import-idr on real IDR study folders (trimmed copies in tests/data/idr, SOURCES.md): a
screen study (idr0094: plates, wells, compounds) and an experiment study (idr0077)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml
from click.testing import CliRunner

from catalogue.cli import main
from catalogue.readers.manifest import iter_rows

from .conftest import DEMO

IDR = Path(__file__).resolve().parent / "data" / "idr"
SCREEN = IDR / "idr0094-ellinger-sarscov2"
EXPERIMENT = IDR / "idr0077-valuchova-flowerlightsheet"
TODAY = "2026-11-30"


def run(*args: object):
    return CliRunner().invoke(main, [str(a) for a in args])


def new_content(tmp_path: Path) -> Path:
    content = tmp_path / "content"
    content.mkdir()
    shutil.copy(DEMO / "site.yaml", content / "site.yaml")
    return content


def test_a_screen_folder_becomes_one_study_with_a_dataset_per_screen(tmp_path):
    content = new_content(tmp_path)
    result = run("import-idr", SCREEN, EXPERIMENT, "--content", content, "--today", TODAY)
    assert result.exit_code == 0, result.output
    assert "import-idr: 2 record(s): 2 stored, 0 failed" in result.output
    study = yaml.safe_load((content / "studies/S-BIAD1/study.yaml").read_text())
    assert study["title"] == "SARS-COV-2 drug repurposing - Caco2 cell line"
    assert study["doi"] == "10.17867/10000148"  # the study's data DOI
    assert study["license"] == "CC0-1.0" and study["collection"] == "IDR"
    assert study["source"]["id"] == "idr0094"
    organisms = study["biosamples"]["organisms"]["organism"]
    assert [o["ncbi_taxon"] for o in organisms] == [9606, 2697049]
    methods = study["image_acquisitions"]["screen-a"]["imaging_method"]
    assert [m["fbbi"] for m in methods] == ["FBbi:00000253", "FBbi:00000247"]
    assert study["authors"][0] == {
        "family_name": "Ellinger", "given_name": "Bernhard", "orcid": "0000-0001-5703-3901",
        "roles": ["submitter"],
    }  # fmt: skip
    assert study["authors"][1] == {"family_name": "Bojkova", "given_name": "D"}
    pub = study["publications"][0]
    assert pub["doi"] == "10.1038/s41597-021-00848-4" and pub["pmid"] == "33637768"
    assert [d["id"] for d in study["datasets"]] == ["screen-a", "screen-b"]
    a, b = study["datasets"]
    assert a["remote_files"]["count"] == 64 and a["remote_files"]["count_of"] == "plates"
    assert "files" not in b  # screen B's annotation table is not in the folder
    header, rows = None, list(iter_rows(content / "studies/S-BIAD1/screen-a.files.tsv"))
    header = (content / "studies/S-BIAD1/screen-a.files.tsv").read_text().splitlines()[0]
    columns = header.split("\t")
    for column in ("Plate", "Well", "Compound Name", "Compound SMILES", "Control Type"):
        assert column in columns
    assert not any(c.startswith("Term Source") for c in columns)
    assert len(rows) == 192
    # the experiment study: one dataset, rows per image, file count from filePaths.tsv
    other = yaml.safe_load((content / "studies/S-BIAD2/study.yaml").read_text())
    assert other["source"]["id"] == "idr0077" and other["license"] == "CC-BY-4.0"
    (ds,) = other["datasets"]
    assert ds["id"] == "experiment-a" and ds["remote_files"]["count_of"] == "files"
    assert ds["remote_files"]["formats"] == ["czi"]
    assert other["image_acquisitions"]["experiment-a"]["imaging_method"][0]["fbbi"] == (
        "FBbi:00000369"
    )
    out = tmp_path / "site"
    result = run("build", "--content", content, "--out", out, "--today", TODAY)
    assert result.exit_code == 0, result.output
    page = (out / "studies/S-BIAD1/index.html").read_text(encoding="utf-8")
    assert 'href="https://doi.org/10.17867/10000148"' in page
    assert "64 plates" in page and "102 plates" in page and "held at IDR" in page
    record = json.loads((out / "api/v1/studies/S-BIAD1.json").read_text())
    assert record["datasets"][0]["file_count"] == 192
    assert "Compound Name" in record["datasets"][0]["columns"]
    # importing the folder again updates the same study
    result = run("import-idr", SCREEN, "--content", content, "--today", TODAY)
    assert result.exit_code == 0, result.output
    assert "re-imported" in result.output and "as S-BIAD1" in result.output
    assert "No change on the site" in result.output
    assert not (content / "studies/S-BIAD3").exists()


def test_a_folder_without_a_study_file_is_reported(tmp_path):
    content = new_content(tmp_path)
    result = run("import-idr", SCREEN / "screenA", "--content", content)
    assert result.exit_code == 1
    assert "E040 no idrNNNN-study.txt in the folder" in result.output
    assert "Traceback" not in result.output
