"""Hostile EMPIAR and IDR records (issue 17): what the fuzzing of tests/fuzzing.py found,
one test each, so that a defence removed fails here with a readable example."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from catalogue.cli import main

from .conftest import ROOTS, TODAY

MINIMAL = ROOTS / "minimal" / "content"
DATA = Path(__file__).resolve().parent / "data"
API = DATA / "empiar" / "EMPIAR-10934.api.json"
EXPERIMENT = DATA / "idr" / "idr0077-valuchova-flowerlightsheet"


def content_in(tmp_path: Path) -> Path:
    content = tmp_path / "content"
    shutil.copytree(MINIMAL, content)
    with (content / "site.yaml").open("a", encoding="utf-8") as site:
        site.write("default_license: CC0-1.0\n")
    return content


def run(*args: object):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        result.output,
        result.exception,
    )
    assert "Traceback" not in result.output
    return result


def empiar(tmp_path: Path, record: dict) -> tuple[object, Path]:
    content = content_in(tmp_path)
    path = tmp_path / "EMPIAR-10934.json"
    path.write_text(json.dumps(record), encoding="utf-8")
    return run("import-empiar", path, "--content", content, "--today", TODAY), content


def api_record() -> dict:
    return json.loads(API.read_text(encoding="utf-8"))


def test_an_empiar_record_with_nulls_in_its_lists_imports_the_rest(tmp_path):
    record = api_record()
    entry = record["EMPIAR-10934"]
    entry["authors"][1] = None
    entry["principal_investigator"] = "not a list"
    entry["imagesets"].append(7)
    entry["authors"][2]["order_id"] = "first"
    result, content = empiar(tmp_path, record)
    assert result.exit_code == 0, result.output
    study = yaml.safe_load((content / "studies/S-BIAD3/study.yaml").read_text())
    assert len(study["authors"]) == len(api_record()["EMPIAR-10934"]["authors"]) - 1


@pytest.mark.parametrize("size", ["1.2.3 TB", "9" * 400 + " TB", "12 XB"])
def test_an_empiar_size_that_is_no_number_is_left_out(tmp_path, size):
    record = api_record()
    record["EMPIAR-10934"]["dataset_size"] = size
    result, content = empiar(tmp_path, record)
    assert result.exit_code == 0, result.output
    text = (content / "studies/S-BIAD3/study.yaml").read_text()
    assert "size:" not in text.split("datasets:")[1]


def test_half_a_surrogate_pair_in_an_empiar_title_does_not_stop_the_import(tmp_path):
    record = api_record()
    record["EMPIAR-10934"]["title"] = "Pol kappa \ud800 complex"
    result, content = empiar(tmp_path, record)
    assert result.exit_code == 0, result.output
    study = yaml.safe_load((content / "studies/S-BIAD3/study.yaml").read_text())
    assert study["title"] == "Pol kappa ? complex"


def test_a_new_study_is_written_whole_or_not_at_all(tmp_path, monkeypatch):
    """A write failing half-way (a full disk) leaves no study folder with some of its
    files: the folder appears by one rename."""
    from catalogue.maintainers import importing

    content = content_in(tmp_path)
    folder = tmp_path / "idr0077"
    shutil.copytree(EXPERIMENT, folder)
    real = Path.write_bytes
    written: list[str] = []

    def failing(self: Path, data: bytes) -> int:
        if written:  # the manifest went through; the study file does not
            raise OSError(28, "No space left on device")
        written.append(self.name)
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", failing)
    with pytest.raises(OSError):
        from catalogue.importers.idr import import_idr

        importing.store(import_idr(folder, "S-BIAD3"), content, TODAY)
    monkeypatch.undo()
    assert written == ["experiment-a.files.tsv"]
    assert sorted(p.name for p in (content / "studies").iterdir()) == ["S-BIAD1", "S-BIAD2"]


def idr_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "idr0077-valuchova-flowerlightsheet"
    shutil.copytree(EXPERIMENT, folder)
    return folder


def test_an_idr_annotation_field_beyond_the_csv_limit_is_named_with_its_line(tmp_path):
    content = content_in(tmp_path)
    folder = idr_copy(tmp_path)
    table = folder / "experimentA/idr0077-experimentA-annotation.csv"
    lines = table.read_text(encoding="utf-8").splitlines()
    lines.insert(3, "x" * 200_000 + ",y")
    table.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run("import-idr", folder, "--content", content, "--today", TODAY)
    assert result.exit_code == 1
    assert f"{table}:4: E092 annotation table unreadable: field larger than" in result.output
    assert not (content / "studies/S-BIAD3").exists()


def test_an_idr_annotation_table_that_is_not_utf8_is_named(tmp_path):
    content = content_in(tmp_path)
    folder = idr_copy(tmp_path)
    table = folder / "experimentA/idr0077-experimentA-annotation.csv"
    table.write_bytes(table.read_bytes() + b"\xff\xfe,x\n")
    result = run("import-idr", folder, "--content", content, "--today", TODAY)
    assert result.exit_code == 1
    assert f"{table}:1: E048 file is not valid UTF-8" in result.output


@pytest.mark.parametrize(
    "link", ["idr0077-study.txt", "experimentA", "experimentA/idr0077-experimentA-annotation.csv"]
)
def test_an_idr_folder_linking_out_of_itself_is_refused(tmp_path, link):
    """A study folder downloaded from elsewhere could link its annotation table to a file
    of the curator's machine, which the import would copy into a published manifest."""
    content = content_in(tmp_path)
    folder = idr_copy(tmp_path)
    outside = tmp_path / "private"
    target = folder / link
    shutil.move(target, outside)
    target.symlink_to(outside, target_is_directory=outside.is_dir())
    result = run("import-idr", folder, "--content", content, "--today", TODAY)
    assert result.exit_code == 1, result.output
    assert f"{target}: E043 symbolic link out of {folder}; refused" in result.output
    assert not (content / "studies/S-BIAD3").exists()


def test_an_idr_screen_name_ending_in_dotdot_reads_nothing_outside(tmp_path):
    content = content_in(tmp_path)
    folder = idr_copy(tmp_path)
    (tmp_path / "stolen-annotation.csv").write_text("Dataset Name,Image Name\nsecret,x\n")
    study = folder / "idr0077-study.txt"
    text = study.read_text(encoding="utf-8")
    name = "Comment[IDR Experiment Name]\tidr0077-valuchova-flowerlightsheet/experimentA"
    assert name in text
    study.write_text(text.replace(name, name.replace("/experimentA", "/..")), encoding="utf-8")
    result = run("import-idr", folder, "--content", content, "--today", TODAY)
    assert result.exit_code in (0, 1), result.output
    for path in (content / "studies").rglob("*.tsv"):
        assert "secret" not in path.read_text(encoding="utf-8")
