"""`catalogue validate`: every problem at once, each with its file and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from catalogue.cli import main

from .conftest import DEMO, ROOTS, copy_root


@pytest.fixture()
def in_root(monkeypatch: pytest.MonkeyPatch):
    def enter(name: str) -> Path:
        monkeypatch.chdir(ROOTS / name)
        return ROOTS / name

    return enter


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_demo_content_is_clean():
    result = run("validate", "--content", str(DEMO))
    assert result.exit_code == 0, result.output
    assert "0 errors" in result.output


def test_bad_metadata_reports_every_problem_with_its_line(in_root):
    root = in_root("bad-metadata")
    result = run("validate", "--content", "content")
    assert result.exit_code == 1
    expected = (root / "expected-problems.txt").read_text(encoding="utf-8").splitlines()
    got = [line for line in result.output.splitlines() if not line.startswith("validate:")]
    assert got == expected
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "code",
    [
        "E001",
        "E010",
        "E011",
        "E013",
        "E014",
        "E015",
        "E016",
        "E017",
        "E020",
        "E021",
        "E030",
        "E031",
        "E032",
        "E033",
        "E040",
        "E042",
        "E043",
        "E044",
        "E045",
        "E046",
    ],
)
def test_each_kind_of_error_is_covered(code):
    text = (ROOTS / "bad-metadata" / "expected-problems.txt").read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if f": {code} " in ln]
    assert lines, f"no {code} in the expected problems"
    assert all(ln.split(":")[1].isdigit() and int(ln.split(":")[1]) > 0 for ln in lines)


def test_github_annotations(in_root):
    in_root("bad-metadata")
    result = run("validate", "--content", "content", "--format", "github")
    assert result.exit_code == 1
    assert (
        "::error file=content/studies/S-BIAD1/study.yaml,line=8,col=1,title=E011::"
        "E011 unknown field 'keywrds'" in result.output
    )


def test_json_output_is_machine_readable(in_root):
    in_root("bad-metadata")
    result = CliRunner().invoke(main, ["validate", "--content", "content", "--format", "json"])
    data = json.loads(result.stdout)
    assert {"path", "line", "column", "code", "severity", "message"} <= set(data[0])
    assert any(p["code"] == "E015" and p["line"] == 11 for p in data)


def test_warning_for_missing_local_image_and_strict(tmp_path, monkeypatch):
    content = copy_root(tmp_path, "minimal")
    (content / "data" / "S-BIAD1" / "worm.tif").unlink()
    monkeypatch.chdir(tmp_path)
    result = run("validate", "--content", "content")
    assert result.exit_code == 0
    assert "content/studies/S-BIAD1/study.yaml:19:21: W001 representative worm.tif" in result.output
    assert run("validate", "--content", "content", "--strict").exit_code == 1


def test_non_utf8_and_empty_manifest(tmp_path, monkeypatch):
    content = copy_root(tmp_path, "minimal")
    manifest = content / "studies" / "S-BIAD1" / "images.files.tsv"
    manifest.write_bytes(b"path\tsize\nok.tif\t1\nbad-\xff.tif\t2\n")
    monkeypatch.chdir(tmp_path)
    result = run("validate", "--content", "content")
    assert result.exit_code == 1
    assert (
        "content/studies/S-BIAD1/images.files.tsv:3: E048 line is not valid UTF-8" in result.output
    )
    manifest.write_bytes(b"")
    result = run("validate", "--content", "content")
    assert "images.files.tsv:1: E041 manifest is empty" in result.output


def test_duplicate_yaml_key_and_datetime(tmp_path, monkeypatch):
    content = copy_root(tmp_path, "minimal")
    study = content / "studies" / "S-BIAD1" / "study.yaml"
    study.write_text(
        study.read_text()
        .replace("license: CC0-1.0", "license: CC0-1.0\nlicense: CC-BY-4.0")
        .replace("release_date: 2024-02-01", "release_date: 2024-02-01 10:00:00")
    )
    monkeypatch.chdir(tmp_path)
    result = run("validate", "--content", "content")
    assert "study.yaml:6:1: E002 duplicate key 'license'" in result.output
    assert "study.yaml:4:15: E013 release_date" in result.output


def test_missing_content_folder_is_a_message_not_a_traceback(tmp_path):
    result = run("validate", "--content", str(tmp_path / "nope"))
    assert result.exit_code == 1
    assert "content folder not found" in result.output
    assert "Traceback" not in result.output


def test_usage_error_exits_2():
    assert run("build", "--today", "yesterday").exit_code == 2


def test_manifest_summaries_are_cached_by_content(tmp_path, monkeypatch):
    from catalogue.readers import manifest

    monkeypatch.setenv("CATALOGUE_CACHE_DIR", str(tmp_path / "cache"))
    content = copy_root(tmp_path, "bad-metadata")
    monkeypatch.chdir(tmp_path)
    calls: list[str] = []
    real = manifest._summarize

    def counting(path, rel):
        calls.append(rel)
        return real(path, rel)

    monkeypatch.setattr(manifest, "_summarize", counting)
    first = run("validate", "--content", "content").output
    assert calls == ["content/studies/S-BIAD1/images.files.tsv"]
    assert run("validate", "--content", "content").output == first  # same problems, no re-read
    assert len(calls) == 1
    tsv = content / "studies" / "S-BIAD1" / "images.files.tsv"
    tsv.write_text(tsv.read_text().replace("../escape.tif", "fixed.tif"))
    second = run("validate", "--content", "content").output
    assert len(calls) == 2
    assert "'../escape.tif'" in first and "'../escape.tif'" not in second


def test_ledger_that_is_not_utf8_is_a_problem_not_a_traceback(tmp_path, monkeypatch):
    content = copy_root(tmp_path, "minimal")
    with (content / "accessions.tsv").open("ab") as fh:
        fh.write(b"\xff\xfe garbage\n")
    monkeypatch.chdir(tmp_path)
    result = run("validate", "--content", "content")
    assert result.exit_code == 1
    assert "content/accessions.tsv:4: E048 ledger line is not valid UTF-8" in result.output
    result = run("new", "Another study", "--content", "content")
    assert result.exit_code != 0 and "E048" in result.output
    assert "Traceback" not in result.output


def test_withdrawal_dates(tmp_path, monkeypatch):
    content = copy_root(tmp_path, "minimal")
    study = content / "studies" / "S-BIAD1" / "study.yaml"
    text = study.read_text()
    monkeypatch.chdir(tmp_path)
    study.write_text(text + "withdrawn: {date: 2030-01-01, reason: Duplicate.}\n")
    result = run("validate", "--content", "content", "--today", "2026-11-25")
    assert "E071 withdrawn.date 2030-01-01 is after today (2026-11-25)" in result.output
    assert result.exit_code == 1
    study.write_text(text + "withdrawn: {date: 2019-01-01, reason: Duplicate.}\n")
    result = run("validate", "--content", "content", "--today", "2026-11-25")
    assert "W070 withdrawn.date 2019-01-01 is before release_date 2024-02-01" in result.output
    assert result.exit_code == 0


def test_absurd_sizes_are_rejected(tmp_path, monkeypatch):
    content = copy_root(tmp_path, "minimal")
    manifest = content / "studies" / "S-BIAD1" / "images.files.tsv"
    manifest.write_text("path\tsize\nworm.tif\t99999999999999999999999\n")
    monkeypatch.chdir(tmp_path)
    result = run("validate", "--content", "content")
    assert "images.files.tsv:2: E045 size '99999999999999999999999'" in result.output


def test_json_format_lists_the_warnings_of_a_valid_tree():
    result = CliRunner().invoke(main, ["validate", "--content", str(DEMO), "--format", "json"])
    assert result.exit_code == 0
    # the demo's two real records without a licence take the site default, named each
    found = json.loads(result.stdout)
    assert [(p["code"], p["path"]) for p in found] == [
        ("W084", "content/studies/S-BIAD628/study.yaml"),
        ("W084", "content/studies/S-BSST592/study.yaml"),
    ]
    assert all(p["severity"] == "warning" for p in found)


@pytest.mark.parametrize("epoch", ["abc", "1e9", "99999999999999999", "253402300800"])
def test_bad_source_date_epoch_is_a_usage_error(epoch, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch)
    result = run("validate", "--content", str(DEMO))
    assert result.exit_code == 2
    assert "SOURCE_DATE_EPOCH" in result.output and "Traceback" not in result.output


def test_build_never_replaces_content_or_a_strangers_folder(tmp_path):
    content = copy_root(tmp_path, "minimal")
    result = run("build", "--content", str(content), "--out", str(content))
    assert result.exit_code == 2 and "overlaps --content" in result.output
    assert (content / "site.yaml").is_file()
    result = run("build", "--content", str(content / "studies" / ".."), "--out", str(tmp_path))
    assert result.exit_code == 2 and (content / "site.yaml").is_file()
    stranger = tmp_path / "home"
    stranger.mkdir()
    (stranger / "thesis.tex").write_text("years of work")
    result = run("build", "--content", str(content), "--out", str(stranger))
    assert result.exit_code == 2 and "was not written by catalogue build" in result.output
    assert (stranger / "thesis.tex").read_text() == "years of work"
    assert run("build", "--content", str(content), "--base-url", "notaurl").exit_code == 2


def test_links_readers_click_must_be_web_urls(tmp_path, monkeypatch):
    content = copy_root(tmp_path, "minimal")
    study = content / "studies" / "S-BIAD1" / "study.yaml"
    study.write_text(
        study.read_text()
        + "affiliations:\n  a1: {name: X, ror: \"javascript:alert('ror')\"}\n"
        + 'publications:\n  - {title: T, url: "data:text/html,<script>alert(1)</script>"}\n'
    )
    monkeypatch.chdir(tmp_path)
    result = run("validate", "--content", "content")
    assert result.exit_code == 1
    assert "E012 affiliations.a1.ror: \"javascript:alert('ror')\" is not an http(s) URL" in (
        result.output
    )
    assert "E012 publications.0.url:" in result.output


def test_manifest_columns_and_paths_that_would_mislead(tmp_path, monkeypatch):
    content = copy_root(tmp_path, "minimal")
    manifest = content / "studies" / "S-BIAD1" / "images.files.tsv"
    manifest.write_text("path\tsize\turl\nsub/\u202egnp.exe\t1\tx\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = run("validate", "--content", "content")
    assert "images.files.tsv:1: E047 column 'url' is reserved" in result.output
    assert "images.files.tsv:2: E043" in result.output and "bidirectional" in result.output


def test_manifest_linked_from_outside_the_tree_is_refused(tmp_path, monkeypatch):
    content = copy_root(tmp_path, "minimal")
    outside = tmp_path / "outside.tsv"
    outside.write_text("path\tsize\nsecret.tif\t1\n")
    manifest = content / "studies" / "S-BIAD1" / "images.files.tsv"
    manifest.unlink()
    manifest.symlink_to(outside)
    monkeypatch.chdir(tmp_path)
    result = run("validate", "--content", "content")
    assert result.exit_code == 1
    assert "E043 manifest images.files.tsv is a link to a file outside the study's folder" in (
        result.output
    )
