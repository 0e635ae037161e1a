"""The static JSON API matches the JSON Schemas it publishes (checked with jsonschema)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from .conftest import ROOTS, build_site


def validator(site: Path, name: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((site / "api" / "v1" / "schema" / f"{name}.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def schema_for(record: dict) -> str:
    return {"withdrawn": "withdrawn", "moved": "moved"}.get(record.get("status", ""), "study")


@pytest.fixture(scope="module")
def lifecycle_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("lifecycle") / "build"
    build_site(ROOTS / "lifecycle" / "content", out)
    return out


@pytest.mark.parametrize("which", ["demo", "lifecycle"])
def test_every_api_file_matches_its_schema(which: str, demo_site: Path, lifecycle_site: Path):
    site = demo_site if which == "demo" else lifecycle_site
    api = site / "api" / "v1"
    validator(site, "studies").validate(json.loads((api / "studies.json").read_text()))
    validator(site, "index").validate(json.loads((api / "index.json").read_text()))
    validator(site, "stats").validate(json.loads((api / "stats.json").read_text()))
    seen = set()
    for path in sorted((api / "studies").glob("*.json")):  # (pages are in studies/page/)
        record = json.loads(path.read_text())
        name = schema_for(record)
        validator(site, name).validate(record)
        seen.add(name)
    assert "study" in seen
    if which == "lifecycle":
        assert {"withdrawn", "moved"} <= seen


def test_schema_rejects_what_the_contract_excludes(demo_site: Path):
    """The build refuses an e-mail or any undocumented field (closed models); the
    published schemas reject a documented field of the wrong type or a missing one."""
    from catalogue.api_schema import StudyRecord, checked

    record = json.loads((demo_site / "api/v1/studies/S-BIAD1492.json").read_text())
    check = validator(demo_site, "study")
    check.validate(record)
    leaked = json.loads(json.dumps(record))
    leaked["authors"][0]["email"] = "someone@example.org"
    with pytest.raises(ValueError):
        checked(StudyRecord, leaked)
    with pytest.raises(jsonschema.ValidationError):
        check.validate({**record, "authors": "Ada"})
    without = dict(record)
    del without["accession"]
    with pytest.raises(jsonschema.ValidationError):
        check.validate(without)
