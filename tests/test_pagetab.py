"""PageTab import and export on every real sample submission in tests/data/pagetab."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from catalogue.cli import main
from catalogue.pagetab.vocabulary import normalise_license
from catalogue.readers.manifest import iter_rows

from .conftest import DEMO, samples_dir

SAMPLES = Path(__file__).resolve().parent / "data"
PAGETAB = sorted((SAMPLES / "pagetab").glob("*.json"))
FILELISTS = SAMPLES / "filelists"
TODAY = "2026-11-30"
SITE = """\
format: 1
title: Import test archive
base_url: http://localhost:8000
data_url: https://data.example.org/pub
licenses: [CC0-1.0, CC-BY-4.0, CC-BY-3.0]
default_license: CC0-1.0
collections:
  direct: {title: Direct submissions}
  IDR: {title: Image Data Resource}
"""

# What `validate` says after each import: every sample validates unedited; the two
# submissions without a licence take the site's default_license, with a warning naming them.
WARNINGS_AFTER_IMPORT = {
    "S-BSST592": ["W084 S-BSST592"],
    "S-BIAD628": ["W084 S-BIAD628"],
}


def test_samples_are_there():
    samples_dir()  # fails, never skips, when tests/data is missing
    assert len(PAGETAB) == 10, PAGETAB


def run(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


def new_content(root: Path) -> Path:
    content = root / "content"
    content.mkdir(parents=True)
    (content / "site.yaml").write_text(SITE, encoding="utf-8")
    return content


def file_lists_for(sample: Path) -> list[str]:
    accession = json.loads(sample.read_text(encoding="utf-8"))["accno"]
    folder = FILELISTS / accession
    args: list[str] = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        args += ["--files", str(path)]
    return args


def import_sample(sample: Path, content: Path, *extra: str):
    return run(
        "import-pagetab",
        sample,
        *file_lists_for(sample),
        *extra,
        "--content",
        content,
        "--today",
        TODAY,
    )


def study_files(folder: Path) -> dict[str, object]:
    """study.yaml as data and every manifest as text: what must survive a round trip."""
    out: dict[str, object] = {"study.yaml": yaml.safe_load((folder / "study.yaml").read_text())}
    for manifest in sorted(folder.glob("*.files.tsv")):
        out[manifest.name] = manifest.read_text(encoding="utf-8")
    return out


@pytest.mark.parametrize("sample", PAGETAB, ids=[p.stem for p in PAGETAB])
def test_every_sample_imports_and_validates_or_says_what_is_missing(sample: Path, tmp_path):
    content = new_content(tmp_path)
    result = import_sample(sample, content)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    accession = json.loads(sample.read_text(encoding="utf-8"))["accno"]
    assert (content / "studies" / accession / "study.yaml").is_file()
    ledger = (content / "accessions.tsv").read_text(encoding="utf-8").splitlines()
    assert ledger[1].startswith(f"{accession}\t{TODAY}\timported from {sample.name}")
    result = run("validate", "--content", content, "--today", TODAY)
    problems = [
        " ".join(line.split(": ", 1)[1].split()[:2])
        for line in result.output.splitlines()
        if ": E" in line or ": W" in line
    ]
    expected = WARNINGS_AFTER_IMPORT.get(accession, [])
    assert problems == expected, result.output
    assert result.exit_code == 0


def test_without_a_site_default_a_missing_licence_is_a_placeholder(tmp_path):
    content = new_content(tmp_path)
    site = content / "site.yaml"
    site.write_text(site.read_text().replace("default_license: CC0-1.0\n", ""))
    result = import_sample(SAMPLES / "pagetab" / "S-BIAD628_original.json", content)
    assert result.exit_code == 0, result.output
    assert "a human must fix or fill in" in result.output
    assert "E080 license: fill in this placeholder" in result.output


@pytest.mark.parametrize("sample", PAGETAB, ids=[p.stem for p in PAGETAB])
def test_import_export_import_gives_an_equal_study(sample: Path, tmp_path):
    first = new_content(tmp_path / "first")
    assert import_sample(sample, first).exit_code == 0
    accession = json.loads(sample.read_text(encoding="utf-8"))["accno"]
    out = tmp_path / "export" / f"{accession}.json"
    result = run("export-pagetab", accession, "--content", first, "-o", out)
    assert result.exit_code == 0, result.output
    assert "export-pagetab:" not in result.output  # no warnings: nothing left behind
    exported = json.loads(out.read_text(encoding="utf-8"))
    assert exported["accno"] == accession
    assert exported["section"]["type"] == "Study"
    second = new_content(tmp_path / "second")
    # file lists are found beside the exported submission, as BioStudies lays them out
    result = run("import-pagetab", out, "--content", second, "--today", TODAY)
    assert result.exit_code == 0, result.output
    a = study_files(first / "studies" / accession)
    b = study_files(second / "studies" / accession)
    assert a == b


def test_s_biad1492_maps_every_part(tmp_path):
    """The REMBI conversion sample: references, file lists, an accession used as a link."""
    content = new_content(tmp_path)
    sample = SAMPLES / "pagetab" / "S-BIAD1492.json"
    result = import_sample(sample, content)
    assert result.exit_code == 0, result.output
    folder = content / "studies" / "S-BIAD1492"
    study = yaml.safe_load((folder / "study.yaml").read_text(encoding="utf-8"))
    assert study["license"] == "CC-BY-3.0"
    assert study["authors"][4] == {
        "family_name": "Zulueta-Coarasa",
        "given_name": "Teresa",
        "orcid": "0000-0002-0456-6912",
        "email": "teresaz@ebi.ac.uk",
        "affiliations": ["o3"],
        "roles": ["data curation", "submitter"],
    }
    assert study["publications"][0]["doi"] == "10.1002/cyto.a.20714"
    assert study["links"][2] == {
        "type": "EMPIAR",
        "id": "EMPIAR-11380",
        "url": "https://www.ebi.ac.uk/empiar/EMPIAR-11380/",
        "description": "A link to an EMPIAR entry",
    }
    images, masks = study["datasets"]
    assert images["biosample"] == "simulated-hl-60-cells"
    assert images["image_acquisition"] == "simulated-fluorescence-microscopy"
    assert masks["annotation"] == "ground-truth-segmentation-masks"
    rows = (folder / images["files"]).read_text(encoding="utf-8").splitlines()
    assert rows[0] == "path\tsize\tsha256\tclustering probability\tSNR"
    assert len(rows) == 1 + 7
    assert rows[1].split("\t")[:2] == [
        "BBBC024/BBBC024_v1_c75_lowSNR_images_TIFF/image-final_0012.tif",
        "50872008",
    ]
    extra = study["extra"]["pagetab"]
    assert (
        extra["attributes"]["annotations.ground-truth-segmentation-masks"]["Annotation coverage"]
        == "All data has been annotated."
    )
    assert extra["file_lists"] == {
        "simulated-fluorescence-images": "bbc024_images.json",
        "ground-truth-segmentation-masks": "bbc024_masks.json",
    }
    # the importer printed what it kept and what it normalised
    assert "Annotation confidence level, Annotation coverage" in result.output
    assert "'CC BY 3.0' written as the SPDX id CC-BY-3.0" in result.output


def test_old_layouts_and_quirks(tmp_path):
    content = new_content(tmp_path)
    for name in ("S-BIAD15_original", "S-BIAD590_original", "S-BIAD1043_original"):
        result = import_sample(SAMPLES / "pagetab" / f"{name}.json", content)
        assert result.exit_code == 0, result.output
    s15 = yaml.safe_load((content / "studies/S-BIAD15/study.yaml").read_text(encoding="utf-8"))
    # "Experiment" + study-level Organism with an NCBITaxon qualifier
    assert s15["biosamples"]["experiment"]["organism"] == {
        "scientific_name": "Saccharomyces cerevisiae",
        "ncbi_taxon": 4932,
    }
    methods = s15["image_acquisitions"]["experiment"]["imaging_method"]
    assert [m["fbbi"] for m in methods] == ["FBbi:00000246", "FBbi:00000258", "FBbi:00000243"]
    assert [d["id"] for d in s15["datasets"]] == ["experiment", "supplementary-data"]
    assert s15["license"] == "CC-BY-4.0"  # spelled "CC-BY 4.0"
    # an organisation without accno, referred to as o1
    assert s15["authors"][0]["affiliations"] == ["o1"]
    assert s15["affiliations"]["o1"]["name"].startswith("622 Barker Hall")
    # the section's own "Release date" differs from the submission's: kept
    assert s15["extra"]["pagetab"]["attributes"]["study"]["Release date"] == "2019-12-10"
    s590 = yaml.safe_load((content / "studies/S-BIAD590/study.yaml").read_text(encoding="utf-8"))
    # REMBI sections nested in the study component, ontology ids in odd spellings
    (sample,) = s590["biosamples"].values()
    assert sample["organism"]["ncbi_taxon"] == 9606  # "NCBITaxon_9606"
    (acq,) = s590["image_acquisitions"].values()
    assert acq["imaging_method"] == {"name": "bright-field microscopy", "fbbi": "FBbi:00000243"}
    assert s590["datasets"][0]["analysis"] == next(iter(s590["analyses"]))
    s1043 = yaml.safe_load((content / "studies/S-BIAD1043/study.yaml").read_text())
    # a "Pubmed ID" that holds a title is not a PMID
    assert "pmid" not in s1043["publications"][0]
    assert s1043["extra"]["pagetab"]["attributes"]["publications.0"]["Pubmed ID"].startswith(
        "High-throughput"
    )
    # two Associations sections in one component: both biosamples
    assert s1043["datasets"][0]["biosample"] == ["dna-fish-dmso", "dna-fish-auxin"]


def test_missing_file_lists_are_named(tmp_path):
    content = new_content(tmp_path)
    result = import_sample(SAMPLES / "pagetab" / "S-BIAD2808_original.json", content)
    assert result.exit_code == 0
    assert (
        "datasets.dataset001-me2-beta: file list 'file_list_images1.json' not given "
        "(add --files file_list_images1.json)" in result.output
    )
    # associations to biosample titles that do not exist in the submission
    assert "association Biosample = 'Homo sapiens (human) — T lymphocyte' matches no section" in (
        result.output
    )


def test_bad_input_is_reported_not_raised(tmp_path):
    content = new_content(tmp_path)
    bad = tmp_path / "bad.json"
    bad.write_text('{"accno": "S-BIAD1",\n "section": [}', encoding="utf-8")
    result = run("import-pagetab", bad, "--content", content)
    assert result.exit_code == 1
    assert f"{bad}:2: E090 JSON syntax error" in result.output
    bad.write_text('{"accno": "S-BIAD1"}', encoding="utf-8")
    result = run("import-pagetab", bad, "--content", content)
    assert result.exit_code == 1
    assert f"{bad}:1: E091 not a PageTab submission" in result.output
    placeholder = (
        SAMPLES / "rembi" / "bia-agent__examples_output_rembi-metadata_rembi-to-pagetab.json"
    )
    result = run("import-pagetab", placeholder, "--content", content)
    assert result.exit_code == 1
    assert "accno 'S-BIADXXX' is not an accession" in result.output
    result = run(
        "import-pagetab", placeholder, "--content", content, "--accession", "new", "--today", TODAY
    )
    assert result.exit_code == 0, result.output
    assert (content / "studies" / "S-BIAD1" / "study.yaml").is_file()
    result = run("import-pagetab", placeholder, "--content", content, "--accession", "S-BIAD1")
    assert result.exit_code == 0, result.output  # imported again: merged, nothing changed
    assert "No change on the site: the record is as last imported." in result.output
    (content / "studies" / "S-BIAD1" / "import-baseline.yaml").unlink()
    result = run("import-pagetab", placeholder, "--content", content, "--accession", "S-BIAD1")
    assert result.exit_code == 2
    assert "has no import-baseline.yaml" in result.output and "pass --force" in result.output
    result = run("export-pagetab", "S-BIAD404", "--content", content)
    assert result.exit_code == 2
    assert "Traceback" not in result.output


DEMO_STUDIES = sorted(p.name for p in (DEMO / "studies").iterdir() if p.is_dir())


@pytest.mark.parametrize("accession", DEMO_STUDIES)
def test_hand_written_demo_studies_survive_export_and_import(accession: str, tmp_path):
    """Studies written by hand (own extra, own dataset ids, no file-list names) too."""
    out = tmp_path / f"{accession}.json"
    result = run("export-pagetab", accession, "--content", DEMO, "-o", out)
    assert result.exit_code == 0, result.output
    content = new_content(tmp_path)
    shutil.copy(DEMO / "site.yaml", content / "site.yaml")
    assert run("import-pagetab", out, "--content", content).exit_code == 0
    before, after = DEMO / "studies" / accession, content / "studies" / accession
    assert yaml.safe_load((before / "study.yaml").read_text(encoding="utf-8")) == yaml.safe_load(
        (after / "study.yaml").read_text(encoding="utf-8")
    )
    for manifest in before.glob("*.files.tsv"):  # same rows; a sha256 column may be added
        assert list(iter_rows(manifest)) == list(iter_rows(after / manifest.name))


@pytest.mark.parametrize(
    ("written", "spdx"),
    [
        ("CC BY 4.0", "CC-BY-4.0"),
        ("CC-BY 4.0", "CC-BY-4.0"),
        ("CC BY 3.0", "CC-BY-3.0"),
        ("CC0", "CC0-1.0"),
        ("cc0-1.0", "CC0-1.0"),
        ("CC BY-NC-SA 4.0", "CC-BY-NC-SA-4.0"),
        ("Creative Commons Attribution 4.0 International", None),
        ("MIT", "MIT"),
        ("all rights reserved", None),
    ],
)
def test_licence_spellings(written, spdx):
    assert normalise_license(written) == spdx


def test_table_sections_and_unknown_sections(tmp_path):
    """PageTab tables (lists of lists) are flattened; unknown sections survive a round trip."""
    submission = {
        "accno": "S-BIAD77",
        "attributes": [
            {"name": "Title", "value": "Tables"},
            {"name": "ReleaseDate", "value": "2024-01-02"},
        ],
        "section": {
            "type": "Study",
            "attributes": [
                {"name": "Description", "value": "Text."},
                {"name": "Licence", "value": "CC0"},
            ],
            "subsections": [
                [
                    {"type": "Author", "attributes": [{"name": "Name", "value": "A"}]},
                    {"type": "Author", "attributes": [{"name": "Name", "value": "B"}]},
                ],
                {"type": "Data availability", "attributes": [{"name": "Note", "value": "x"}]},
                {
                    "type": "Study Component",
                    "attributes": [{"name": "Name", "value": "Images"}],
                    "files": [
                        [
                            {
                                "path": "a.tif",
                                "size": 1,
                                "attributes": [{"name": "Well", "value": "A1"}],
                            }
                        ],
                        [{"path": "b.tif", "size": 2, "type": "file"}],
                    ],
                },
            ],
        },
        "type": "submission",
    }
    source = tmp_path / "S-BIAD77.json"
    source.write_text(json.dumps(submission), encoding="utf-8")
    content = new_content(tmp_path / "first")
    result = run("import-pagetab", source, "--content", content, "--today", TODAY)
    assert result.exit_code == 0, result.output
    folder = content / "studies" / "S-BIAD77"
    study = yaml.safe_load((folder / "study.yaml").read_text(encoding="utf-8"))
    assert [a["name"] for a in study["authors"]] == ["A", "B"]
    assert study["license"] == "CC0-1.0"
    assert study["extra"]["pagetab"]["sections"][0]["section"]["type"] == "Data availability"
    assert "a 'Data availability' section in study" in result.output
    assert (folder / "images.files.tsv").read_text(encoding="utf-8").splitlines() == [
        "path\tsize\tsha256\tWell",
        "a.tif\t1\t\tA1",
        "b.tif\t2\t\t",
    ]
    assert run("validate", "--content", content, "--today", TODAY).exit_code == 0
    out = tmp_path / "out" / "S-BIAD77.json"
    assert run("export-pagetab", "S-BIAD77", "--content", content, "-o", out).exit_code == 0
    second = new_content(tmp_path / "second")
    assert run("import-pagetab", out, "--content", second).exit_code == 0
    assert study_files(folder) == study_files(second / "studies" / "S-BIAD77")


def test_file_lists_as_tsv_with_directories_matched_by_the_name_the_submission_gives(tmp_path):
    """BioStudies also writes file lists as TSV (a 'Files' column, one per attribute) and
    lists whole folders as one "directory" entry: both forms of the real S-BIAD1492 lists."""
    real = json.loads((FILELISTS / "S-BIAD1492" / "bbc024_images.json").read_text())
    folder = tmp_path / "submission"
    folder.mkdir()
    shutil.copy(SAMPLES / "pagetab" / "S-BIAD1492.json", folder / "S-BIAD1492.json")
    # the images list as TSV, under the name the submission gives it (without .json)
    lines = ["Files\tType\tclustering probability\tSNR"]
    for entry in real:
        values = {a["name"]: a["value"] for a in entry["attributes"]}
        lines.append(f"{entry['path']}\tfile\t{values['clustering probability']}\t{values['SNR']}")
    lines.append("BBBC024/BBBC024_v1_c75_lowSNR_images_TIFF\tdirectory\t\t")
    (folder / "bbc024_images.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    # the masks list as JSON with a directory entry
    masks = json.loads((FILELISTS / "S-BIAD1492" / "bbc024_masks.json").read_text())
    masks.append({"path": "BBBC024/masks", "size": 0, "type": "directory"})
    (folder / "bbc024_masks.json").write_text(json.dumps(masks), encoding="utf-8")
    content = new_content(tmp_path)
    result = run("import-pagetab", folder / "S-BIAD1492.json", "--content", content)
    assert result.exit_code == 0, result.output
    study_folder = content / "studies" / "S-BIAD1492"
    study = yaml.safe_load((study_folder / "study.yaml").read_text())
    images, masks_ds = study["datasets"]
    rows = (study_folder / images["files"]).read_text().splitlines()
    assert len(rows) == 1 + 7 + 1
    assert rows[-1].startswith("BBBC024/BBBC024_v1_c75_lowSNR_images_TIFF\t")
    assert "Type" not in rows[0].split("\t")  # the entry type, not an attribute
    types = study["extra"]["pagetab"]["file_types"]
    assert types[images["id"]] == {"BBBC024/BBBC024_v1_c75_lowSNR_images_TIFF": "directory"}
    assert types[masks_ds["id"]] == {"BBBC024/masks": "directory"}
    assert run("validate", "--content", content).exit_code == 0
