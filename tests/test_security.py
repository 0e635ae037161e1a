"""One test per class of fault a hostile trial found (issue 17), each failing without its
defence: version history leaking an embargoed study, tracebacks instead of `path:line`
problems, symlinks out of the content tree, hostile paths, base URLs and DOIs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from catalogue.cli import main

from .conftest import ROOTS, build_site, site_files
from .test_lifecycle import commit, git

MINIMAL = ROOTS / "minimal" / "content"


def validate(content: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["validate", "--content", str(content)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.output


def with_dataset(study: str, dataset: str, manifest: str) -> str:
    return study.rstrip("\n") + (
        f"\ndatasets:\n  - id: {dataset}\n    title: Raw\n    files: {manifest}\n"
    )


# --- 1. version history must not name an embargoed study -------------------------------


def test_a_file_moved_out_of_an_embargoed_study_brings_no_history(tmp_path: Path):
    """`git mv` of a manifest from the embargoed S-BIAD2 into the public S-BIAD1: the public
    study's page and record show the file as added, never S-BIAD2's path, nor the commits
    that touched only S-BIAD2."""
    repo = tmp_path / "repo"
    content = repo / "content"
    shutil.copytree(MINIMAL, content)
    public = (content / "studies/S-BIAD1/study.yaml").read_text()
    secret = (content / "studies/S-BIAD2/study.yaml").read_text()
    git(repo, "init", "-q", "-b", "main")
    shutil.rmtree(content / "studies/S-BIAD2")
    commit(repo, "Add S-BIAD1", "2024-01-05")
    s2 = content / "studies/S-BIAD2"
    s2.mkdir()
    (s2 / "study.yaml").write_text(with_dataset(secret, "raw", "raw.files.tsv"))
    (s2 / "raw.files.tsv").write_text("path\tsize\nraw_01.tif\t10\n")
    only_secret = [commit(repo, "Add the zanzibarite study", "2024-02-01")]
    (s2 / "raw.files.tsv").write_text("path\tsize\nraw_01.tif\t12\n")
    only_secret.append(commit(repo, "Correct sizes", "2024-03-01"))
    git(repo, "mv", "content/studies/S-BIAD2/raw.files.tsv", "content/studies/S-BIAD1/")
    (s2 / "study.yaml").write_text(secret)
    (content / "studies/S-BIAD1/study.yaml").write_text(
        public.rstrip("\n") + "\n  - id: raw\n    title: Raw\n    files: raw.files.tsv\n"
    )
    moved = commit(repo, "Move the raw files", "2024-04-01")
    out = tmp_path / "build"
    build_site(content, out)
    record = json.loads((out / "api/v1/studies/S-BIAD1.json").read_text())
    first = record["versions"][0]
    assert first["commit"] == moved
    assert {"status": "added", "path": "raw.files.tsv"} in first["changes"]
    assert first["subject"] == ""  # the commit also changed the embargoed study
    shown = [v["commit"] for v in record["versions"]]
    assert not set(only_secret) & set(shown)
    leaks = [b"S-BIAD2", b"s-biad2", b"zanzibarite", *(c.encode() for c in only_secret)]
    leaks += [c[:12].encode() for c in only_secret]
    for path, data in site_files(out):
        for word in leaks:
            assert word not in data, (path, word)


def test_a_file_moved_into_an_embargoed_study_is_gone_from_the_public_one(tmp_path: Path):
    repo = tmp_path / "repo"
    content = repo / "content"
    shutil.copytree(MINIMAL, content)
    git(repo, "init", "-q", "-b", "main")
    commit(repo, "Add both", "2024-01-05")
    secret = (content / "studies/S-BIAD2/study.yaml").read_text()
    public = (content / "studies/S-BIAD1/study.yaml").read_text()
    git(repo, "mv", "content/studies/S-BIAD1/images.files.tsv", "content/studies/S-BIAD2/")
    (content / "studies/S-BIAD2/study.yaml").write_text(
        with_dataset(secret, "images", "images.files.tsv")
    )
    (content / "studies/S-BIAD1/study.yaml").write_text(
        public.split("datasets:")[0] + "datasets:\n  - id: none\n    title: Nothing yet\n"
    )
    moved = commit(repo, "Move the images to S-BIAD2", "2024-04-01")
    out = tmp_path / "build"
    build_site(content, out)
    record = json.loads((out / "api/v1/studies/S-BIAD1.json").read_text())
    assert record["versions"][0]["commit"] == moved
    assert {"status": "deleted", "path": "images.files.tsv"} in record["versions"][0]["changes"]
    for path, data in site_files(out):
        assert b"S-BIAD2" not in data, path


# --- 2. bad input is a `path:line` problem, never a traceback ---------------------------


@pytest.mark.parametrize(
    ("where", "text", "expected"),
    [
        ("studies/S-BIAD1/study.yaml", "key: &a [*a]\n", "recursive alias"),
        ("site.yaml", "key: &a [*a]\n", "recursive alias"),
        ("site.yaml", "key: &a {<<: *a}\n", ""),  # a merge of itself: nothing to merge
        ("studies/S-BIAD1/study.yaml", 'note: "a\x00b"\n', "control character U+0000"),
        ("studies/S-BIAD1/study.yaml", "note: a\x07b\n", "control character U+0007"),
        ("site.yaml", "note: \x1b[31mred\n", "control character U+001B"),
        ("site.yaml", "deep: " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply"),
    ],
)
def test_hostile_yaml_is_a_problem_with_a_line(
    tmp_path: Path, where: str, text: str, expected: str
):
    content = tmp_path / "content"
    shutil.copytree(MINIMAL, content)
    path = content / where
    lines = len(path.read_text().splitlines())
    path.write_text(path.read_text() + text)
    code, output = validate(content)
    if not expected:
        assert "Traceback" not in output
        return
    assert code == 1, output
    assert f"content/{where}:" in output, output
    line = next(x for x in output.splitlines() if expected in x)
    if "nested" not in expected:
        assert f"{where}:{lines + 1}:" in line, line


def test_aliases_that_expand_beyond_reason_are_refused(tmp_path: Path, monkeypatch):
    from catalogue.readers import yamlmarks

    monkeypatch.setattr(yamlmarks, "MAX_VALUES", 10_000)
    laughs = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i, name in enumerate("bcdef"):
        prev = "abcdef"[i]
        laughs.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 10) + "]")
    content = tmp_path / "content"
    shutil.copytree(MINIMAL, content)
    (content / "site.yaml").write_text(
        (content / "site.yaml").read_text() + "\n".join(laughs) + "\n"
    )
    code, output = validate(content)
    assert code == 1
    assert "YAML aliases expand to more than 10,000 values" in output


def test_a_manifest_without_a_path_column_is_a_problem(tmp_path: Path):
    content = tmp_path / "content"
    shutil.copytree(MINIMAL, content)
    manifest = content / "studies/S-BIAD1/images.files.tsv"
    manifest.write_text(manifest.read_text().replace("path\t", "name\t", 1))
    code, output = validate(content)
    assert code == 1
    assert (
        "content/studies/S-BIAD1/images.files.tsv:1: E041 header lacks the required column 'path'"
        in output
    )


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda a: a.update(valqual=[["TermId", "NCBITaxon_9606"]]), ".valqual[0]"),
        (lambda a: a.update(valqual={"name": "TermId"}), ".valqual"),
        (lambda a: a.update(valqual="NCBITaxon_9606"), ".valqual"),
        (lambda a: a.update(value={"name": "Homo sapiens"}), ".value"),
    ],
)
def test_a_malformed_organism_in_pagetab_is_a_problem(tmp_path: Path, change, where: str):
    sample = ROOTS.parent / "data/pagetab/S-BIAD1043_original.json"
    data = json.loads(sample.read_text())
    found = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("name") == "Organism":
                found.append(node)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(data)
    assert found
    change(found[0])
    study = tmp_path / "study.json"
    study.write_text(json.dumps(data))
    content = tmp_path / "content"
    shutil.copytree(MINIMAL, content)
    result = CliRunner().invoke(
        main, ["import-pagetab", str(study), "--content", str(content), "--accession", "new"]
    )
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert f"{study}:1: E091 not a PageTab submission: section." in result.output
    assert where in result.output, result.output
