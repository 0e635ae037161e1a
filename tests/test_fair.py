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
    # the demo's S-BIAD1492 as import-pagetab makes it: dataset ids from the components
    images_id = "files/simulated-fluorescence-images/"
    assert datasets == {images_id, "files/ground-truth-segmentation-masks/"}
    images = crate.get(images_id)
    files = [p for p in images["hasPart"] if p.id.startswith("https://")]
    manifest = (demo_site / "studies/S-BIAD1492" / images_id / "files.tsv").read_text()
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


# --- 4. Croissant -----------------------------------------------------------------------


def manifest_rows(site: Path, acc: str, ds: str) -> list[list[str]]:
    lines = (site / "studies" / acc / "files" / ds / "files.tsv").read_text().splitlines()
    return [line.split("\t") for line in lines[1:]]


def test_ai_ready_study_has_croissant_that_mlcroissant_validates_and_reads(demo_site: Path):
    import hashlib
    import itertools

    import mlcroissant as mlc

    ready = [
        s["accession"]
        for s in json.loads((demo_site / "api/v1/studies.json").read_text())["studies"]
        if s["ai_ready"]
    ]
    assert ready == ["S-BIAD1492"]
    for acc in public_accessions(demo_site):
        assert (demo_site / "studies" / acc / "croissant.json").is_file() == (acc in ready)
    path = demo_site / "studies/S-BIAD1492/croissant.json"
    dataset = mlc.Dataset(jsonld=str(path))  # raises ValidationError on any error
    meta = json.loads(path.read_text())
    for dist in meta["distribution"]:  # the checksum is that of the published file list
        data = (path.parent / dist["contentUrl"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == dist["sha256"]
    for record_set in dataset.metadata.record_sets:
        rows = manifest_rows(demo_site, "S-BIAD1492", record_set.name)
        records = list(itertools.islice(dataset.records(record_set.uuid), 10_000))
        assert len(records) == len(rows)
        first = records[0]
        name = record_set.name
        assert first[f"{name}/path"].decode() == rows[0][0]
        assert first[f"{name}/size"] == int(rows[0][1])
        assert first[f"{name}/url"].decode() == rows[0][-1]
    masks = list(dataset.records("ground-truth-segmentation-masks"))
    assert masks[0]["ground-truth-segmentation-masks/Source_image"].decode().endswith(".tif")


def test_ai_ready_collection_page_and_facet(demo_site: Path):
    page = (demo_site / "collections/ai-ready/index.html").read_text()
    assert 'href="/studies/S-BIAD1492/croissant.json"' in page
    assert "S-BIAD1043" not in page
    assert 'href="/collections/ai-ready/"' in (demo_site / "index.html").read_text()
    study = (demo_site / "studies/S-BIAD1492/index.html").read_text()
    assert '<a class="badge badge-outline" href="/collections/ai-ready/">AI-ready</a>' in study
    assert 'href="/studies/S-BIAD1492/croissant.json"' in study
    index = b"".join(p.read_bytes() for p in (demo_site / "search/index").glob("*.json"))
    assert b"AI-ready" in index


# --- 5. bulk tables -----------------------------------------------------------------------


def api_sql(name: str) -> str:
    """A query of docs/api.md, run as written (only the site URL is pointed at the build)."""
    text = (Path(__file__).parent.parent / "docs" / "api.md").read_text()
    blocks = re.findall(r"```sql\n-- " + re.escape(name) + r"\n(.*?)```", text, re.S)
    assert blocks, f"docs/api.md has no ```sql block named {name!r}"
    return blocks[0]


def test_bulk_tables_have_a_row_per_study_and_per_file(demo_site: Path):
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    index = json.loads((demo_site / "api/v1/studies.json").read_text())
    studies = pq.read_table(demo_site / "api/v1/studies.parquet")
    assert studies.column("accession").to_pylist() == [s["accession"] for s in index["studies"]]
    assert studies.column("files").to_pylist() == [s["files"] for s in index["studies"]]
    assert str(studies.schema.field("release_date").type) == "date32[day]"
    files = pq.read_table(demo_site / "api/v1/files.parquet")
    assert files.num_rows == sum(s["files"] for s in index["studies"])
    for name in ("accession", "dataset", "path", "size", "sha256", "format", "url"):
        assert name in files.schema.names
    for column in ("Compound", "Well", "Plate", "clustering probability"):
        assert column in files.schema.names, files.schema.names
    assert "Format (attribute)" in files.schema.names  # not folded into 'format' by SQL
    images = "simulated-fluorescence-images"  # the demo's dataset id (import-pagetab)
    rows = manifest_rows(demo_site, "S-BIAD1492", images)
    import pyarrow.compute as pc

    got = files.filter(
        pc.and_(pc_equal(files, "accession", "S-BIAD1492"), pc_equal(files, "dataset", images))
    )
    assert got.column("path").to_pylist() == [r[0] for r in rows]
    assert got.column("url").to_pylist() == [r[-1] for r in rows]
    assert got.column("size").to_pylist() == [int(r[1]) for r in rows]
    twin = pacsv.read_csv(demo_site / "api/v1/files.csv")
    assert twin.num_rows == files.num_rows
    assert pacsv.read_csv(demo_site / "api/v1/studies.csv").num_rows == studies.num_rows


def pc_equal(table, column: str, value: str):
    import pyarrow.compute as pc

    return pc.equal(table.column(column), value)


def test_duckdb_query_of_docs_api_finds_a_compound_across_studies(demo_site: Path):
    import duckdb

    sql = api_sql("files of one compound across studies").replace(
        "https://archive.example.org/api/v1/", f"{demo_site}/api/v1/"
    )
    rows = duckdb.sql(sql).fetchall()
    assert rows, sql
    files = json.loads((demo_site / "api/v1/studies/S-BIAD9001.json").read_text())
    assert {r[0] for r in rows} == {"S-BIAD9001"}
    tsv = (demo_site / "studies/S-BIAD9001/files/screen-a/files.tsv").read_text().splitlines()
    column = tsv[0].split("\t").index("Compound")
    expected = [line.split("\t") for line in tsv[1:] if line.split("\t")[column] == "L-690330"]
    assert sorted(r[2] for r in rows) == sorted(e[-1] for e in expected)
    assert files["accession"] == "S-BIAD9001"


def test_large_sites_get_per_study_partitions(tmp_path: Path, monkeypatch):
    import duckdb

    from catalogue.steps import bulk

    monkeypatch.setattr(bulk, "PARTITION_FILE_LIMIT", 0)
    monkeypatch.setattr(bulk, "CSV_FILE_LIMIT", 0)
    content = copy_root(tmp_path, "minimal")
    second = content / "studies" / "S-BIAD2" / "study.yaml"
    second.write_text(second.read_text().replace("2030-01-01", "2024-01-01"))
    out = tmp_path / "build"
    build_site(content, out)
    parts = sorted(p.name for p in (out / "api/v1/files").glob("*.parquet"))
    assert parts == ["S-BIAD1.parquet", "S-BIAD2.parquet"]
    assert not (out / "api/v1/files.csv").exists()
    whole = duckdb.sql(f"select count(*) from '{out}/api/v1/files.parquet'").fetchall()[0]
    glob = duckdb.sql(
        f"select count(*) from read_parquet('{out}/api/v1/files/*.parquet', union_by_name=true)"
    ).fetchall()[0]
    assert whole == glob == (1,)  # S-BIAD1 has one file, S-BIAD2 none
    index = json.loads((out / "api/v1/index.json").read_text())
    assert index["documents"]["files/"] == "http://localhost:8000/api/v1/files/"


# --- 6. API shape --------------------------------------------------------------------------


def test_api_index_links_every_document_and_schema(demo_site: Path):
    import jsonschema

    index = json.loads((demo_site / "api/v1/index.json").read_text())
    schema = json.loads((demo_site / "api/v1/schema/index.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(index)
    local = lambda url: demo_site / url.removeprefix("http://localhost:8000/")  # noqa: E731
    for name, url in index["documents"].items():
        assert local(url).exists(), name
    for url in index["schemas"].values():
        jsonschema.Draft202012Validator.check_schema(json.loads(local(url).read_text()))
    published = {p.stem for p in (demo_site / "api/v1/schema").glob("*.json")}
    assert set(index["schemas"]) == published
    for name, template in index["templates"].items():
        if name == "croissant":
            continue
        url = template.format(accession="S-BIAD1492", dataset="simulated-fluorescence-images")
        assert local(url).exists(), name


def test_studies_are_paged_with_a_stable_next(tmp_path: Path, monkeypatch, demo_site: Path):
    from catalogue.steps import api

    monkeypatch.setattr(api, "PAGE_SIZE", 2)
    content = tmp_path / "content"
    import shutil

    from tests.conftest import DEMO

    shutil.copytree(DEMO, content, ignore=shutil.ignore_patterns("data"))
    out = tmp_path / "build"
    build_site(content, out)
    url = "http://localhost:8000/api/v1/studies.json"
    seen, pages = [], 0
    while url:
        page = json.loads((out / url.removeprefix("http://localhost:8000/")).read_text())
        seen += [s["accession"] for s in page["studies"]]
        assert len(page["studies"]) <= 2
        pages += 1
        url = page["next"]
    assert pages == page["pages"] > 5
    assert len(seen) == len(set(seen)) == page["count"]
    assert seen == public_accessions(demo_site)  # the unpaged order: accession order
    assert page["previous"] == "http://localhost:8000/api/v1/studies/page/" + (f"{pages - 1}.json")


def test_published_schemas_allow_additions_but_the_build_writes_none(demo_site: Path):
    """The stability promise (docs/api.md): v1 may add fields, so a client's copy of a
    schema accepts them; the build still checks every record with the closed models."""
    import jsonschema

    from catalogue.api_schema import StudyRecord, checked

    record = json.loads((demo_site / "api/v1/studies/S-BIAD1492.json").read_text())
    schema = json.loads((demo_site / "api/v1/schema/study.json").read_text())
    jsonschema.Draft202012Validator(schema).validate({**record, "added_in_v1_9": 1})
    with pytest.raises(jsonschema.ValidationError):  # a retyped field is not an addition
        jsonschema.Draft202012Validator(schema).validate({**record, "release_date": 2024})
    with pytest.raises(ValueError):
        checked(StudyRecord, {**record, "added_in_v1_9": 1})
    assert record["date_modified"] >= record["release_date"]


# --- 7. harvesting ---------------------------------------------------------------------


def test_sitemap_lastmod_is_the_last_change_from_git(tmp_path: Path):
    from lxml import etree

    from tests.test_lifecycle import commit, make_repo

    content, _ = make_repo(tmp_path / "repo")
    study = content / "studies/S-BIAD1/study.yaml"
    study.write_text(
        study.read_text().replace("[worm, fluorescence]", "[worm, fluorescence, nuclei]")
    )
    commit(content.parent, "Add a keyword to S-BIAD1", "2026-11-23")
    out = tmp_path / "build"
    build_site(content, out)
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    tree = etree.parse(str(out / "sitemap.xml"))
    lastmod = {
        u.findtext("s:loc", namespaces=ns): u.findtext("s:lastmod", namespaces=ns)
        for u in tree.findall("s:url", ns)
    }
    assert lastmod["http://localhost:8000/studies/S-BIAD1/"] == "2026-11-23"
    record = json.loads((out / "api/v1/studies/S-BIAD1.json").read_text())
    assert record["date_modified"] == "2026-11-23" != record["release_date"]
    assert page_json_ld(out / "studies/S-BIAD1/index.html")["dateModified"] == "2026-11-23"


def test_sitemap_becomes_an_index_past_the_url_limit(tmp_path: Path, monkeypatch):
    from lxml import etree

    from catalogue.steps import sitemap

    monkeypatch.setattr(sitemap, "MAX_URLS", 2)
    content = copy_root(tmp_path, "minimal")
    second = content / "studies" / "S-BIAD2" / "study.yaml"
    second.write_text(second.read_text().replace("2030-01-01", "2024-01-01"))
    out = tmp_path / "build"
    build_site(content, out)
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    index = etree.parse(str(out / "sitemap.xml")).getroot()
    assert index.tag == "{http://www.sitemaps.org/schemas/sitemap/0.9}sitemapindex"
    locs = [s.findtext("s:loc", namespaces=ns) for s in index.findall("s:sitemap", ns)]
    assert locs == [f"http://localhost:8000/sitemaps/{n}.xml" for n in (1, 2, 3)]
    urls = []
    for loc in locs:
        child = etree.parse(str(out / loc.removeprefix("http://localhost:8000/")))
        urls += [u.findtext("s:loc", namespaces=ns) for u in child.findall("s:url", ns)]
    assert len(urls) == 5 and "http://localhost:8000/studies/S-BIAD2/" in urls


def test_robots_txt_under_a_sub_path(tmp_path: Path):
    from urllib.robotparser import RobotFileParser

    content = copy_root(tmp_path, "minimal")
    out = tmp_path / "build"
    build_site(content, out, base_url="https://example.org/archive")
    text = (out / "robots.txt").read_text()
    robots = RobotFileParser()
    robots.parse(text.splitlines())
    assert not robots.can_fetch("*", "https://example.org/archive/.catalogue-state.json")
    assert robots.can_fetch("*", "https://example.org/archive/studies/S-BIAD1/")
    assert robots.site_maps() == ["https://example.org/archive/sitemap.xml"]
    assert "merge these lines into the host's /robots.txt" in text
    assert (out / "sitemap.xml").read_text().count("https://example.org/archive/studies/") == 2


# --- every output on a synthetic 1,000-study catalogue ---------------------------------


def test_fair_outputs_of_a_synthetic_1000_study_catalogue(tmp_path: Path, datacite_schema):
    """The machine outputs alone (no pages, thumbnails or search) of 1,000 studies: every
    step runs, the tables and the paged API agree with the catalogue, and samples
    validate with the same tools as the demo's."""
    import subprocess
    import sys

    import duckdb
    import pyarrow.parquet as pq

    from catalogue.model import Catalogue
    from catalogue.pipeline.plan import plan, run_steps
    from catalogue.readers.tree import load
    from catalogue.render import make_environment, templates_digest
    from catalogue.steps import api
    from catalogue.steps.bulk import bulk_steps
    from catalogue.steps.citations import citation_steps
    from catalogue.steps.context import RenderContext
    from catalogue.steps.croissant import croissant_steps
    from catalogue.steps.ro_crate import ro_crate_steps
    from catalogue.steps.sitemap import sitemap_steps
    from tests.conftest import ROOT, TODAY

    content = tmp_path / "synth"
    subprocess.run(
        [sys.executable, str(ROOT / "scripts/synth.py"), "--studies", "1000"]
        + ["--files-per-study", "3", "--out", str(content)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    catalogue, problems = load(content, TODAY)
    assert isinstance(catalogue, Catalogue), problems
    public = catalogue.public()
    assert len(public) > 900
    ctx = RenderContext(
        catalogue=catalogue,
        site=catalogue.site,
        env=make_environment(),
        templates_digest=templates_digest(),
    )
    steps = plan(
        [
            *api.api_steps(ctx),
            *citation_steps(ctx),
            *ro_crate_steps(ctx, content),
            *croissant_steps(ctx, content),
            *sitemap_steps(ctx),
        ]
    )
    out = tmp_path / "out"
    for result in run_steps(steps, 1).values():
        for rel, data in result.files.items():
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            (out / rel).write_bytes(data)

    def opener(rel: str):
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        return (out / rel).open("wb")

    for step in bulk_steps(ctx, content):
        result = step.make(opener) if step.streams else step.make()
        for rel, data in result.files.items():
            (out / rel).write_bytes(data)
    # the paged API: 1 page of 1,000 at most, next links to the rest
    first = json.loads((out / "api/v1/studies.json").read_text())
    assert first["count"] == len(public) and first["pages"] == 1 and first["next"] is None
    # bulk tables agree with the catalogue
    files = sum(m.count for e in public for m in e.manifests.values())
    count = duckdb.sql(f"select count(*) from '{out}/api/v1/files.parquet'").fetchall()[0][0]
    assert count == files
    assert pq.read_table(out / "api/v1/studies.parquet").num_rows == len(public)
    compound = duckdb.sql(
        f"select count(distinct accession) from '{out}/api/v1/files.parquet' "
        "where Compound is not null"
    ).fetchall()[0][0]
    assert compound > 1
    # samples of the per-study records, with their users' tools
    for entry in public[:: len(public) // 20]:
        acc = entry.study.accession
        datacite_schema.validate(str(out / "studies" / acc / "datacite.xml"))
        crate = json.loads((out / "studies" / acc / "ro-crate-metadata.json").read_text())
        assert crate["@graph"][1]["@id"] == "./"
    sitemap_text = (out / "sitemap.xml").read_text()
    assert sitemap_text.count("<url>") == len(public) + 3


def test_croissant_checksum_is_that_of_the_file_list_with_spreadsheet_safe_cells(
    tmp_path: Path,
):
    """files.tsv writes a formula-like attribute as text ('=…); the Croissant file
    declares the sha256 of those published bytes, not of the manifest's cells."""
    import hashlib

    content = copy_root(tmp_path, "minimal")
    study = content / "studies/S-BIAD1/study.yaml"
    study.write_text(
        study.read_text().replace("license: CC0-1.0", "license: CC0-1.0\nai_ready: true")
    )
    manifest = content / "studies/S-BIAD1/images.files.tsv"
    manifest.write_text("path\tsize\tsha256\tChannel\nworm.tif\t725953\t\t=1+2\n")
    out = tmp_path / "build"
    build_site(content, out)
    published = out / "studies/S-BIAD1/files/images/files.tsv"
    assert "\t'=1+2\t" in published.read_text()
    meta = json.loads((out / "studies/S-BIAD1/croissant.json").read_text())
    (dist,) = [d for d in meta["distribution"] if d["contentUrl"].endswith("files.tsv")]
    assert dist["sha256"] == hashlib.sha256(published.read_bytes()).hexdigest()
