"""The static JSON API: /api/v1/index.json (what there is), /api/v1/studies.json (paged
past PAGE_SIZE studies, each page linking the ``next``), /api/v1/studies/<ACCESSION>.json.

Records are built from the model with an explicit list of what is public: e-mail
addresses and the free ``extra`` block never leave the content tree.
"""

from __future__ import annotations

from typing import Any

from catalogue.api_schema import (
    SCHEMAS,
    ApiIndex,
    StudiesIndex,
    StudyRecord,
    WithdrawnRecord,
    checked,
    schema_documents,
)
from catalogue.model import StudyEntry, StudyState
from catalogue.ontology import data_digest
from catalogue.pipeline.output import dumps_json
from catalogue.pipeline.plan import Step, StepResult, digest_of
from catalogue.steps.bulk import bulk_outputs
from catalogue.steps.context import RenderContext
from catalogue.steps.facts import date_modified

API_VERSION = "1"
PAGE_SIZE = 1000  # studies per page of studies.json; the page URLs never change meaning


def page_path(number: int) -> str:
    """Page 1 is studies.json itself, so a site that outgrows one page breaks no client."""
    return "api/v1/studies.json" if number == 1 else f"api/v1/studies/page/{number}.json"


def summary_record(ctx: RenderContext, entry: StudyEntry) -> dict[str, Any]:
    s = entry.study
    return {
        "accession": s.accession,
        "title": s.title,
        "release_date": s.release_date.isoformat(),
        "date_modified": date_modified(ctx, entry).isoformat(),
        "license": s.license,
        "collection": s.collection,
        "keywords": list(s.keywords),
        "ai_ready": s.ai_ready,
        "organisms": [o.label for o in s.organisms],
        "imaging_methods": [m.label for m in s.imaging_methods],
        "datasets": len(s.datasets),
        "files": sum(m.count for m in entry.manifests.values()),
        "bytes": sum(m.total_size for m in entry.manifests.values()),
        **_declared(entry),
        "url": ctx.absolute(ctx.study_url(s.accession)),
        "api_url": ctx.absolute(f"{ctx.root}/api/v1/studies/{s.accession}.json"),
    }


def _declared(entry: StudyEntry) -> dict[str, Any]:
    """What the source says it holds for datasets listed nowhere here (``files`` and
    ``bytes`` count only what is listed): present only when some dataset declares it."""
    declared = entry.declared
    if not declared.datasets:
        return {}
    return {
        "declared_files": declared.files,
        "declared_bytes": declared.size,
        "declared_by": list(declared.by),
    }


def full_record(ctx: RenderContext, entry: StudyEntry) -> dict[str, Any]:
    s = entry.study
    data = s.model_dump(mode="json", exclude={"extra", "format", "withdrawn"})
    for author in data["authors"]:
        author.pop("email", None)
    data["status"] = StudyState.PUBLIC.value
    data["date_modified"] = date_modified(ctx, entry).isoformat()
    data["url"] = ctx.absolute(ctx.study_url(s.accession))
    for ds in data["datasets"]:
        summary = entry.manifests.get(ds["id"])
        ds["file_count"] = summary.count if summary else 0
        ds["total_size"] = summary.total_size if summary else 0
        ds["columns"] = list(summary.columns) if summary else []
        ds.pop("files", None)
        if summary is not None:
            base = f"{ctx.root}/studies/{s.accession}/files/{ds['id']}/"
            ds["downloads"] = {
                "browse": ctx.absolute(base),
                "manifest": ctx.absolute(base + "files.tsv"),
                "urls": ctx.absolute(base + "urls.txt"),
                "sha256sums": ctx.absolute(base + "sha256sums.txt"),
            }
        thumb = ctx.thumbs.get((s.accession, ds["id"]))
        ds["thumbnail"] = ctx.absolute(thumb.url) if thumb and thumb.ok else None
    data["versions"] = ctx.versions_digest(s.accession)
    return data


def withdrawn_record(ctx: RenderContext, entry: StudyEntry) -> dict[str, Any]:
    s = entry.study
    assert s.withdrawn is not None
    return {
        "accession": s.accession,
        "title": s.title,
        "status": StudyState.WITHDRAWN.value,
        "withdrawn": {"date": s.withdrawn.date.isoformat(), "reason": s.withdrawn.reason},
        "url": ctx.absolute(ctx.study_url(s.accession)),
    }


def studies_page(
    ctx: RenderContext, chunk: tuple[StudyEntry, ...], number: int, pages: int, count: int
) -> dict[str, Any]:
    def url(n: int) -> str:
        return ctx.absolute(f"{ctx.root}/{page_path(n)}")

    return {
        "api_version": API_VERSION,
        "count": count,
        "page": number,
        "pages": pages,
        "page_size": PAGE_SIZE,
        "next": url(number + 1) if number < pages else None,
        "previous": url(number - 1) if number > 1 else None,
        # kept in the studies' summaries: a one-study edit renders this page again
        # without unpickling the thousand studies it lists
        "studies": [ctx.summary_of(e)["api"] for e in chunk],
    }


def api_index(ctx: RenderContext, pages: int) -> dict[str, Any]:
    """/api/v1/index.json: every document of the API, the URL patterns of per-study
    records and the schemas, so a program needs to know one URL only."""

    def url(path: str) -> str:
        return ctx.absolute(f"{ctx.root}/{path}")

    study = "studies/{accession}/"
    return {
        "api_version": API_VERSION,
        "title": ctx.site.title,
        "site": url(""),
        "documents": {
            "studies": url("api/v1/studies.json"),
            "stats": url("api/v1/stats.json"),
            "feed": url("feed.xml"),
            "sitemap": url("sitemap.xml"),
            **{name: url(path) for name, path in bulk_outputs(ctx).items()},
        },
        "studies_pages": pages,
        "templates": {
            "study": url("api/v1/studies/{accession}.json"),
            "page": url(study),
            "datacite": url(study + "datacite.xml"),
            "csl": url(study + "citation.json"),
            "bibtex": url(study + "citation.bib"),
            "ris": url(study + "citation.ris"),
            "ro_crate": url(study + "ro-crate-metadata.json"),
            "croissant": url(study + "croissant.json"),
            "dataset_files": url(study + "files/{dataset}/files.tsv"),
        },
        "schemas": {name: url(f"api/v1/schema/{name}.json") for name in sorted(SCHEMAS)},
    }


def _api_digest(ctx: RenderContext) -> str:
    return ctx.once("api-digest", lambda: digest_of(API_VERSION, ctx.site_digest, data_digest()))


def api_steps(ctx: RenderContext, studies: bool = True) -> list[Step]:
    """The API's index, schemas and paged list, and with ``studies`` every visible
    study's record (the builder plans those with the rest of each study's steps:
    ``pipeline/groups.py``)."""
    cat = ctx.catalogue
    site = _api_digest(ctx)
    public = cat.public()
    pages = [public[i : i + PAGE_SIZE] for i in range(0, len(public), PAGE_SIZE)] or [()]
    steps = []
    for number, chunk in enumerate(pages, start=1):
        out = page_path(number)
        steps.append(
            Step(
                id=f"api:studies:{number}",
                outputs=(out,),
                digest=digest_of(
                    site,
                    len(public),
                    len(pages),
                    [[e.accession, e.source_digest, date_modified(ctx, e)] for e in chunk],
                ),
                make=lambda chunk=chunk, number=number, out=out: StepResult(
                    files={
                        out: dumps_json(
                            checked(
                                StudiesIndex,
                                studies_page(ctx, chunk, number, len(pages), len(public)),
                            ),
                            pretty=True,
                        )
                    }
                ),
            )
        )
    index = api_index(ctx, len(pages))
    steps.append(
        Step(
            id="api:index",
            outputs=("api/v1/index.json",),
            digest=digest_of(site, index),
            make=lambda: StepResult(
                files={"api/v1/index.json": dumps_json(checked(ApiIndex, index), pretty=True)}
            ),
        )
    )
    if studies:
        steps += [api_study_step(ctx, entry) for entry in cat.visible()]
    schemas = schema_documents(ctx.site.base_url)
    outputs = tuple(f"api/v1/schema/{name}.json" for name in sorted(schemas))
    steps.append(
        Step(
            id="api:schema",
            outputs=outputs,
            digest=digest_of(API_VERSION, schemas),
            make=lambda: StepResult(
                files={
                    f"api/v1/schema/{name}.json": dumps_json(doc, pretty=True)
                    for name, doc in schemas.items()
                }
            ),
        )
    )
    return steps


def api_study_step(ctx: RenderContext, entry: StudyEntry) -> Step:
    """The record of one visible study (a tombstone once withdrawn)."""
    acc = entry.accession
    out = f"api/v1/studies/{acc}.json"
    withdrawn = entry.state(ctx.catalogue.today) is StudyState.WITHDRAWN
    # a lookup per dataset, not a scan of every thumbnail of the site per study
    thumbs = repr(sorted((ds.id, ctx.thumbs.get((acc, ds.id))) for ds in entry.study.datasets))
    return Step(
        id=f"api:study:{acc}",
        outputs=(out,),
        digest=digest_of(
            _api_digest(ctx),
            entry.source_digest,
            withdrawn,
            thumbs,
            ctx.versions_digest(acc),
            date_modified(ctx, entry),
        ),
        make=lambda: StepResult(
            files={
                out: dumps_json(
                    checked(WithdrawnRecord, withdrawn_record(ctx, entry))
                    if withdrawn
                    else checked(StudyRecord, full_record(ctx, entry)),
                    pretty=True,
                )
            }
        ),
    )
