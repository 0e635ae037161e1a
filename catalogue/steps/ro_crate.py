"""An RO-Crate per public study: ``studies/<ACC>/ro-crate-metadata.json``.

Workflow systems, WorkflowHub and RO-Crate tooling read a study as a packaged research
object: the study is the root dataset, each of its datasets a ``Dataset`` (the file
browser folder), each file a web-based ``File`` at its download URL with size and
checksum, and the people, licence and publications as contextual entities. A dataset of
more than FILE_LIMIT files is described by its manifest (one ``File``: the TSV listing
every file with its URL), so the crate stays small for the million-file studies.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

from catalogue.formats import file_format
from catalogue.model import StudyEntry
from catalogue.pipeline.plan import Step, StepResult, digest_of
from catalogue.readers.manifest import iter_cells
from catalogue.steps.context import RenderContext
from catalogue.steps.facts import (
    date_modified,
    identifier_url,
    license_url,
    media_type,
    orcid_url,
    person_name,
    stable_url,
    study_doi,
)

RO_CRATE_VERSION = "2"  # 2: one entity a line
FILE_LIMIT = 1000
CONTEXT = "https://w3id.org/ro/crate/1.1/context"
SPEC = "https://w3id.org/ro/crate/1.1"


def crate_path(accession: str) -> str:
    return f"studies/{accession}/ro-crate-metadata.json"


def _ref(node_id: str) -> dict[str, str]:
    return {"@id": node_id}


def crate(ctx: RenderContext, entry: StudyEntry, content: Path) -> dict[str, Any]:
    from catalogue.render import plain_text

    s = entry.study
    graph: list[dict[str, Any]] = []
    context_entities: dict[str, dict[str, Any]] = {}
    authors = []
    for n, a in enumerate(s.authors, start=1):
        p = person_name(a)
        node_id = orcid_url(a.orcid) or f"#author-{n}"
        node: dict[str, Any] = {
            "@id": node_id,
            "@type": "Person" if p.is_person else "Organization",
            "name": p.name,
        }
        if p.family is not None:
            node["familyName"] = p.family
            if p.given:
                node["givenName"] = p.given
        orgs = []
        for key in a.affiliations:
            aff = s.affiliations.get(key)
            if aff is None:
                continue
            org_id = aff.ror or f"#affiliation-{key}"
            context_entities.setdefault(
                org_id, {"@id": org_id, "@type": "Organization", "name": " ".join(aff.name.split())}
            )
            orgs.append(_ref(org_id))
        if orgs and p.is_person:
            node["affiliation"] = orgs
        context_entities.setdefault(node_id, node)
        authors.append(_ref(node_id))
    lic = license_url(s.license)
    context_entities[lic] = {
        "@id": lic,
        "@type": "CreativeWork",
        "name": s.license,
        "identifier": s.license,
    }
    publications = []
    for n, pub in enumerate(s.publications, start=1):
        pub_id = f"https://doi.org/{pub.doi}" if pub.doi else pub.url or f"#publication-{n}"
        # a record may cite a paper by DOI or PubMed id alone: name it by what is known
        title = pub.title or (
            f"doi:{pub.doi}" if pub.doi else f"PMID {pub.pmid}" if pub.pmid else ""
        )
        name = " ".join(title.split()) or f"Publication {n}"
        node = {"@id": pub_id, "@type": "ScholarlyArticle", "name": name}
        if pub.year:
            node["datePublished"] = str(pub.year)
        if pub.doi:
            node["identifier"] = pub_id
        context_entities.setdefault(pub_id, node)
        publications.append(_ref(pub_id))
    parts = []
    url_prefix = ctx.data_file_url(s.accession, "")
    for ds in s.datasets:
        summary = entry.manifests.get(ds.id)
        ds_id = f"files/{ds.id}/"
        node = {"@id": ds_id, "@type": "Dataset", "name": ds.title}
        if ds.description:
            node["description"] = plain_text(ds.description)
        if summary is not None and ds.files is not None:
            node["contentSize"] = str(summary.total_size)
            manifest_id = f"files/{ds.id}/files.tsv"
            manifest_node = {
                "@id": manifest_id,
                "@type": "File",
                "name": f"List of the {summary.count} files of {ds.id}, with their URLs",
                "encodingFormat": "text/tab-separated-values",
            }
            members = [_ref(manifest_id)]
            files: list[dict[str, Any]] = []
            if summary.count <= FILE_LIMIT:
                for head, cells in iter_cells(content / entry.folder / ds.files):
                    path = cells[head.index("path")]
                    raw = cells[head.index("size")].strip()
                    file_node: dict[str, Any] = {
                        "@id": url_prefix + quote(path, safe="/"),
                        "@type": "File",
                        "name": path,
                        "encodingFormat": media_type(file_format(path)),
                    }
                    if raw.isdigit():
                        file_node["contentSize"] = raw
                    if "sha256" in head and cells[head.index("sha256")].strip():
                        file_node["sha256"] = cells[head.index("sha256")].strip()
                    files.append(file_node)
                    members.append(_ref(file_node["@id"]))
            node["hasPart"] = members
            graph.append(node)
            graph.append(manifest_node)
            graph.extend(files)
        else:
            graph.append(node)
        parts.append(_ref(ds_id))
    root: dict[str, Any] = {
        "@id": "./",
        "@type": "Dataset",
        "name": s.title,
        "description": plain_text(s.description),
        "identifier": identifier_url(ctx, s),
        "url": stable_url(ctx, s),
        "datePublished": s.release_date.isoformat(),
        "dateModified": date_modified(ctx, entry).isoformat(),
        "license": _ref(lic),
        "author": authors,
        "publisher": {"@id": ctx.absolute(f"{ctx.root}/")},
        "keywords": list(s.keywords),
        "hasPart": parts,
    }
    if study_doi(s):
        root["alternateName"] = s.accession
    if publications:
        root["citation"] = publications
    context_entities[ctx.absolute(f"{ctx.root}/")] = {
        "@id": ctx.absolute(f"{ctx.root}/"),
        "@type": "Organization",
        "name": ctx.site.title,
        "url": ctx.absolute(f"{ctx.root}/"),
    }
    metadata = {
        "@id": "ro-crate-metadata.json",
        "@type": "CreativeWork",
        "conformsTo": _ref(SPEC),
        "about": _ref("./"),
    }
    return {
        "@context": CONTEXT,
        "@graph": [metadata, root, *graph, *context_entities.values()],
    }


def crate_bytes(doc: dict[str, Any]) -> bytes:
    """The crate with one entity a line: as easy to read and diff as an indented dump, and
    written by json's C encoder (an indented dump runs the pure-Python encoder, which
    took twice as long as building the crate)."""
    head = {k: v for k, v in doc.items() if k != "@graph"}
    entities = ",\n".join(
        json.dumps(e, ensure_ascii=False, separators=(",", ":")) for e in doc["@graph"]
    )
    opening = json.dumps(head, ensure_ascii=False, separators=(",", ":"))[:-1]
    comma = "," if head else ""
    return f'{opening}{comma}"@graph":[\n{entities}\n]}}\n'.encode()


def ro_crate_steps(ctx: RenderContext, content: Path) -> list[Step]:
    return [ro_crate_step(ctx, content, entry) for entry in ctx.catalogue.public()]


def ro_crate_step(ctx: RenderContext, content: Path, entry: StudyEntry) -> Step:
    """The RO-Crate metadata file of one public study."""
    out = crate_path(entry.accession)
    return Step(
        id=f"ro-crate:{entry.accession}",
        outputs=(out,),
        digest=digest_of(
            RO_CRATE_VERSION,
            FILE_LIMIT,
            ctx.site_digest,
            entry.source_digest,
            date_modified(ctx, entry),
        ),
        make=lambda: StepResult(files={out: crate_bytes(crate(ctx, entry, content))}),
    )
