"""The static JSON API: /api/v1/studies.json and /api/v1/studies/<ACCESSION>.json.

Records are built from the model with an explicit list of what is public: e-mail
addresses and the free ``extra`` block never leave the content tree.
"""

from __future__ import annotations

from typing import Any

from catalogue.api_schema import (
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
from catalogue.steps.context import RenderContext

API_VERSION = "1"


def summary_record(ctx: RenderContext, entry: StudyEntry) -> dict[str, Any]:
    s = entry.study
    return {
        "accession": s.accession,
        "title": s.title,
        "release_date": s.release_date.isoformat(),
        "license": s.license,
        "collection": s.collection,
        "keywords": list(s.keywords),
        "organisms": [o.label for o in s.organisms],
        "imaging_methods": [m.label for m in s.imaging_methods],
        "datasets": len(s.datasets),
        "files": sum(m.count for m in entry.manifests.values()),
        "bytes": sum(m.total_size for m in entry.manifests.values()),
        "url": ctx.absolute(ctx.study_url(s.accession)),
        "api_url": ctx.absolute(f"{ctx.root}/api/v1/studies/{s.accession}.json"),
    }


def full_record(ctx: RenderContext, entry: StudyEntry) -> dict[str, Any]:
    s = entry.study
    data = s.model_dump(mode="json", exclude={"extra", "format", "withdrawn"})
    for author in data["authors"]:
        author.pop("email", None)
    data["status"] = StudyState.PUBLIC.value
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


def api_steps(ctx: RenderContext) -> list[Step]:
    cat = ctx.catalogue
    site = digest_of(API_VERSION, ctx.site.model_dump(mode="json"), data_digest())
    public = cat.public()
    steps = [
        Step(
            id="api:studies",
            outputs=("api/v1/studies.json",),
            digest=digest_of(site, [[e.study.accession, e.source_digest] for e in public]),
            make=lambda: StepResult(
                files={
                    "api/v1/studies.json": dumps_json(
                        checked(
                            StudiesIndex,
                            {
                                "api_version": API_VERSION,
                                "count": len(public),
                                "studies": [summary_record(ctx, e) for e in public],
                            },
                        ),
                        pretty=True,
                    )
                }
            ),
        )
    ]
    for entry in cat.visible():
        acc = entry.study.accession
        out = f"api/v1/studies/{acc}.json"
        withdrawn = entry.state(cat.today) is StudyState.WITHDRAWN
        # a lookup per dataset, not a scan of every thumbnail of the site per study
        thumbs = repr(sorted((ds.id, ctx.thumbs.get((acc, ds.id))) for ds in entry.study.datasets))
        steps.append(
            Step(
                id=f"api:study:{acc}",
                outputs=(out,),
                digest=digest_of(
                    site, entry.source_digest, withdrawn, thumbs, ctx.versions_digest(acc)
                ),
                make=lambda entry=entry, out=out, withdrawn=withdrawn: StepResult(
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
        )
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
