"""schema.org JSON-LD for search engines and dataset indexers (Google Dataset Search,
Bioschemas harvesters, FAIR checkers).

Each study page carries a ``Dataset`` meeting the Bioschemas Dataset profile
(1.0-RELEASE: name, description, identifier, url, keywords, license, creators as
``Person`` with their ORCID, dates, distributions, the catalogue, techniques and the
variables of the file manifests); the home page carries the ``DataCatalog`` every
study points back to. Both are plain dicts rendered by the ``json_ld`` filter.
"""

from __future__ import annotations

from typing import Any

from catalogue.model import Study, StudyEntry
from catalogue.steps.context import RenderContext
from catalogue.steps.facts import (
    date_modified,
    identifier_url,
    license_url,
    orcid_url,
    person_name,
    stable_url,
    study_doi,
)

BIOSCHEMAS_DATASET = "https://bioschemas.org/profiles/Dataset/1.0-RELEASE"
CONFORMS_TO = "http://purl.org/dc/terms/conformsTo"
MEDIA_TYPES = {"tsv": "text/tab-separated-values", "parquet": "application/vnd.apache.parquet"}


def catalog_id(ctx: RenderContext) -> str:
    return ctx.absolute(f"{ctx.root}/") + "#catalog"


def catalog_ref(ctx: RenderContext) -> dict[str, Any]:
    return {
        "@type": "DataCatalog",
        "@id": catalog_id(ctx),
        "name": ctx.site.title,
        "url": ctx.absolute(f"{ctx.root}/"),
    }


def data_catalog(ctx: RenderContext) -> dict[str, Any]:
    """The archive itself, for the home page."""
    from catalogue.render import plain_text as plain

    return {
        "@context": "https://schema.org",
        "@type": "DataCatalog",
        "@id": catalog_id(ctx),
        "name": ctx.site.title,
        "description": plain(ctx.site.description) or ctx.site.title,
        "url": ctx.absolute(f"{ctx.root}/"),
        "keywords": ["bioimaging", "microscopy", "REMBI"],
        "hasPart": {
            "@type": "DataFeed",
            "name": "All public studies (JSON)",
            "url": ctx.absolute(f"{ctx.root}/api/v1/index.json"),
        },
    }


def people(study: Study) -> list[dict[str, Any]]:
    """Authors as schema.org ``Person`` (ORCID as ``@id`` and ``identifier``) or
    ``Organization``, with their affiliations."""
    out: list[dict[str, Any]] = []
    for a in study.authors:
        p = person_name(a)
        node: dict[str, Any]
        if p.family is None:
            node = {"@type": "Organization", "name": p.name}
        else:
            node = {"@type": "Person", "name": p.name, "familyName": p.family}
            if p.given:
                node["givenName"] = p.given
        orcid = orcid_url(a.orcid)
        if orcid:
            node["@id"] = orcid
            node["identifier"] = orcid
        affiliations = []
        for key in a.affiliations:
            aff = study.affiliations.get(key)
            if aff is not None:
                org: dict[str, Any] = {"@type": "Organization", "name": " ".join(aff.name.split())}
                if aff.ror:
                    org["@id"] = aff.ror
                affiliations.append(org)
        if affiliations and p.family is not None:
            node["affiliation"] = affiliations
        out.append(node)
    return out


def techniques(study: Study) -> list[dict[str, Any]]:
    out = []
    for m in study.imaging_methods:
        term: dict[str, Any] = {"@type": "DefinedTerm", "name": m.label}
        if m.fbbi:
            term["termCode"] = m.fbbi
            term["@id"] = "http://purl.obolibrary.org/obo/" + m.fbbi.replace(":", "_")
            term["inDefinedTermSet"] = "http://purl.obolibrary.org/obo/fbbi.owl"
        out.append(term)
    return out


def distributions(ctx: RenderContext, entry: StudyEntry) -> list[dict[str, Any]]:
    """Where the data can be fetched: each dataset's manifest (with a URL per file)."""
    s = entry.study
    out = []
    for ds in s.datasets:
        summary = entry.manifests.get(ds.id)
        if summary is None:
            continue
        base = f"{ctx.root}/studies/{s.accession}/files/{ds.id}/"
        out.append(
            {
                "@type": "DataDownload",
                "name": f"{ds.title}: list of {summary.count} files with their URLs",
                "contentUrl": ctx.absolute(base + "files.tsv"),
                "encodingFormat": MEDIA_TYPES["tsv"],
                "description": "Formats: "
                + ", ".join(f"{fmt} ({n})" for fmt, n in summary.formats),
            }
        )
    return out


def variables(entry: StudyEntry) -> list[dict[str, Any]]:
    """The attribute columns of the manifests (e.g. Compound, Well): what was varied or
    measured per file."""
    names: dict[str, None] = {}
    for summary in entry.manifests.values():
        for column in summary.columns:
            names.setdefault(column, None)
    return [{"@type": "PropertyValue", "name": n} for n in names]


def dataset(ctx: RenderContext, entry: StudyEntry) -> dict[str, Any]:
    """The study page's ``Dataset``."""
    from catalogue.render import plain_text as plain

    s = entry.study
    url = stable_url(ctx, s)
    identifiers = [identifier_url(ctx, s)] if study_doi(s) else []
    identifiers.append(s.accession)
    keywords = list(s.keywords) + [o.label for o in s.organisms]
    node: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Dataset",
        "@id": url,
        CONFORMS_TO: {"@id": BIOSCHEMAS_DATASET},
        "name": s.title,
        "description": plain(s.description),
        "identifier": identifiers,
        "url": url,
        "keywords": keywords,
        "license": license_url(s.license),
        "isAccessibleForFree": True,
        "creator": people(s),
        "datePublished": s.release_date.isoformat(),
        "dateModified": date_modified(ctx, entry).isoformat(),
        "publisher": {"@type": "Organization", "name": ctx.site.title},
        "includedInDataCatalog": catalog_ref(ctx),
        "distribution": distributions(ctx, entry),
        "measurementTechnique": techniques(s),
    }
    taxa = [
        {
            "@type": "DefinedTerm",
            "name": o.label,
            "@id": f"http://purl.obolibrary.org/obo/NCBITaxon_{o.ncbi_taxon}",
        }
        for o in s.organisms
        if o.ncbi_taxon
    ]
    if taxa:
        node["about"] = taxa
    measured = variables(entry)
    if measured:
        node["variableMeasured"] = measured
    citations = [
        f"https://doi.org/{p.doi}" if p.doi else p.url for p in s.publications if p.doi or p.url
    ]
    if citations:
        node["citation"] = citations
    return node


def study_page_values(ctx: RenderContext, entry: StudyEntry) -> dict[str, Any]:
    """What the study page shows of the FAIR outputs: its JSON-LD, the cite box and the
    links to the machine-readable records (all from the same facts as those files)."""
    from catalogue.steps.citations import citation_files, cite_styles

    acc = entry.accession
    machine = {"RO-Crate": f"studies/{acc}/ro-crate-metadata.json"}
    if entry.study.ai_ready:
        machine["Croissant"] = f"studies/{acc}/croissant.json"
    machine["JSON"] = f"api/v1/studies/{acc}.json"
    return {
        "linked_data": dataset(ctx, entry),
        "cite_styles": cite_styles(ctx, entry),
        "cite_files": citation_files(acc),
        "machine_records": machine,
    }
