"""FAIR outputs read by the tools their users run: the DataCite XSD (xmlschema), a CSL
processor (citeproc-py), BibTeX and RIS parsers (bibtexparser, rispy), a JSON-LD
processor (pyld, offline), the RO-Crate library, mlcroissant, pyarrow and DuckDB."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import SAMPLES, build_site, copy_root

DATACITE_XSD = SAMPLES / "datacite-4.6" / "metadata.xsd"


def public_accessions(site: Path) -> list[str]:
    index = json.loads((site / "api/v1/studies.json").read_text())
    return [s["accession"] for s in index["studies"]]


@pytest.fixture(scope="module")
def datacite_schema():
    import xmlschema

    return xmlschema.XMLSchema(str(DATACITE_XSD))


@pytest.fixture(scope="module")
def doi_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The minimal tree with a study DOI, a person with a particle and an organisation."""
    tmp = tmp_path_factory.mktemp("doi")
    content = copy_root(tmp, "minimal")
    study = content / "studies" / "S-BIAD1" / "study.yaml"
    text = study.read_text().replace(
        "  - {name: Ada Example, orcid: 0000-0002-1825-0097}",
        "  - {name: Ada Example, orcid: 0000-0002-1825-0097}\n"
        "  - {name: Jan van der Berg}\n"
        "  - {name: Advanced Imaging Facility}",
    )
    if _model_has("Study", "doi"):
        text = text.replace("license: CC0-1.0", "license: CC0-1.0\ndoi: 10.5555/demo.1")
    study.write_text(text)
    out = tmp / "build"
    build_site(content, out)
    return out


def _model_has(model: str, field: str) -> bool:
    from catalogue import model as m

    return field in getattr(m, model).model_fields


# --- 1. citations ---------------------------------------------------------------------


def test_datacite_records_of_the_demo_are_valid_kernel_4_6(demo_site: Path, datacite_schema):
    accessions = public_accessions(demo_site)
    assert len(accessions) > 10
    for acc in accessions:
        path = demo_site / "studies" / acc / "datacite.xml"
        errors = list(datacite_schema.iter_errors(str(path)))
        assert not errors, f"{path}: {errors[0]}"


def test_datacite_names_people_by_family_and_given_name(doi_site: Path, datacite_schema):
    from lxml import etree

    path = doi_site / "studies/S-BIAD1/datacite.xml"
    datacite_schema.validate(str(path))
    ns = {"d": "http://datacite.org/schema/kernel-4"}
    tree = etree.parse(str(path))
    creators = tree.findall(".//d:creator", ns)
    assert [c.findtext("d:familyName", namespaces=ns) for c in creators] == [
        "Example",
        "van der Berg",
        None,
    ]
    assert creators[2].find("d:creatorName", ns).get("nameType") == "Organizational"
    orcid = creators[0].find("d:nameIdentifier", ns)
    assert orcid.get("nameIdentifierScheme") == "ORCID"
    assert orcid.text == "https://orcid.org/0000-0002-1825-0097"
    ident = tree.find("d:identifier", ns)
    if _model_has("Study", "doi"):
        assert (ident.get("identifierType"), ident.text) == ("DOI", "10.5555/demo.1")
    else:
        assert (ident.get("identifierType"), ident.text) == (
            "URL",
            "http://localhost:8000/studies/S-BIAD1/",
        )


def test_csl_json_renders_with_a_csl_processor(doi_site: Path):
    from citeproc import (
        Citation,
        CitationItem,
        CitationStylesBibliography,
        CitationStylesStyle,
        formatter,
    )
    from citeproc.source.json import CiteProcJSON

    items = json.loads((doi_site / "studies/S-BIAD1/citation.json").read_text())
    source = CiteProcJSON(items)
    style = CitationStylesStyle("harvard-cite-them-right", validate=False)
    bib = CitationStylesBibliography(style, source, formatter.plain)
    bib.register(Citation([CitationItem("S-BIAD1")]))
    text = str(bib.bibliography()[0])
    assert "Example, A." in text and "van der Berg, J." in text, text
    assert "Advanced Imaging Facility" in text
    assert "Worm fluorescence in sixteen bits" in text and "(2024)" in text
    link = "10.5555/demo.1" if _model_has("Study", "doi") else "localhost:8000/studies/S-BIAD1/"
    assert link in text


def test_bibtex_and_ris_parse_into_family_and_given_names(doi_site: Path):
    import bibtexparser
    import rispy
    from bibtexparser import middlewares as mw

    lib = bibtexparser.parse_string(
        (doi_site / "studies/S-BIAD1/citation.bib").read_text(),
        append_middleware=[mw.SeparateCoAuthors(), mw.SplitNameParts()],
    )
    assert not lib.failed_blocks
    (entry,) = lib.entries
    names = entry.fields_dict["author"].value
    assert [(n.last, n.first) for n in names] == [
        (["Example"], ["Ada"]),
        (["{van der Berg}"], ["Jan"]),
        (["{Advanced Imaging Facility}"], []),
    ]
    assert entry.fields_dict["url"].value == "http://localhost:8000/studies/S-BIAD1/"
    with (doi_site / "studies/S-BIAD1/citation.ris").open(newline="") as fh:
        (record,) = rispy.load(fh)
    assert record["authors"][:2] == ["Example, Ada", "van der Berg, Jan"]
    assert record["type_of_reference"] == "DATA"
    if _model_has("Study", "doi"):
        assert entry.fields_dict["doi"].value == "10.5555/demo.1"
        assert record["doi"] == "10.5555/demo.1"


def test_study_page_has_a_cite_box_with_a_style_switch(doi_site: Path):
    page = (doi_site / "studies/S-BIAD1/index.html").read_text()
    box = page[page.index("data-cite-box") : page.index("Machine-readable records")]
    for style in ("APA", "Vancouver", "BibTeX", "RIS"):
        assert f"<figcaption>{style}</figcaption>" in box
    assert "Example, A., van der Berg, J., &amp; Advanced Imaging Facility (2024)" in box
    for export in ("citation.bib", "citation.ris", "citation.json", "datacite.xml"):
        assert f'href="/studies/S-BIAD1/{export}"' in box
    assert re.search(r'<script type="module" src="/static/cite.js"></script>', page)
    assert (doi_site / "static/cite.js").is_file()


def test_cite_box_switches_style_in_a_browser(demo_server: str, page):
    pg, problems = page
    pg.goto(f"{demo_server}/studies/S-BIAD1492/")
    select = pg.locator("[data-cite-style]")
    select.wait_for(state="visible")
    shown = pg.locator(".cite-style:not([hidden]) figcaption")
    assert shown.all_inner_texts() == ["APA"]
    select.select_option(label="BibTeX")
    assert shown.all_inner_texts() == ["BibTeX"]
    assert "@misc{SBIAD1492" in pg.locator(".cite-style:not([hidden]) .cite").inner_text()
    pg.reload()
    pg.locator("[data-cite-style]").wait_for(state="visible")
    assert pg.locator(".cite-style:not([hidden]) figcaption").all_inner_texts() == ["BibTeX"]
    assert not problems, problems
