"""import-empiar on real EMPIAR files: an entry's XML header, its REST API record, and a
deposition JSON valid against EMPIAR's deposition schema (tests/data/empiar, SOURCES.md)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import yaml
from click.testing import CliRunner

from catalogue.cli import main

from .conftest import DEMO, site_files

EMPIAR = Path(__file__).resolve().parent / "data" / "empiar"
TODAY = "2026-11-30"


def run(*args: object):
    return CliRunner().invoke(main, [str(a) for a in args])


def new_content(tmp_path: Path) -> Path:
    content = tmp_path / "content"
    content.mkdir(parents=True)
    (content / "site.yaml").write_text((DEMO / "site.yaml").read_text(encoding="utf-8"))
    return content


def study_of(content: Path, accession: str) -> dict:
    return yaml.safe_load((content / "studies" / accession / "study.yaml").read_text())


def test_the_xml_header_becomes_an_indexed_study_that_builds(tmp_path):
    content = new_content(tmp_path)
    result = run(
        "import-empiar", EMPIAR / "EMPIAR-10934.xml", "--content", content, "--today", TODAY
    )
    assert result.exit_code == 0, result.output
    study = study_of(content, "S-BIAD1")
    assert study["title"].startswith("Cryo-EM multiframe micrographs of human Pol kappa")
    assert study["doi"] == "10.6019/EMPIAR-10934"
    assert str(study["release_date"]) == "2022-02-07"
    assert study["collection"] == "EMPIAR"
    assert study["source"] == {
        "name": "EMPIAR",
        "url": "https://www.ebi.ac.uk/empiar/EMPIAR-10934/",
        "id": "EMPIAR-10934",
    }
    # 13 authors in the entry's order; initials as given names, the contacts' full names
    authors = study["authors"]
    assert len(authors) == 13
    assert authors[1] == {
        "family_name": "Tehseen",
        "given_name": "M",
        "orcid": "0000-0001-9834-2372",
    }
    assert authors[0]["given_name"] == "Claudia" and authors[0]["roles"] == ["corresponding author"]
    assert authors[12]["family_name"] == "De Biasio" and authors[12]["given_name"] == "Alfredo"
    # the double-escaped '&amp;amp;' of the header is one '&'
    assert "Department of Molecular & Cell Biology, University of Leicester" in [
        a["name"] for a in study["affiliations"].values()
    ]
    pub = study["publications"][0]
    assert pub["doi"] == "10.1038/s41467-021-26251-6" and pub["pmid"] == "34667155"
    assert pub["year"] == 2021
    assert {"type": "EMDB", "id": "EMD-12602", "url": "https://www.ebi.ac.uk/emdb/EMD-12602"} in (
        study["links"]
    )
    (dataset,) = study["datasets"]
    assert dataset["remote_files"] == {
        "url": "https://www.ebi.ac.uk/empiar/EMPIAR-10934/",
        "where": "EMPIAR",
        "count": 3889,
        "count_of": "images",
        "size": 1_900_000_000_000,
        "formats": ["TIFF"],
    }
    assert "45 frames each" in dataset["description"]
    assert "pixel size 0.543 Å" in dataset["description"]
    out = tmp_path / "site"
    result = run("build", "--content", content, "--out", out, "--today", TODAY)
    assert result.exit_code == 0, result.output
    page = (out / "studies" / "S-BIAD1" / "index.html").read_text(encoding="utf-8")
    assert 'href="https://doi.org/10.6019/EMPIAR-10934"' in page
    assert 'class="study-source" href="https://www.ebi.ac.uk/empiar/EMPIAR-10934/"' in page
    assert "3,889 images" in page and "held at EMPIAR" in page
    assert "no preview" not in page
    record = json.loads((out / "api/v1/studies/S-BIAD1.json").read_text())
    assert record["doi"] == "10.6019/EMPIAR-10934"
    assert record["source"]["id"] == "EMPIAR-10934"
    assert record["authors"][1]["family_name"] == "Tehseen"
    assert record["datasets"][0]["remote_files"]["count"] == 3889
    # the study's key facts give what EMPIAR declares, marked as declared (nothing is
    # listed here), and so does its summary in the API
    facts = page[page.index('<dl class="keyfacts">') :]
    facts = facts[: facts.index("</dl>")]
    assert "3,889 images declared by EMPIAR</span> in 1 dataset" in facts
    assert "1.9 TB, declared by EMPIAR" in facts and "held elsewhere" not in facts
    assert ">0 in 1 dataset" not in facts
    assert "as declared by EMPIAR</span>, not listed here; held at EMPIAR" in page
    (summary,) = json.loads((out / "api/v1/studies.json").read_text())["studies"]
    assert (summary["files"], summary["bytes"]) == (0, 0)  # nothing listed here
    assert summary["declared_bytes"] == 1_900_000_000_000
    assert summary["declared_files"] is None  # EMPIAR counts images, not files
    assert summary["declared_by"] == ["EMPIAR"]


def test_the_api_record_gives_the_same_study_and_updates_it(tmp_path):
    content = new_content(tmp_path)
    assert run("import-empiar", EMPIAR / "EMPIAR-10934.xml", "--content", content).exit_code == 0
    from_xml = study_of(content, "S-BIAD1")
    result = run("import-empiar", EMPIAR / "EMPIAR-10934.api.json", "--content", content)
    assert result.exit_code == 0, result.output
    assert "re-imported" in result.output and "as S-BIAD1" in result.output  # same study
    from_api = study_of(content, "S-BIAD1")
    from_xml.pop("extra"), from_api.pop("extra")  # which form it was read from
    assert from_api == from_xml
    assert not (content / "studies" / "S-BIAD2").exists()


def entry_schema() -> dict:
    """The Entry of EMPIAR's own OpenAPI description of its REST API (emdb-empiar/
    empiar_basic), as a JSON Schema. One correction: AuthorEditor.author_orcid refers to
    AuthorDetailed (an object), where every other ORCID in it is a string (AuthorOrcid)."""
    spec = json.loads((EMPIAR / "empiar-api.openapi.json").read_text(encoding="utf-8"))
    definitions = spec["definitions"]
    definitions["AuthorEditor"]["properties"]["author_orcid"] = {
        "$ref": "#/definitions/AuthorOrcid"
    }
    return {"$ref": "#/definitions/Entry", "definitions": definitions}


def without_nulls(value):
    """Swagger 2.0 cannot say 'nullable': the API's nulls (an author without ORCID) are
    left out before validating."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


def test_the_api_record_has_the_shapes_empiar_publishes_and_both_person_forms_import(tmp_path):
    """The API record is checked against EMPIAR's published description of the REST API
    (widths and years are strings there, people wrapped in {"author": ...}); the flat form
    a deposition uses for the same people gives the same study, and an e-mail address the
    API carries for a corresponding author appears in no output."""
    record = json.loads((EMPIAR / "EMPIAR-10934.api.json").read_text(encoding="utf-8"))
    (entry,) = record.values()
    jsonschema.validate(without_nulls(entry), entry_schema())
    assert isinstance(entry["imagesets"][0]["image_width"], str)
    wrong = json.loads(json.dumps(entry))
    wrong["imagesets"][0]["num_images_or_tilt_series"] = "many"
    try:
        jsonschema.validate(without_nulls(wrong), entry_schema())
        raise AssertionError("the schema accepted a text count")
    except jsonschema.ValidationError:
        pass
    email = "claudia.lancey.empiar@example.org"
    entry["corresponding_author"]["author"]["email"] = email
    wrapped = tmp_path / "wrapped.json"
    wrapped.write_text(json.dumps(record), encoding="utf-8")
    flat_entry = json.loads(json.dumps(entry))
    flat_entry["corresponding_author"] = flat_entry["corresponding_author"]["author"]
    flat_entry["principal_investigator"] = [
        p["author"] for p in flat_entry["principal_investigator"]
    ]
    flat = tmp_path / "flat.json"
    flat.write_text(json.dumps({"EMPIAR-10934": flat_entry}), encoding="utf-8")
    studies = []
    for source in (wrapped, flat):
        content = new_content(tmp_path / source.stem)
        result = run("import-empiar", source, "--content", content)
        assert result.exit_code == 0, result.output
        studies.append(study_of(content, "S-BIAD1"))
        out = tmp_path / source.stem / "site"
        built = run("build", "--content", content, "--out", out, "--today", TODAY)
        assert built.exit_code == 0, built.output
        for path in content.rglob("*"):
            if path.is_file():
                assert email.encode() not in path.read_bytes(), path
        for path, data in site_files(out):
            assert email.encode() not in data, path
    assert studies[0] == studies[1]
    lancey = studies[0]["authors"][0]
    assert lancey["given_name"] == "Claudia" and "corresponding author" in lancey["roles"]
    pis = [a for a in studies[0]["authors"] if "principal investigator" in a.get("roles", [])]
    assert {a["family_name"] for a in pis} == {"De Biasio", "Hamdan"}
    (dataset,) = studies[0]["datasets"]
    assert "11520" in dataset["description"]  # the width, given as text


def test_a_deposition_valid_against_the_schema_is_read(tmp_path):
    deposition = json.loads((EMPIAR / "deposition-working_example.json").read_text())
    schema = json.loads((EMPIAR / "empiar_deposition.schema.json").read_text())
    jsonschema.validate(deposition, schema)  # the file is what EMPIAR accepts
    content = new_content(tmp_path)
    result = run("import-empiar", EMPIAR / "deposition-working_example.json", "--content", content)
    assert result.exit_code == 1  # a deposition has no EMPIAR accession yet
    assert "no EMPIAR accession in the file" in result.output
    result = run(
        "import-empiar", EMPIAR / "deposition-working_example.json", "--empiar-id",
        "EMPIAR-10000", "--content", content,
    )  # fmt: skip
    study = study_of(content, "S-BIAD1")
    assert study["authors"][0] == {"family_name": "Smith", "given_name": "John William",
                                   "orcid": "0000-0002-1825-0097",
                                   "affiliations": ["division-of-biology-california"],
                                   "roles": ["corresponding author"]}  # fmt: skip
    assert study["authors"][1] == {"family_name": "Test", "given_name": "T"}
    (dataset,) = study["datasets"]
    assert "Category: tilt series." in dataset["description"]  # the code ('T9', '') decoded
    assert dataset["remote_files"]["count"] == 16
    assert dataset["remote_files"]["count_of"] == "tilt series"
    assert dataset["remote_files"]["formats"] == ["MRC"]
    assert "UNSIGNED 32 BIT INTEGER".lower() in dataset["description"]
    assert {"type": "EMDB", "id": "EMD-8000", "url": "https://www.ebi.ac.uk/emdb/EMD-8000"} in (
        study["links"]
    )
    # released "RE" (after processing): no date until EMPIAR releases it
    assert "E080 release_date: fill in this placeholder" in result.output
    assert result.exit_code == 1


def test_bad_files_are_reported_not_raised(tmp_path):
    content = new_content(tmp_path)
    bad = tmp_path / "bad.xml"
    bad.write_text("<entry><admin>", encoding="utf-8")
    result = run("import-empiar", bad, "--content", content)
    assert result.exit_code == 1
    assert f"{bad}:1: E090 XML syntax error" in result.output
    other = tmp_path / "other.json"
    other.write_text('{"hello": 1}', encoding="utf-8")
    result = run("import-empiar", other, "--content", content)
    assert result.exit_code == 1 and "E091 not an EMPIAR entry" in result.output
    assert "Traceback" not in result.output


def test_an_indexed_entry_survives_export_and_import(tmp_path):
    first = new_content(tmp_path / "a")
    assert run("import-empiar", EMPIAR / "EMPIAR-10934.xml", "--content", first).exit_code == 0
    out = tmp_path / "S-BIAD1.json"
    result = run("export-pagetab", "S-BIAD1", "--content", first, "-o", out)
    assert result.exit_code == 0, result.output
    second = new_content(tmp_path / "b")
    result = run("import-pagetab", out, "--content", second)
    assert result.exit_code == 0, result.output
    assert study_of(second, "S-BIAD1") == study_of(first, "S-BIAD1")
