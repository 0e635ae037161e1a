"""Identifiers as real records write them, normalised with idutils (catalogue/identifiers.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from catalogue.cli import main
from catalogue.identifiers import normalise_doi, normalise_orcid, normalise_pmid
from catalogue.names import split_name

from .conftest import DEMO

PAGETAB = Path(__file__).resolve().parent / "data" / "pagetab"


@pytest.mark.parametrize(
    ("written", "doi"),
    [
        ("10.1083/jcb.202207048", "10.1083/jcb.202207048"),
        ("doi:10.1083/jcb.202207048", "10.1083/jcb.202207048"),
        ("https://doi.org/10.1083/jcb.202207048", "10.1083/jcb.202207048"),
        ("http://dx.doi.org/10.1038/nmeth.3806", "10.1038/nmeth.3806"),
        ("https://doi.org/DOI: 10.26508/lsa.202403067", "10.26508/lsa.202403067"),  # S-BIAD1752
        ("arXiv:2101.00001v2", "10.48550/arXiv.2101.00001"),
        ("https://arxiv.org/abs/2101.00001", "10.48550/arXiv.2101.00001"),
        ("hep-th/9901001", "10.48550/arXiv.hep-th/9901001"),
        ("https://www.nature.com/articles/s41598-024-66600-1#Abs1", None),  # S-BIAD1043
        ("not a doi", None),
    ],
)
def test_dois(written, doi):
    assert normalise_doi(written) == doi


def test_pubmed_and_orcid_forms():
    assert normalise_pmid("PMID: 33637768") == "33637768"
    assert normalise_pmid("https://pubmed.ncbi.nlm.nih.gov/33637768/") == "33637768"
    assert normalise_pmid("Imaging plant germline") is None
    assert normalise_orcid("https://orcid.org/0000-0001-5703-3901") == "0000-0001-5703-3901"
    assert normalise_orcid("0000-0001-5703-3902") is None  # wrong check digit


def test_names():
    assert split_name("Teresa Zulueta-Coarasa") == {
        "family_name": "Zulueta-Coarasa", "given_name": "Teresa"}  # fmt: skip
    assert split_name("Ellinger B") == {"family_name": "Ellinger", "given_name": "B"}
    assert split_name("De Biasio, Alfredo") == {"family_name": "De Biasio", "given_name": "Alfredo"}
    assert split_name("Ludwig van Beethoven")["family_name"] == "van Beethoven"
    assert split_name("The MitoEM Consortium") == {"name": "The MitoEM Consortium"}
    assert split_name("CellProfiler project (Broad Institute)") == {
        "name": "CellProfiler project (Broad Institute)"}  # fmt: skip


def test_a_real_record_with_an_untitled_paper_and_an_arxiv_id_builds_unedited(tmp_path):
    """The forms met in real submissions: no publication title, an arXiv id in the DOI
    field, a PubMed id in the DOI field, an ORCID URL (S-BIAD1135, edited that way)."""
    data = json.loads((PAGETAB / "S-BIAD1135_original.json").read_text(encoding="utf-8"))
    pubs = [s for s in data["section"]["subsections"] if isinstance(s, dict)
            and s.get("type") == "Publication"]  # fmt: skip
    first, second = pubs[0], pubs[1]
    first["attributes"] = [a for a in first["attributes"] if a["name"] != "Title"]
    for a in second["attributes"]:
        if a["name"] == "DOI":
            a["value"] = "arXiv:2101.00001v1"
    record = tmp_path / "S-BIAD1135.json"
    record.write_text(json.dumps(data), encoding="utf-8")
    content = tmp_path / "content"
    content.mkdir()
    (content / "site.yaml").write_text((DEMO / "site.yaml").read_text(encoding="utf-8"))
    result = CliRunner().invoke(main, ["import-pagetab", str(record), "--content", str(content)])
    assert result.exit_code == 0, result.output
    assert "publications.0: no title in the record; the page shows doi, pmid, authors" in (
        result.output
    )
    assert "'arXiv:2101.00001v1' written as 10.48550/arXiv.2101.00001" in result.output
    study = yaml.safe_load((content / "studies/S-BIAD1135/study.yaml").read_text())
    assert "title" not in study["publications"][0]
    assert study["publications"][1]["doi"] == "10.48550/arXiv.2101.00001"
    out = tmp_path / "site"
    result = CliRunner().invoke(
        main, ["build", "--content", str(content), "--out", str(out), "--today", "2026-11-30"]
    )
    assert result.exit_code == 0, result.output
    page = (out / "studies/S-BIAD1135/index.html").read_text(encoding="utf-8")
    assert "Publication (title not recorded)" in page
    assert 'href="https://doi.org/10.1016/j.cub.2019.11.089"' in page
    assert 'href="https://doi.org/10.48550/arXiv.2101.00001"' in page
