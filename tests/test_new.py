"""`catalogue new`: the next accession, never reused, a skeleton that validate walks through."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from catalogue.cli import main
from catalogue.maintainers.accessions import next_accession
from catalogue.readers.tree import load

from .conftest import DEMO, ROOTS, copy_root

TODAY = "2026-11-30"


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def codes(content: Path) -> list[tuple[str, str]]:
    """(code, path inside the content tree) of every problem."""
    _, found = load(content, dt.date(2026, 11, 30))
    return [(p.code, p.path.removeprefix(f"{content.name}/")) for p in found]


@pytest.fixture()
def demo(tmp_path: Path) -> Path:
    content = tmp_path / "content"
    shutil.copytree(DEMO, content, ignore=shutil.ignore_patterns("data"))
    return content


def test_new_allocates_after_the_highest_ever_used_and_validate_names_the_todos(demo: Path):
    # a reserved accession (ledger row, no folder) above every study: its number is taken
    with (demo / "accessions.tsv").open("a", encoding="utf-8") as fh:
        fh.write("S-BIAD9100\t2026-11-25\treserved\n")
    result = run("new", "Zebrafish heart regeneration", "--content", str(demo), "--today", TODAY)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "S-BIAD9101"
    ledger = (demo / "accessions.tsv").read_text(encoding="utf-8").splitlines()
    assert ledger[-1] == "S-BIAD9101\t2026-11-30\tnew: Zebrafish heart regeneration"
    study = yaml.safe_load((demo / "studies/S-BIAD9101/study.yaml").read_text(encoding="utf-8"))
    assert study["accession"] == "S-BIAD9101"
    assert study["title"] == "Zebrafish heart regeneration"
    # the command itself tells what to fill in, as validate would
    assert "E080 release_date: fill in this placeholder" in result.output
    result = run("validate", "--content", str(demo), "--today", TODAY)
    assert result.exit_code == 1
    lines = [ln for ln in result.output.splitlines() if "S-BIAD9101" in ln]
    assert [ln.split(": ", 2)[1].split()[0] for ln in lines] == ["E080"] * 4
    assert [ln.split(" ")[2].rstrip(":") for ln in lines] == [
        "release_date",
        "license",
        "description",
        "authors.0.name",
    ]
    assert all(ln.startswith("content/studies/S-BIAD9101/study.yaml:") for ln in lines)


def test_filled_skeleton_validates(demo: Path):
    result = run("new", "A title", "--content", str(demo), "--today", TODAY)
    assert result.exit_code == 0
    path = demo / "studies" / result.stdout.strip() / "study.yaml"
    text = path.read_text(encoding="utf-8")
    for field, value in {
        "release_date": "2027-01-01",
        "license": "CC-BY-4.0",
        "description": "Nuclei of HeLa cells.",
        "  - name": "Ada Example",
    }.items():
        start = text.index(f"{field}: ")
        end = text.index("\n", start)
        text = text[:start] + f"{field}: {value}" + text[end:]
    path.write_text(text, encoding="utf-8")
    result = run("validate", "--content", str(demo), "--today", TODAY)
    assert result.exit_code == 0, result.output


def test_an_accession_is_never_reused_after_withdrawal(tmp_path: Path):
    content = copy_root(tmp_path, "minimal")
    first = run("new", "First", "--content", str(content), "--today", TODAY).stdout.strip()
    folder = content / "studies" / first
    # the study is withdrawn and its folder even removed by mistake: the ledger remembers
    shutil.rmtree(folder)
    second = run("new", "Second", "--content", str(content), "--today", TODAY).stdout.strip()
    assert second != first
    assert next_accession("S-BIAD", [first]) == second


def test_next_accession_rules():
    assert next_accession("S-BIAD", []) == "S-BIAD1"
    assert next_accession("S-BIAD", ["S-BIAD9", "S-BIAD10", "S-BSST999"]) == "S-BIAD11"
    assert next_accession("S-JCBD-", ["S-JCBD-0001", "S-JCBD-0041"]) == "S-JCBD-0042"
    # a folder without its ledger row still blocks its number
    assert next_accession("S-BIAD", ["S-BIAD2", "S-BIAD7"]) == "S-BIAD8"


def test_new_archive_gets_a_ledger(tmp_path: Path):
    content = tmp_path / "content"
    content.mkdir()
    shutil.copy(ROOTS / "minimal" / "content" / "site.yaml", content / "site.yaml")
    result = run("new", "First study", "--content", str(content), "--today", TODAY)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "S-BIAD1"
    assert (content / "accessions.tsv").read_text(encoding="utf-8").splitlines() == [
        "accession\tcreated\tnote",
        "S-BIAD1\t2026-11-30\tnew: First study",
    ]


def test_two_branches_allocating_the_same_accession_are_caught(tmp_path: Path):
    """Two maintainers run `catalogue new` on two branches of the same main."""
    base = tmp_path / "main"
    shutil.copytree(ROOTS / "minimal" / "content", base)
    branch_a, branch_b = tmp_path / "a", tmp_path / "b"
    shutil.copytree(base, branch_a)
    shutil.copytree(base, branch_b)
    acc_a = run("new", "Study A", "--content", str(branch_a), "--today", TODAY).stdout.strip()
    acc_b = run("new", "Study B", "--content", str(branch_b), "--today", TODAY).stdout.strip()
    assert acc_a == acc_b  # nothing local can prevent it
    row_b = (branch_b / "accessions.tsv").read_text(encoding="utf-8").splitlines()[-1]

    # Merge 1: the ledger merged line-wise (as `merge=union` does), the folder taken from A.
    merged = tmp_path / "merged1"
    shutil.copytree(branch_a, merged)
    with (merged / "accessions.tsv").open("a", encoding="utf-8") as fh:
        fh.write(row_b + "\n")
    found = codes(merged)
    assert ("E032", "accessions.tsv") in found
    result = run("validate", "--content", str(merged), "--today", TODAY)
    assert result.exit_code == 1
    assert f"E032 accession {acc_a} appears twice in the ledger" in result.output

    # Merge 2: B's folder moved aside to make room, its study.yaml unchanged.
    merged = tmp_path / "merged2"
    shutil.copytree(branch_a, merged)
    with (merged / "accessions.tsv").open("a", encoding="utf-8") as fh:
        fh.write(row_b + "\n")
    shutil.copytree(branch_b / "studies" / acc_b, merged / "studies" / "S-BIAD99")
    found = {code for code, _ in codes(merged)}
    assert {"E030", "E032", "E033"} <= found

    # Merge 3: B renamed folder and ledger row but not the accession inside study.yaml.
    merged = tmp_path / "merged3"
    shutil.copytree(branch_a, merged)
    with (merged / "accessions.tsv").open("a", encoding="utf-8") as fh:
        fh.write(row_b.replace(acc_b, "S-BIAD99") + "\n")
    shutil.copytree(branch_b / "studies" / acc_b, merged / "studies" / "S-BIAD99")
    found = {code for code, _ in codes(merged)}
    assert {"E030", "E033"} <= found


def test_usage_errors(tmp_path: Path, demo: Path):
    result = run("new", "x", "--content", str(demo), "--collection", "nope")
    assert result.exit_code == 2
    assert "'nope' is not a collection of site.yaml" in result.output
    result = run("new", "x", "--content", str(tmp_path / "missing"))
    assert result.exit_code == 2
    assert "site.yaml not found" in result.output
    (demo / "accessions.tsv").write_text("acc\tdate\n", encoding="utf-8")
    result = run("new", "x", "--content", str(demo))
    assert result.exit_code == 1
    assert f"{demo}/accessions.tsv:1: E032 ledger header must be" in result.output
    assert "Traceback" not in result.output
