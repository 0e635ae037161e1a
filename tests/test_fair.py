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


# --- 2. linked data -------------------------------------------------------------------

SCHEMA = "http://schema.org/"
SCHEMA_CONTEXT = SAMPLES / "jsonld" / "schemaorg-context-30.0.jsonld"


def offline_loader(url: str, options: object = None) -> dict:
    """pyld's document loader, answering for schema.org from tests/data only: a test
    that needed the network would fail, never skip."""
    if url.rstrip("/") in ("https://schema.org", "http://schema.org") or url.startswith(
        "https://schema.org/docs/jsonldcontext"
    ):
        doc = json.loads(SCHEMA_CONTEXT.read_text())
        return {"contextUrl": None, "documentUrl": url, "document": doc}
    raise AssertionError(f"the JSON-LD asked for {url}: it must expand offline")


def page_json_ld(page: Path) -> dict:
    text = page.read_text()
    (block,) = re.findall(r'<script type="application/ld\+json">(.*?)</script>', text, re.S)
    return json.loads(block)


def expand(doc: dict) -> dict:
    from pyld import jsonld

    (node,) = jsonld.expand(doc, {"documentLoader": offline_loader})
    return node


def values(node: dict, prop: str) -> list:
    return node.get(SCHEMA + prop, [])


# Bioschemas Dataset 1.0-RELEASE: the minimum properties, then the recommended ones
BIOSCHEMAS_MINIMUM = ("name", "description", "identifier", "url", "keywords", "license")
BIOSCHEMAS_RECOMMENDED = (
    "creator",
    "datePublished",
    "distribution",
    "includedInDataCatalog",
    "measurementTechnique",
)


def test_every_study_page_carries_a_bioschemas_dataset(demo_site: Path):
    for acc in public_accessions(demo_site):
        node = expand(page_json_ld(demo_site / "studies" / acc / "index.html"))
        assert node["@type"] == [SCHEMA + "Dataset"], acc
        for prop in BIOSCHEMAS_MINIMUM + ("creator", "datePublished", "includedInDataCatalog"):
            assert values(node, prop), f"{acc}: no {prop}"
        conforms = node["http://purl.org/dc/terms/conformsTo"][0]["@id"]
        assert conforms == "https://bioschemas.org/profiles/Dataset/1.0-RELEASE"
        (catalog,) = values(node, "includedInDataCatalog")
        assert catalog["@type"] == [SCHEMA + "DataCatalog"]
        assert (
            values(node, "dateModified")[0]["@value"] >= values(node, "datePublished")[0]["@value"]
        )


def test_dataset_json_ld_has_people_distributions_techniques_and_variables(demo_site: Path):
    node = expand(page_json_ld(demo_site / "studies/S-BIAD1492/index.html"))
    creators = values(node, "creator")
    orcid = [c for c in creators if c.get("@id") == "https://orcid.org/0000-0002-0456-6912"]
    assert orcid and orcid[0]["@type"] == [SCHEMA + "Person"]
    assert values(orcid[0], "familyName")[0]["@value"] == "Zulueta-Coarasa"
    assert values(orcid[0], "identifier")[0]["@value"] == "https://orcid.org/0000-0002-0456-6912"
    assert any(c["@type"] == [SCHEMA + "Organization"] for c in creators)
    dists = values(node, "distribution")
    assert len(dists) == 2
    for d in dists:
        assert d["@type"] == [SCHEMA + "DataDownload"]
        url = values(d, "contentUrl")[0]["@id"]
        assert url.startswith("http://localhost:8000/studies/S-BIAD1492/files/")
        assert (demo_site / url.removeprefix("http://localhost:8000/")).is_file()
        assert values(d, "encodingFormat")[0]["@value"] == "text/tab-separated-values"
    techniques = values(node, "measurementTechnique")
    assert techniques and all(t["@type"] == [SCHEMA + "DefinedTerm"] for t in techniques)
    screen = expand(page_json_ld(demo_site / "studies/S-BIAD9001/index.html"))
    measured = {values(v, "name")[0]["@value"] for v in values(screen, "variableMeasured")}
    assert {"Compound", "Well", "Plate"} <= measured, measured


def test_home_page_carries_the_data_catalog(demo_site: Path):
    node = expand(page_json_ld(demo_site / "index.html"))
    assert node["@type"] == [SCHEMA + "DataCatalog"]
    assert node["@id"] == "http://localhost:8000/#catalog"
    study = expand(page_json_ld(demo_site / "studies/S-BIAD1492/index.html"))
    assert values(study, "includedInDataCatalog")[0]["@id"] == node["@id"]


# --- 3. RO-Crate ----------------------------------------------------------------------


def read_crate(site: Path, acc: str, tmp_path: Path):
    import shutil

    from rocrate.rocrate import ROCrate

    folder = tmp_path / acc
    folder.mkdir()
    shutil.copy(site / "studies" / acc / "ro-crate-metadata.json", folder)
    return ROCrate(folder)


def test_every_study_has_an_ro_crate_that_the_rocrate_library_reads(
    demo_site: Path, tmp_path: Path
):
    for acc in public_accessions(demo_site):
        crate = read_crate(demo_site, acc, tmp_path)
        root = crate.root_dataset
        assert root["name"], acc
        assert root["license"].id.startswith("https://spdx.org/licenses/")
        assert root["author"], acc
        page = (demo_site / "studies" / acc / "index.html").read_text()
        assert f'href="/studies/{acc}/ro-crate-metadata.json"' in page


def test_ro_crate_lists_datasets_files_people_and_publications(demo_site: Path, tmp_path: Path):
    crate = read_crate(demo_site, "S-BIAD1492", tmp_path)
    root = crate.root_dataset
    datasets = {d.id for d in root["hasPart"] if d.type == "Dataset"}
    assert datasets == {"files/images/", "files/masks/"}
    images = crate.get("files/images/")
    files = [p for p in images["hasPart"] if p.id.startswith("https://")]
    manifest = (demo_site / "studies/S-BIAD1492/files/images/files.tsv").read_text()
    rows = manifest.splitlines()[1:]
    assert len(files) == len(rows)
    first = rows[0].split("\t")
    (entity,) = [f for f in files if f["name"] == first[0]]
    assert entity.id == first[-1] and entity["contentSize"] == first[1]
    assert entity["encodingFormat"] == "image/tiff"
    people = {a.id: a for a in root["author"]}
    assert people["https://orcid.org/0000-0002-0456-6912"]["familyName"] == "Zulueta-Coarasa"
    assert [c.id for c in root["citation"]] == ["https://doi.org/10.1002/cyto.a.20714"]


def test_ro_crate_of_a_huge_dataset_points_at_its_file_list(tmp_path: Path):
    from catalogue.steps import ro_crate

    content = copy_root(tmp_path, "minimal")
    manifest = content / "studies/S-BIAD1/images.files.tsv"
    lines = manifest.read_text().splitlines()
    rows = [f"extra/f{n:05}.tif\t{n}" + "\t" * (lines[0].count("\t") - 1) for n in range(1001)]
    manifest.write_text("\n".join([*lines, *rows]) + "\n")
    out = tmp_path / "build"
    build_site(content, out)
    crate = read_crate(out, "S-BIAD1", tmp_path)
    (images,) = [d for d in crate.root_dataset["hasPart"] if d.type == "Dataset"]
    assert [p.id for p in images["hasPart"]] == ["files/images/files.tsv"]
    assert len(rows) > ro_crate.FILE_LIMIT
