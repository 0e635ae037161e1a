"""Mirroring real records: bulk import of the sample submissions, re-import keeping a
curator's edits, and `build --keep-going` publishing every valid study."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml
from click.testing import CliRunner

from catalogue.cli import main

from .conftest import DEMO

DATA = Path(__file__).resolve().parent / "data"
TODAY = "2026-11-30"


def run(*args: object):
    return CliRunner().invoke(main, [str(a) for a in args])


def mirror_site(tmp_path: Path) -> Path:
    content = tmp_path / "content"
    content.mkdir()
    shutil.copy(DEMO / "site.yaml", content / "site.yaml")  # default_license: CC0-1.0
    return content


def test_a_folder_of_real_submissions_imports_in_one_command_and_builds(tmp_path):
    content = mirror_site(tmp_path)
    lists = sorted((DATA / "filelists" / "S-BIAD1492").glob("*.json"))
    args = [a for p in lists for a in ("--files", p)]
    result = run("import-pagetab", DATA / "pagetab", *args, "-j", "2", "--content", content,
                 "--today", TODAY)  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "accession", "status", "datasets", "files", "changes", "problems", "submission",
    ]  # fmt: skip
    rows = {line.split()[0]: line.split() for line in lines[1:-1]}
    assert len(rows) == 10 and all(r[1] == "new" for r in rows.values())
    assert rows["S-BIAD1492"][3] == "13"  # files of the two real file lists
    assert rows["S-BSST592"][5:8] == ["0", "errors,", "1"]  # the default licence (W084)
    assert lines[-1] == "import-pagetab: 10 submissions: 10 new"
    ledger = (content / "accessions.tsv").read_text().splitlines()
    # written in the order of the files, whatever --jobs: the ledger is deterministic
    order = [p.name.split("_")[0].removesuffix(".json") for p in sorted(DATA.glob("pagetab/*"))]
    assert [r.split("\t")[0] for r in ledger[1:]] == order
    out = tmp_path / "site"
    result = run("build", "--content", content, "--out", out, "--today", TODAY)
    assert result.exit_code == 0, result.output
    page = (out / "studies/S-BIAD1135/index.html").read_text(encoding="utf-8")
    assert 'href="https://doi.org/10.6019/S-BIAD1135"' in page
    assert "https://www.ebi.ac.uk/biostudies/bioimages/studies/S-BIAD1135" in page
    assert "held at BioImage Archive" in page  # its file lists are at the source only
    # importing the same folder again changes nothing
    result = run("import-pagetab", DATA / "pagetab", *args, "--content", content)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "import-pagetab: 10 submissions: 10 unchanged"


def test_reimport_updates_the_record_and_keeps_what_a_curator_edited(tmp_path):
    content = mirror_site(tmp_path)
    sample = DATA / "pagetab" / "S-BIAD1135_original.json"
    assert run("import-pagetab", sample, "--content", content).exit_code == 0
    path = content / "studies/S-BIAD1135/study.yaml"
    study = yaml.safe_load(path.read_text())
    # a curator corrects a publication year and a pasted-twice affiliation
    study["publications"][0]["year"] = 2020
    study["affiliations"]["o2"]["name"] = "Graduate School for Cellular and Biomedical Sciences"
    path.write_text(yaml.safe_dump(study, sort_keys=False, allow_unicode=True))
    # the record changes at the source: a new title, and the same year edited there too
    record = tmp_path / "S-BIAD1135.json"
    text = sample.read_text(encoding="utf-8")
    text = text.replace('"Calcium waves in MDCK epithelium"', '"Calcium waves in MDCK cells"', 1)
    text = text.replace('"value": "2023"', '"value": "2021"', 1)
    record.write_text(text, encoding="utf-8")
    result = run("import-pagetab", record, "--content", content, "--today", TODAY)
    assert result.exit_code == 0, result.output
    after = yaml.safe_load(path.read_text())
    assert after["title"] == "Calcium waves in MDCK cells"  # untouched here: updated
    assert after["publications"][0]["year"] == 2020  # edited here: kept
    assert (
        after["affiliations"]["o2"]["name"]
        == "Graduate School for Cellular and Biomedical Sciences"
    )
    assert "title: 'Calcium waves in MDCK epithelium' → 'Calcium waves in MDCK cells'" in (
        result.output
    )
    assert "publications.0.year: kept 2020 (edited here); the record now says 2021" in result.output
    # the next baseline is the record as imported now
    baseline = yaml.safe_load((path.parent / "import-baseline.yaml").read_text())
    assert baseline["publications"][0]["year"] == 2021


def test_keep_going_publishes_the_valid_studies_and_lists_the_others(tmp_path):
    content = mirror_site(tmp_path)
    for name in ("S-BIAD1135_original", "S-BIAD15_original", "S-BIAD590_original"):
        assert run("import-pagetab", DATA / "pagetab" / f"{name}.json", "--content", content)
    bad = content / "studies/S-BIAD1135/study.yaml"
    bad.write_text(bad.read_text().replace("license: CC-BY-4.0", "license: GPL-3.0-only"))
    out = tmp_path / "site"
    strict = run("build", "--content", content, "--out", out, "--today", TODAY)
    assert strict.exit_code == 1  # pull-request CI stays strict
    assert not (out / "index.html").exists()
    result = run("build", "--keep-going", "--content", content, "--out", out, "--today", TODAY)
    assert result.exit_code == 0, result.output
    assert "build: left out 1 studies with 1 errors (--keep-going)" in result.output
    assert "studies/S-BIAD1135: 1 errors, first: " in result.output and "E0" in result.output
    assert not (out / "studies/S-BIAD1135").exists()
    assert (out / "studies/S-BIAD15/index.html").is_file()
    assert (out / "studies/S-BIAD590/index.html").is_file()
    assert "S-BIAD1135" not in (out / "api/v1/studies.json").read_text()
    # the site setting does the same; --no-keep-going overrides it
    site = content / "site.yaml"
    site.write_text(site.read_text() + "keep_going: true\n")
    assert run("build", "--content", content, "--out", out, "--today", TODAY).exit_code == 0
    result = run("build", "--no-keep-going", "--content", content, "--out", out, "--today", TODAY)
    assert result.exit_code == 1


def test_a_site_doi_pattern_gives_every_study_without_one_its_doi(tmp_path):
    from .conftest import copy_root

    content = copy_root(tmp_path, "minimal")
    site = content / "site.yaml"
    site.write_text(site.read_text() + 'doi_pattern: "10.6019/{accession}"\n')
    out = tmp_path / "site"
    result = run("build", "--content", content, "--out", out, "--today", TODAY)
    assert result.exit_code == 0, result.output
    page = (out / "studies/S-BIAD1/index.html").read_text(encoding="utf-8")
    assert 'href="https://doi.org/10.6019/S-BIAD1"' in page
    site.write_text(site.read_text().replace("{accession}", "x"))
    result = run("validate", "--content", content)
    assert result.exit_code == 1 and "doi_pattern" in result.output


def test_declared_file_counts_show_beside_listed_files_and_in_the_api(tmp_path):
    """A dataset whose files are listed at the source only, with the count and size the
    source declares: the study page and the API give them as declared, apart from the
    files listed here; a study with neither still says its data is held elsewhere."""
    content = mirror_site(tmp_path)
    folder = content / "studies/S-BIAD7"
    folder.mkdir(parents=True)
    (content / "accessions.tsv").write_text("accession\tcreated\tnote\nS-BIAD7\t2024-01-01\t\n")
    (folder / "listed.files.tsv").write_text("path\tsize\na.tif\t100\nb.tif\t300\n")
    (folder / "study.yaml").write_text(
        """format: 1
accession: S-BIAD7
title: Declared and listed files
release_date: 2024-01-01
license: CC0-1.0
description: Two datasets.
authors: [{name: A. Author}]
datasets:
  - {id: listed, title: Listed here, files: listed.files.tsv}
  - id: elsewhere
    title: Listed at the source
    remote_files: {url: "https://www.ebi.ac.uk/biostudies/bioimages/studies/S-BIAD7",
                   where: BioImage Archive, count: 1200, size: 5000000000}
""",
        encoding="utf-8",
    )
    out = tmp_path / "site"
    result = run("build", "--content", content, "--out", out, "--today", TODAY)
    assert result.exit_code == 0, result.output
    page = (out / "studies/S-BIAD7/index.html").read_text(encoding="utf-8")
    facts = page[page.index('<dl class="keyfacts">') :]
    facts = facts[: facts.index("</dl>")]
    assert (
        '2 listed + <span class="declared">1,200 files declared by BioImage Archive</span> '
        "in 2 datasets"
    ) in facts
    assert '400 B + <span class="declared">5.0 GB declared by BioImage Archive</span>' in facts
    assert "1,200 files · 5.0 GB · <span" in page
    assert "as declared by BioImage Archive</span>, not listed here" in page
    (summary,) = json.loads((out / "api/v1/studies.json").read_text())["studies"]
    assert (summary["files"], summary["bytes"]) == (2, 400)
    assert (summary["declared_files"], summary["declared_bytes"]) == (1200, 5_000_000_000)
    assert summary["declared_by"] == ["BioImage Archive"]
