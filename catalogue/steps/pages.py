"""HTML pages: home, browse, one per study, search, 404.

The search index (``steps/query_index.py``) is built from the model, not from these
pages, so it holds public studies and nothing else.
"""

from __future__ import annotations

from collections import Counter

from catalogue.charts import growth_chart
from catalogue.model import StudyEntry, StudyState
from catalogue.ontology import data_digest
from catalogue.pipeline.plan import Step, StepResult, digest_of
from catalogue.steps.browse import browse_steps
from catalogue.steps.context import RenderContext
from catalogue.steps.files import download_commands
from catalogue.steps.linked_data import data_catalog, study_page_values
from catalogue.steps.stats import statistics_of

PAGE_VERSION = "1"


def _render(ctx: RenderContext, template: str, out: str, **values: object) -> StepResult:
    html = ctx.env.get_template(template).render(**ctx.page_globals(), **values)
    return StepResult(files={out: html.encode("utf-8")})


def _site_digest(ctx: RenderContext) -> str:
    """Asked once per study page: dumping the site model each time was a tenth of
    planning an edit at 10,000 studies."""
    return ctx.once(
        "page-site-digest",
        lambda: digest_of(
            PAGE_VERSION, ctx.templates_digest, ctx.site.model_dump(mode="json"), data_digest()
        ),
    )


def study_step(ctx: RenderContext, entry: StudyEntry) -> Step:
    acc = entry.accession
    out = f"studies/{acc}/index.html"
    thumbs = {ds.id: ctx.thumbs.get((acc, ds.id)) for ds in entry.study.datasets}
    state = entry.state(ctx.catalogue.today)
    template = "tombstone.html" if state is StudyState.WITHDRAWN else "study.html"
    return Step(
        id=f"page:study:{acc}",
        outputs=(out,),
        digest=digest_of(
            _site_digest(ctx),
            entry.source_digest,
            state,
            repr(sorted(thumbs.items())),
            ctx.versions_digest(acc),
            ctx.local_extras(acc),
        ),
        make=lambda: _render(
            ctx,
            template,
            out,
            entry=entry,
            study=entry.study,
            thumbs=thumbs,
            download_commands=lambda lists, checksums=0: download_commands(
                ctx, acc, lists, checksums
            ),
            **(study_page_values(ctx, entry) if state is not StudyState.WITHDRAWN else {}),
        ),
    )


def listing_steps(ctx: RenderContext) -> list[Step]:
    public = ctx.catalogue.public()
    ordered = ctx.newest
    summaries = [ctx.summary_of(e) for e in public]
    stats = statistics_of(ctx)
    counts = {k: stats[k] for k in ("studies", "datasets", "files", "bytes")}  # totals
    growth = stats["growth"] if len(public) > 1 else None
    latest = ordered[:8]
    ai_ready = sum(1 for s in summaries if s["ai_ready"])
    collections = sorted(Counter(s["collection"] for s in summaries).items())
    # what the home page shows, so that an edit of what it does not show (a description,
    # an older study's title) does not render it again
    base = digest_of(
        _site_digest(ctx),
        counts,
        [ctx.summary_of(e)["card"] for e in latest],
        ai_ready,
        growth,
        collections,
        ctx.browse_slugs.get("collection", {}),
    )
    steps: list[Step] = []
    steps.append(
        Step(
            id="page:home",
            outputs=("index.html",),
            digest=base,
            make=lambda: _render(
                ctx,
                "home.html",
                "index.html",
                counts=counts,
                latest=latest,
                growth_svg=growth_chart(growth) if growth is not None else "",
                linked_data=data_catalog(ctx),
                ai_ready=ai_ready,
                collections=collections,
            ),
        )
    )
    steps += browse_steps(ctx, _site_digest(ctx))
    site_digest = _site_digest(ctx)
    searchable = bool(public)
    steps.append(
        Step(
            id="page:search",
            outputs=("search/index.html",),
            digest=digest_of(site_digest, searchable),
            make=lambda: _render(
                ctx, "search.html", "search/index.html", searchable=searchable, current="search"
            ),
        )
    )
    steps.append(
        Step(
            id="page:404",
            outputs=("404.html",),
            digest=site_digest,
            make=lambda: _render(ctx, "404.html", "404.html"),
        )
    )
    return steps


def page_steps(ctx: RenderContext) -> list[Step]:
    steps = listing_steps(ctx)
    steps.extend(study_step(ctx, e) for e in ctx.catalogue.visible())
    return steps
