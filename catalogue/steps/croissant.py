"""Croissant metadata (MLCommons, 1.0) for studies flagged ``ai_ready`` in study.yaml.

``studies/<ACC>/croissant.json`` describes each dataset's published file list
(``files/<dataset>/files.tsv``) as a ``FileObject`` and its rows as a ``RecordSet`` whose
fields are the manifest's columns (path, size, sha256, the attribute columns such as
Compound or Well, and the download URL), so ``mlcroissant`` and the loaders built on it
(TFDS, PyTorch, Hugging Face) enumerate the images with their annotations. The
``contentUrl`` is relative to the croissant.json, so a mirror or a local copy of the site
works as well as the live one.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

from catalogue.model import ManifestSummary, StudyEntry
from catalogue.pipeline.plan import Step, StepResult, digest_of
from catalogue.readers.manifest import Positions, column_positions, iter_cells
from catalogue.steps.context import RenderContext
from catalogue.steps.facts import date_modified, identifier_url, license_url, stable_url
from catalogue.steps.files import tsv_line

CROISSANT_VERSION = "2"
CONFORMS_TO = "http://mlcommons.org/croissant/1.0"
# the standard @context of Croissant 1.0 (as mlcroissant writes it)
CONTEXT: dict[str, Any] = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}


def croissant_path(accession: str) -> str:
    return f"studies/{accession}/croissant.json"


def is_ai_ready(entry: StudyEntry) -> bool:
    return entry.study.ai_ready


def published_manifest_sha256(
    ctx: RenderContext, entry: StudyEntry, summary: ManifestSummary, manifest: Path
) -> str:
    """sha256 of ``files/<dataset>/files.tsv`` as catalogue.steps.files writes it (the
    manifest plus a url column); tests/test_fair.py checks that the two agree."""
    prefix = ctx.data_file_url(entry.accession, "")
    h = hashlib.sha256()
    h.update(("\t".join(["path", "size", "sha256", *summary.columns, "url"]) + "\n").encode())
    positions: Positions | None = None
    for head, cells in iter_cells(manifest):
        if positions is None:
            positions = column_positions(head, summary.columns)
        pi, si, hi, ai = positions
        path = cells[pi]
        sha = cells[hi].strip() if hi is not None else ""
        url = prefix + quote(path, safe="/")
        h.update(tsv_line(path, cells[si].strip(), sha, (cells[i] for i in ai), url).encode())
    return h.hexdigest()


def _node_id(name: str) -> str:
    """mlcroissant refuses @ids with white space, even percent-encoded."""
    return re.sub(r"\s+", "_", name.strip())


def _data_type(kind: str) -> str:
    return {"size": "sc:Integer", "url": "sc:URL"}.get(kind, "sc:Text")


def croissant(ctx: RenderContext, entry: StudyEntry, content: Path) -> dict[str, Any]:
    from catalogue.render import plain_text

    s = entry.study
    distribution: list[dict[str, Any]] = []
    record_sets: list[dict[str, Any]] = []
    for ds in s.datasets:
        summary = entry.manifests.get(ds.id)
        if summary is None or ds.files is None:
            continue
        file_id = f"{ds.id}-files"
        distribution.append(
            {
                "@type": "cr:FileObject",
                "@id": file_id,
                "name": f"{ds.id}/files.tsv",
                "description": f"The {summary.count} files of {ds.title}, one per row, "
                "with their download URL",
                "contentUrl": f"files/{ds.id}/files.tsv",
                "encodingFormat": "text/tab-separated-values",
                "sha256": published_manifest_sha256(
                    ctx, entry, summary, content / entry.folder / ds.files
                ),
            }
        )
        columns = [
            ("path", "path", "Path of the file in the study"),
            ("size", "size", "Size in bytes"),
            ("sha256", "sha256", "SHA-256 of the file"),
            *((c, "text", f"Manifest column {c}") for c in summary.columns),
            ("url", "url", "Download URL"),
        ]
        record_sets.append(
            {
                "@type": "cr:RecordSet",
                "@id": ds.id,
                "name": ds.id,
                "description": plain_text(ds.description) if ds.description else ds.title,
                "field": [
                    {
                        "@type": "cr:Field",
                        "@id": f"{ds.id}/{_node_id(name)}",
                        "name": name,
                        "description": text,
                        "dataType": _data_type(kind),
                        "source": {"fileObject": {"@id": file_id}, "extract": {"column": name}},
                    }
                    for name, kind, text in columns
                ],
            }
        )
    return {
        "@context": CONTEXT,
        "@type": "sc:Dataset",
        "conformsTo": CONFORMS_TO,
        "name": s.accession,
        "alternateName": s.title,
        "description": plain_text(s.description),
        "url": stable_url(ctx, s),
        "sameAs": identifier_url(ctx, s),
        "license": license_url(s.license),
        "creator": [{"@type": "sc:Person", "name": a.name} for a in s.authors],
        "datePublished": s.release_date.isoformat(),
        "dateModified": date_modified(ctx, entry).isoformat(),
        # one major version per commit to the study (its versions on the page)
        "version": f"{max(1, len(ctx.versions_of(s.accession)))}.0.0",
        "keywords": list(s.keywords),
        "citeAs": identifier_url(ctx, s),
        "isLiveDataset": False,
        "distribution": distribution,
        "recordSet": record_sets,
    }


def croissant_steps(ctx: RenderContext, content: Path, studies: bool = True) -> list[Step]:
    """The AI-ready page, and with ``studies`` each AI-ready study's Croissant file (the
    builder plans those with the rest of each study's steps: ``pipeline/groups.py``)."""
    steps = [ai_ready_page_step(ctx)]
    if studies:
        steps += [s for e in ctx.catalogue.public() for s in croissant_study_steps(ctx, content, e)]
    return steps


def croissant_study_steps(ctx: RenderContext, content: Path, entry: StudyEntry) -> list[Step]:
    """The Croissant file of one public study, if it is AI-ready (else none)."""
    if not is_ai_ready(entry):
        return []
    out = croissant_path(entry.accession)
    return [
        Step(
            id=f"croissant:{entry.accession}",
            outputs=(out,),
            digest=digest_of(
                CROISSANT_VERSION,
                ctx.site_digest,
                entry.source_digest,
                ctx.versions_digest(entry.accession),
            ),
            make=lambda: StepResult(
                files={
                    out: (
                        json.dumps(croissant(ctx, entry, content), indent=1, ensure_ascii=False)
                        + "\n"
                    ).encode("utf-8")
                }
            ),
        )
    ]


AI_READY_PAGE = "collections/ai-ready/index.html"


def ai_ready_page_step(ctx: RenderContext) -> Step:
    """The browse page of the AI-ready studies, linking each one's Croissant metadata."""
    from catalogue.steps.context import latest_first

    public = ctx.catalogue.public()  # from the summaries: an edit unpickles no other study
    studies = latest_first(tuple(e for e in public if ctx.summary_of(e)["ai_ready"]))

    def make() -> StepResult:
        html = ctx.env.get_template("ai-ready.html").render(**ctx.page_globals(), studies=studies)
        return StepResult(files={AI_READY_PAGE: html.encode("utf-8")})

    return Step(
        id="page:ai-ready",
        outputs=(AI_READY_PAGE,),
        digest=digest_of(
            CROISSANT_VERSION,
            ctx.templates_digest,
            ctx.site_digest,
            [[e.accession, e.source_digest] for e in studies],
        ),
        make=make,
    )
