"""`catalogue diff BASE_REF` in a real git repository."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from catalogue.cli import main

from .conftest import ROOTS


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=test@example.org", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def run(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    """A git repository whose main branch holds the minimal content tree (two studies, one
    manifest); the working branch is 'pr'."""
    shutil.copytree(ROOTS / "minimal" / "content", tmp_path / "content")
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "base")
    git(tmp_path, "checkout", "-q", "-b", "pr")
    return tmp_path


def test_nothing_changed(repo: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(repo)
    result = run("diff", "main")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "No change to the site's content since main."


def test_a_pull_request_in_words(repo: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(repo)
    content = repo / "content"
    # a new study, embargoed
    allocated = run("new", "Embargoed study", "--content", content, "--today", "2026-11-30")
    assert allocated.exit_code == 0
    new = content / "studies" / allocated.stdout.strip()
    assert new.name == "S-BIAD3"
    text = (new / "study.yaml").read_text(encoding="utf-8")
    text = text.replace(
        'release_date: "TODO: YYYY-MM-DD, the day the study becomes public (embargo until then)"',
        "release_date: 2030-01-01",
    )
    (new / "study.yaml").write_text(text, encoding="utf-8")
    # an edited study: title, one author added, a manifest with one file more and one less
    old = content / "studies" / "S-BIAD1"
    study = (old / "study.yaml").read_text(encoding="utf-8")
    lines = study.splitlines()
    title = next(line for line in lines if line.startswith("title:"))
    study = study.replace(title, "title: A better title")
    (old / "study.yaml").write_text(study, encoding="utf-8")
    manifest = next(old.glob("*.files.tsv"))
    rows = manifest.read_text(encoding="utf-8").splitlines()
    header, first = rows[0], rows[1]
    cells = first.split("\t")
    added = "\t".join(["extra/new.tif", "2000000", *cells[2:]])
    manifest.write_text("\n".join([header, *rows[2:], added]) + "\n", encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "pr")

    result = run("diff", "main", "--today", "2026-11-30")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Studies added (1):" in out
    assert f"+ {new.name} 'Embargoed study': 0 datasets" in out
    assert "embargoed until 2030-01-01: nothing is published before then" in out
    assert "Studies changed (1):" in out
    assert "~ S-BIAD1 'A better title'" in out
    assert f"title: {title.split(': ', 1)[1]!r} → 'A better title'" in out.replace('"', "'")
    assert "+1 file (+2.0 MB)" in out
    assert "-1 file (-726.0 kB)" in out
    assert "Accessions reserved" not in out


def test_withdrawal_and_deleted_folder(repo: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(repo)
    study = repo / "content" / "studies" / "S-BIAD1" / "study.yaml"
    with study.open("a", encoding="utf-8") as fh:
        fh.write("withdrawn: {date: 2026-11-30, reason: Consent withdrawn}\n")
    result = run("diff", "main")
    assert "Studies withdrawn (1):" in result.stdout
    assert "S-BIAD1: withdrawn on 2026-11-30: 'Consent withdrawn'" in result.stdout
    shutil.rmtree(study.parent)
    result = run("diff", "main")
    assert "Study folders deleted (1):" in result.stdout
    assert "its URL would stop working" in result.stdout


def test_usage_errors(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(repo)
    result = run("diff", "no-such-ref")
    assert result.exit_code == 2
    assert "'no-such-ref' is not a commit, branch or tag" in result.output
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    monkeypatch.chdir(outside)
    result = run("diff", "main", "--content", outside)
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_content_new_since_base(repo: Path, monkeypatch: pytest.MonkeyPatch):
    """A base commit without the content folder: everything is added."""
    monkeypatch.chdir(repo)
    git(repo, "checkout", "-q", "--orphan", "empty")
    git(repo, "rm", "-rq", "--cached", ".")
    git(repo, "commit", "-q", "--allow-empty", "-m", "empty")
    git(repo, "checkout", "-q", "-f", "pr")
    result = run("diff", "empty")
    assert result.exit_code == 0, result.output
    assert "Studies added (2):" in result.stdout
    assert "+ S-BIAD1 'Worm fluorescence in sixteen bits': 1 dataset; 1 file, 726.0 kB" in (
        result.stdout
    )


def test_putting_a_public_study_back_under_embargo_is_a_warning(
    repo: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.chdir(repo)
    study = repo / "content" / "studies" / "S-BIAD1" / "study.yaml"
    study.write_text(study.read_text().replace("2024-02-01", "2027-01-01"))
    result = run("diff", "main", "--today", "2026-11-25")
    assert result.exit_code == 0, result.output
    assert "WARNING: public now, embargoed again until 2027-01-01" in result.stdout
