"""``urls.txt``: every URL path the build serves, the record the URL contract is checked with.

``catalogue check-urls`` compares the ``urls.txt`` of the site that was deployed last with
the one of a new build, so a URL that a paper may cite cannot silently disappear.

The list is computed from what the steps *declare* they write (before any of them runs)
and from the redirect rules, sorted, one path a line. A line ending in ``*`` stands for
every path under it (an old accession's folder redirects as a whole). Left out, because
their names change by design and nobody cites them: the search index
(``/search/index/``), the browse lists of ``/browse/`` (views that come and go with values),
content-addressed thumbnails, static assets, the data chunks behind file tables, and the
deployment files (web server rules, build state).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence

from catalogue.pipeline.plan import Step, StepResult
from catalogue.steps.context import RenderContext
from catalogue.steps.redirects import SERVER_FILES, plan_redirects, redirect_rules

URLS_FILE = "urls.txt"
URLS_VERSION = "2"  # bump with any change to url_of or INTERNAL
INTERNAL = re.compile(
    r"^(?:search/index/|browse/|thumbnails/|static/|studies/[^/]+/files/[^/]+/data/"
    r"|\.catalogue-state\.json$)"
)


def url_of(output: str, root: str) -> str | None:
    """The URL path a reader uses for an output file, or None for internal files."""
    if output in SERVER_FILES or INTERNAL.match(output):
        return None
    if output == "index.html":
        return f"{root}/"
    if output.endswith("/index.html"):
        return f"{root}/{output.removesuffix('index.html')}"
    return f"{root}/{output}"


def served_urls(ctx: RenderContext, outputs: Iterable[str]) -> list[str]:
    urls = {u for o in outputs if (u := url_of(o, ctx.root)) is not None}
    urls.add(f"{ctx.root}/{URLS_FILE}")
    for rule in redirect_rules(plan_redirects(ctx)):
        urls.update(rule.paths())
    return sorted(urls)


def urllist_steps(ctx: RenderContext, steps: Sequence[Step]) -> list[Step]:
    """One step writing urls.txt from the declared outputs of ``steps``.

    Mapping 350,000 outputs to URLs and sorting them took a tenth of an edit's build at
    10,000 studies, for a list an edit hardly ever changes. So the step's digest is that of
    its inputs (every output path, the root, the redirect rules: one hash of their joined
    text) and the list is made only when they change.
    """
    h = hashlib.sha256(f"{URLS_VERSION}\0{ctx.root}\0".encode())
    h.update("\0".join([o for s in steps for o in s.outputs]).encode())
    rules = redirect_rules(plan_redirects(ctx))
    h.update("\0".join(f"{r.source} {r.target} {r.kind}" for r in rules).encode())

    def make() -> StepResult:
        urls = served_urls(ctx, (o for s in steps for o in s.outputs))
        return StepResult(files={URLS_FILE: ("".join(u + "\n" for u in urls)).encode("utf-8")})

    return [Step(id="urls", outputs=(URLS_FILE,), digest=h.hexdigest(), make=make)]
