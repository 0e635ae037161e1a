"""The Atom feed of releases and the statistics page (/stats/, /api/v1/stats.json).

Both are computed from ``Catalogue.public()`` only, so an embargoed study is never
counted. Dates are release dates, never the build time: same content, same bytes.
"""

from __future__ import annotations

from collections import Counter
from typing import Any
from xml.sax.saxutils import escape

from catalogue.api_schema import Stats, checked
from catalogue.model import StudyEntry
from catalogue.pipeline.output import dumps_json
from catalogue.pipeline.plan import Step, StepResult, digest_of
from catalogue.render import plain_text
from catalogue.steps.context import RenderContext
from catalogue.steps.summaries import Summary

FEED_ENTRIES = 50
STATS_VERSION = "1"


def _atom_date(entry: StudyEntry) -> str:
    return f"{entry.release_date.isoformat()}T00:00:00Z"


def feed_bytes(ctx: RenderContext, entries: list[StudyEntry]) -> bytes:
    site = ctx.site
    home = ctx.absolute(f"{ctx.root}/")
    updated = _atom_date(entries[0]) if entries else "1970-01-01T00:00:00Z"
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom">',
        f"  <title>{escape(site.title)}: new studies</title>",
        f"  <id>{escape(home)}</id>",
        f'  <link rel="alternate" type="text/html" href="{escape(home)}"/>',
        f'  <link rel="self" href="{escape(ctx.absolute(ctx.root + "/feed.xml"))}"/>',
        f"  <updated>{updated}</updated>",
    ]
    for entry in entries:
        s = entry.study
        url = ctx.absolute(ctx.study_url(s.accession))
        summary = plain_text(s.description)
        if len(summary) > 500:
            summary = summary[:497].rsplit(" ", 1)[0] + "…"
        lines += [
            "  <entry>",
            f"    <title>{escape(s.accession)}: {escape(s.title)}</title>",
            f"    <id>{escape(url)}</id>",
            f'    <link rel="alternate" type="text/html" href="{escape(url)}"/>',
            f"    <published>{_atom_date(entry)}</published>",
            f"    <updated>{_atom_date(entry)}</updated>",
            *(f"    <author><name>{escape(a.name)}</name></author>" for a in s.authors[:10]),
            f"    <summary>{escape(summary)}</summary>",
            "  </entry>",
        ]
    lines.append("</feed>")
    return ("\n".join(lines) + "\n").encode("utf-8")


def totals(summaries: list[Summary]) -> dict[str, int]:
    """The archive in four numbers (home page, stats page, stats.json), from the public
    studies' summaries (``steps/summaries.py``)."""
    return {
        "studies": len(summaries),
        "datasets": sum(s["datasets"] for s in summaries),
        "files": sum(s["files"] for s in summaries),
        "bytes": sum(s["bytes"] for s in summaries),
    }


def statistics_of(ctx: RenderContext) -> dict[str, Any]:
    """``statistics`` of the public studies, once a build (home and stats pages)."""
    public = ctx.catalogue.public()
    return ctx.once("statistics", lambda: statistics([ctx.summary_of(e) for e in public]))


def statistics(summaries: list[Summary]) -> dict[str, Any]:
    """Counts a reader of the stats page or a machine client wants, all sorted."""
    years: Counter[int] = Counter(s["year"] for s in summaries)
    organisms: Counter[str] = Counter(o for s in summaries for o in s["organisms"])
    methods: Counter[str] = Counter(m for s in summaries for m in s["methods"])
    licences: Counter[str] = Counter(s["license"] for s in summaries)
    collections: Counter[str] = Counter(s["collection"] for s in summaries)
    formats: Counter[str] = Counter()
    for s in summaries:
        for fmt, n in s["formats"]:
            formats[fmt] += n
    growth = []
    total = 0
    for year in sorted(years):
        total += years[year]
        growth.append({"year": year, "released": years[year], "total": total})
    return {
        **totals(summaries),
        "growth": growth,
        "organisms": _ranked(organisms),
        "imaging_methods": _ranked(methods),
        "licences": _ranked(licences),
        "collections": _ranked(collections),
        "file_formats": [
            {"name": k, "files": n}
            for k, n in sorted(formats.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
    }


def _ranked(counter: Counter[str]) -> list[dict[str, Any]]:
    return [
        {"name": k, "studies": n}
        for k, n in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
    ]


def stats_steps(ctx: RenderContext) -> list[Step]:
    ordered = ctx.newest[:FEED_ENTRIES]
    site = digest_of(STATS_VERSION, ctx.templates_digest, ctx.site_digest)
    stats = statistics_of(ctx)
    # each output depends on what it shows only: the counts (computed while planning,
    # cheap) for the statistics, the newest studies' records for the feed; so an edit of
    # an older study's text re-renders neither
    shown = digest_of(site, stats, ctx.browse_slugs)
    feed = digest_of(site, [[e.accession, e.source_digest] for e in ordered])

    def render_page() -> StepResult:
        html = ctx.env.get_template("stats.html").render(**ctx.page_globals(), stats=stats)
        return StepResult(files={"stats/index.html": html.encode("utf-8")})

    return [
        Step(
            id="feed",
            outputs=("feed.xml",),
            digest=feed,
            make=lambda: StepResult(files={"feed.xml": feed_bytes(ctx, ordered)}),
        ),
        Step(id="page:stats", outputs=("stats/index.html",), digest=shown, make=render_page),
        Step(
            id="api:stats",
            outputs=("api/v1/stats.json",),
            digest=shown,
            make=lambda: StepResult(
                files={"api/v1/stats.json": dumps_json(checked(Stats, stats), pretty=True)}
            ),
        ),
    ]
