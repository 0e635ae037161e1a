"""sitemap.xml and robots.txt, for crawlers and harvesters.

Each study's ``lastmod`` is its last change (the newest git commit touching its folder,
never before its release), so a crawler revisits what changed. Dates come from the
content and its history, never the build time (determinism). Past MAX_URLS URLs (the
sitemaps.org limit) ``sitemap.xml`` becomes a sitemap index of ``sitemaps/<n>.xml``.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from catalogue.pipeline.plan import Step, StepResult, digest_of
from catalogue.steps.context import RenderContext
from catalogue.steps.facts import date_modified

SITEMAP_VERSION = "2"
MAX_URLS = 50_000
NS = "http://www.sitemaps.org/schemas/sitemap/0.9"


def _urlset(urls: list[tuple[str, str | None]]) -> bytes:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', f'<urlset xmlns="{NS}">']
    for loc, lastmod in urls:
        extra = f"<lastmod>{lastmod}</lastmod>" if lastmod else ""
        lines.append(f"  <url><loc>{escape(loc)}</loc>{extra}</url>")
    lines.append("</urlset>")
    return ("\n".join(lines) + "\n").encode()


def _index(children: list[tuple[str, str | None]]) -> bytes:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', f'<sitemapindex xmlns="{NS}">']
    for loc, lastmod in children:
        extra = f"<lastmod>{lastmod}</lastmod>" if lastmod else ""
        lines.append(f"  <sitemap><loc>{escape(loc)}</loc>{extra}</sitemap>")
    lines.append("</sitemapindex>")
    return ("\n".join(lines) + "\n").encode()


def robots_txt(ctx: RenderContext) -> str:
    """Crawlers read robots.txt only at the host's root: under a sub-path base_url the
    file says so and holds the lines to merge into the host's own."""
    lines = []
    if ctx.root:
        lines += [
            f"# This site is served under {ctx.root}/. Crawlers read robots.txt only at the",
            "# root of the host: merge these lines into the host's /robots.txt.",
        ]
    lines += [
        "User-agent: *",
        f"Disallow: {ctx.root}/.catalogue-state.json",
        f"Sitemap: {ctx.absolute(ctx.root + '/sitemap.xml')}",
    ]
    return "\n".join(lines) + "\n"


def sitemap_steps(ctx: RenderContext) -> list[Step]:
    public = ctx.catalogue.public()
    urls: list[tuple[str, str | None]] = [
        (ctx.absolute(f"{ctx.root}/"), None),
        (ctx.absolute(f"{ctx.root}/studies/"), None),
        (ctx.absolute(f"{ctx.root}/search/"), None),
    ]
    urls += [
        (ctx.absolute(ctx.study_url(e.accession)), date_modified(ctx, e).isoformat())
        for e in public
    ]
    chunks = [urls[i : i + MAX_URLS] for i in range(0, len(urls), MAX_URLS)]
    steps: list[Step] = []
    if len(chunks) == 1:
        steps.append(
            Step(
                id="sitemap",
                outputs=("sitemap.xml",),
                digest=digest_of(SITEMAP_VERSION, urls),
                make=lambda: StepResult(files={"sitemap.xml": _urlset(urls)}),
            )
        )
    else:
        children = []
        for n, chunk in enumerate(chunks, start=1):
            out = f"sitemaps/{n}.xml"
            dates = [d for _, d in chunk if d]
            children.append((ctx.absolute(f"{ctx.root}/{out}"), max(dates) if dates else None))
            steps.append(
                Step(
                    id=f"sitemap:{n}",
                    outputs=(out,),
                    digest=digest_of(SITEMAP_VERSION, chunk),
                    make=lambda chunk=chunk, out=out: StepResult(files={out: _urlset(chunk)}),
                )
            )
        steps.append(
            Step(
                id="sitemap",
                outputs=("sitemap.xml",),
                digest=digest_of(SITEMAP_VERSION, children),
                make=lambda: StepResult(files={"sitemap.xml": _index(children)}),
            )
        )
    robots = robots_txt(ctx)
    steps.append(
        Step(
            id="robots",
            outputs=("robots.txt",),
            digest=digest_of(robots),
            make=lambda: StepResult(files={"robots.txt": robots.encode()}),
        )
    )
    return steps
