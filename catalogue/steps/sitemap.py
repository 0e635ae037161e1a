"""sitemap.xml and robots.txt. Dates are release dates, never build times (determinism)."""

from __future__ import annotations

from xml.sax.saxutils import escape

from catalogue.pipeline.plan import Step, StepResult, digest_of
from catalogue.steps.context import RenderContext


def sitemap_steps(ctx: RenderContext) -> list[Step]:
    public = ctx.catalogue.public()
    urls: list[tuple[str, str | None]] = [
        (ctx.absolute(f"{ctx.root}/"), None),
        (ctx.absolute(f"{ctx.root}/studies/"), None),
        (ctx.absolute(f"{ctx.root}/search/"), None),
    ]
    urls += [
        (ctx.absolute(ctx.study_url(e.study.accession)), e.study.release_date.isoformat())
        for e in public
    ]

    def make_sitemap() -> StepResult:
        lines = [
            '<?xml version="1.0" encoding="UTF-8"?>',
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">',
        ]
        for loc, lastmod in urls:
            extra = f"<lastmod>{lastmod}</lastmod>" if lastmod else ""
            lines.append(f"  <url><loc>{escape(loc)}</loc>{extra}</url>")
        lines.append("</urlset>")
        return StepResult(files={"sitemap.xml": ("\n".join(lines) + "\n").encode()})

    robots = (
        f"User-agent: *\nDisallow: {ctx.root}/.catalogue-state.json\n"
        f"Sitemap: {ctx.absolute(ctx.root + '/sitemap.xml')}\n"
    )
    return [
        Step(id="sitemap", outputs=("sitemap.xml",), digest=digest_of(urls), make=make_sitemap),
        Step(
            id="robots",
            outputs=("robots.txt",),
            digest=digest_of(robots),
            make=lambda: StepResult(files={"robots.txt": robots.encode()}),
        ),
    ]
