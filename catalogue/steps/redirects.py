"""Short links and redirects: ``/S-BIAD123`` and its variants, and renamed accessions.

A journal prints ``/studies/S-BIAD123/``, a reader types ``/S-BIAD123`` or
``/s-biad123``, and a study merged into another keeps its old address. All of them
must reach the study page on any host, so each redirect exists twice:

- as a small static HTML page (meta refresh, canonical link and a plain link), which works
  on hosts without rewrite rules (object storage, GitHub Pages): ``/S-BIAD123/``,
  ``/s-biad123/`` and, for an old accession, ``/studies/S-BIAD9/``. The lower-case variant
  of a study folder (``/studies/s-biad123/``) is a rule only, so that ``studies/*/``
  holds nothing but the study pages themselves and their old names;
- as rules for web servers that answer with a real ``301``: ``nginx-redirects-map.conf``
  (an nginx ``map``, for the ``http`` block) with ``nginx-redirects.conf`` (for the
  ``server`` block), Apache's ``.htaccess`` and a ``_redirects`` file (Netlify,
  Cloudflare Pages).

One list of rules (``redirect_rules``) feeds every form and ``urls.txt``, so they cannot
disagree. Rules are made only for visible studies (public or withdrawn: a withdrawn
study's short link leads to its tombstone); an embargoed study gets none, nor does an
old accession that leads to one, so an embargo cannot leak through a redirect.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from catalogue.api_schema import MovedRecord, checked
from catalogue.model import StudyState
from catalogue.pipeline.output import dumps_json
from catalogue.pipeline.plan import Step, StepResult, digest_of, text_digest
from catalogue.readers.redirects import resolve
from catalogue.steps.context import RenderContext
from catalogue.steps.headers import (
    NETLIFY_HEADERS,
    NGINX_BROTLI,
    NGINX_HEADERS,
    htaccess_headers,
    netlify_headers,
    nginx_brotli,
    nginx_headers,
)

REDIRECTS_VERSION = "7"
NGINX_MAP = "nginx-redirects-map.conf"
NGINX_SERVER = "nginx-redirects.conf"
HTACCESS = ".htaccess"
NETLIFY = "_redirects"
SERVER_FILES = (
    NGINX_MAP,
    NGINX_SERVER,
    NGINX_HEADERS,
    NGINX_BROTLI,
    HTACCESS,
    NETLIFY,
    NETLIFY_HEADERS,
)
NGINX_VARIABLE = "$catalogue_redirect"
NGINX_TARGET = "$catalogue_target"
WITHDRAWN = StudyState.WITHDRAWN


@dataclass(frozen=True, order=True)
class Rule:
    """``source`` (a URL path with the site root, without trailing slash) → ``target``.

    kind ``path`` answers ``source`` and ``source/``; ``exact`` only ``source``; ``prefix``
    every path below ``source/`` (the deeper pages, such as file tables, of an old accession
    or of a withdrawn study, whose target is then its own tombstone at ``source/``).
    ``case_of_target`` marks a source that differs from its target only in case
    (``/studies/s-biad1`` → ``/studies/S-BIAD1/``): a server that matches paths without
    regard to case would send the target to itself, so such rules need a guard (nginx) or
    are left to the static pages (``_redirects``).
    """

    source: str
    target: str
    kind: str = "path"
    case_of_target: bool = False

    @property
    def below_target(self) -> bool:
        """A prefix rule whose pattern also covers its own target (a withdrawn study)."""
        return self.kind == "prefix" and self.target == self.source + "/"

    def paths(self) -> list[str]:
        """The concrete URL paths this rule answers (prefix rules answer a pattern)."""
        if self.kind == "path":
            return [self.source, self.source + "/"]
        if self.kind == "prefix":
            return [self.source + "/*"]
        return [self.source]


@dataclass(frozen=True)
class Moved:
    """A visible study's redirects: its static pages and, for an old accession, its API stub."""

    accession: str  # the accession the redirects are named after
    target: str  # the visible study they lead to
    rules: tuple[Rule, ...]
    pages: tuple[str, ...]  # output paths of static redirect pages
    api_stub: str | None  # output path of a JSON record saying where the study went


def case_sensitive(folder: Path) -> bool:
    """Whether ``folder`` tells ``a`` from ``A``. On a case-insensitive file system (macOS,
    Windows) the pages ``s-biad1/`` and ``S-BIAD1/`` would be one file, so the lower-case
    static pages are left out there (the server rules still answer them)."""
    folder.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="case-probe-", dir=folder)
    os.close(fd)
    try:
        return not os.path.exists(os.path.join(folder, os.path.basename(name).upper()))
    finally:
        os.unlink(name)


def plan_redirects(ctx: RenderContext, lower_case_pages: bool = True) -> list[Moved]:
    """Every redirect of the build, grouped by the accession it is named after (planned
    once a build: the redirect steps and ``urls.txt`` both ask)."""
    return ctx.once(f"redirects:{lower_case_pages}", lambda: _plan(ctx, lower_case_pages))


def _plan(ctx: RenderContext, lower_case_pages: bool) -> list[Moved]:
    root = ctx.root
    cat = ctx.catalogue
    visible = {e.accession for e in cat.visible()}
    withdrawn = {e.accession for e in cat.visible() if e.state(cat.today) is WITHDRAWN}
    moved: list[Moved] = []

    def study(acc: str) -> str:
        return f"{root}/studies/{acc}/"

    for acc in sorted(visible):
        low = acc.lower()
        rules = [
            Rule(f"{root}/{acc}", study(acc)),
            Rule(f"{root}/{low}", study(acc)),
            Rule(f"{root}/studies/{low}", study(acc), case_of_target=True),
        ]
        if acc in withdrawn:  # its file tables are gone: old links to them reach the tombstone
            rules.append(Rule(f"{root}/studies/{acc}", study(acc), "prefix"))
        pages = [f"{acc}/index.html"]
        if lower_case_pages:
            pages.append(f"{low}/index.html")
        moved.append(Moved(acc, acc, tuple(rules), tuple(pages), None))
    for old, new in sorted(resolve(ctx.catalogue.redirects).items()):
        if new not in visible:
            continue  # an embargoed target: nothing may name it yet
        low = old.lower()
        rules = [
            Rule(f"{root}/{old}", study(new)),
            Rule(f"{root}/{low}", study(new)),
            Rule(f"{root}/studies/{old}", study(new)),
            Rule(f"{root}/studies/{low}", study(new)),
            Rule(f"{root}/studies/{old}", study(new), "prefix"),
            Rule(f"{root}/api/v1/studies/{old}.json", f"{root}/api/v1/studies/{new}.json", "exact"),
        ]
        pages = [f"{old}/index.html", f"studies/{old}/index.html"]
        if lower_case_pages:
            pages.append(f"{low}/index.html")
        moved.append(Moved(old, new, tuple(rules), tuple(pages), f"api/v1/studies/{old}.json"))
    return moved


def redirect_rules(moved: list[Moved]) -> list[Rule]:
    """Every rule in the dataclass's order, sorted on one key tuple a rule (the generated
    comparisons build two tuples a comparison: a third of planning the redirects)."""
    rules = [r for m in moved for r in m.rules]
    return sorted(rules, key=lambda r: (r.source, r.target, r.kind, r.case_of_target))


def redirect_steps(ctx: RenderContext, lower_case_pages: bool = True) -> list[Step]:
    moved = plan_redirects(ctx, lower_case_pages)
    rules = redirect_rules(moved)
    # only the redirect template is read: a change of the site's style must not rewrite
    # 200,000 redirect pages
    template = ctx.env.loader.get_source(ctx.env, "redirect.html")[0] if ctx.env.loader else ""
    base = digest_of(REDIRECTS_VERSION, template, ctx.site_digest)
    steps = [
        Step(
            id="redirects:server",
            outputs=SERVER_FILES,
            digest=digest_of(
                base, ctx.root, [(r.source, r.target, r.kind, r.case_of_target) for r in rules]
            ),
            make=lambda: StepResult(files=server_files(ctx.root, rules)),
        )
    ]
    for m in moved:
        outputs = (*m.pages, *([m.api_stub] if m.api_stub else []))
        steps.append(
            Step(
                id=f"redirect:{m.accession}",
                outputs=outputs,
                digest=text_digest(base, m.accession, m.target, *outputs),
                make=lambda m=m: StepResult(files=_redirect_files(ctx, m)),
            )
        )
    return steps


def _redirect_files(ctx: RenderContext, m: Moved) -> dict[str, bytes]:
    target = ctx.study_url(m.target)
    html = (
        ctx.env.get_template("redirect.html")
        .render(
            **ctx.page_globals(),
            accession=m.accession,
            target_accession=m.target,
            target=target,
            canonical=ctx.absolute(target),
        )
        .encode("utf-8")
    )
    files = {page: html for page in m.pages}
    if m.api_stub:
        files[m.api_stub] = dumps_json(
            checked(
                MovedRecord,
                {
                    "accession": m.accession,
                    "status": "moved",
                    "moved_to": m.target,
                    "url": ctx.absolute(target),
                    "api_url": ctx.absolute(f"{ctx.root}/api/v1/studies/{m.target}.json"),
                },
            ),
            pretty=True,
        )
    return files


# --- web server rules ------------------------------------------------------------------

HEADER = "Generated by `catalogue build` from the content tree: do not edit."


def _pcre_escape(text: str) -> str:
    """Escape regex metacharacters only (``re.escape`` also escapes ``-``, which is legal
    but makes the rules harder to read)."""
    return re.sub(r"([.^$*+?()\[\]{}|\\])", r"\\\1", text)


def _nginx_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def nginx_map(rules: list[Rule]) -> str:
    """An nginx ``map`` from the request path to its redirect target: exact keys are a hash
    lookup, so 100,000 studies cost no more per request than ten (``location`` blocks would
    cost memory per block, and regexes time per request).

    nginx compares map strings without regard to case, which answers ``/S-Biad1`` too but
    would also send ``/studies/S-BIAD1/`` to itself through the key ``/studies/s-biad1/``;
    a second map (one constant regex) drops a target equal to the request path.
    """
    entries: dict[str, tuple[str, str]] = {}  # lower-cased key → (key, target)
    patterns: list[tuple[str, str]] = []
    for r in rules:
        if r.kind == "prefix":
            patterns.append(("~*^" + _pcre_escape(r.source + "/") + ".", r.target))
        else:
            for p in r.paths():
                entries.setdefault(p.lower(), (p, r.target))
    size = 1 << max(11, (2 * len(entries)).bit_length())
    lines = [
        f"# {HEADER}",
        "# Include inside http { }, and nginx-redirects.conf inside the server { } of the site.",
        f"map_hash_max_size {size};",
        "map_hash_bucket_size 128;",
        f"map $uri {NGINX_TARGET} {{",
        '    default "";',
    ]
    lines += [f"    {_nginx_quote(k)} {_nginx_quote(v)};" for _, (k, v) in sorted(entries.items())]
    lines += [f"    {_nginx_quote(k)} {_nginx_quote(v)};" for k, v in patterns]
    lines += [
        "}",
        f'map "$uri {NGINX_TARGET}" {NGINX_VARIABLE} {{',
        f"    default {NGINX_TARGET};",
        '    "~^(\\S+) \\1$" "";',
        "}",
    ]
    return "\n".join(lines) + "\n"


def nginx_server(root: str) -> str:
    internal = "|".join(_pcre_escape(f) for f in (*SERVER_FILES, ".catalogue-state.json"))
    return (
        f"# {HEADER}\n"
        f"# Include inside the server {{ }} of the site; needs {NGINX_MAP} in http {{ }}.\n"
        f"if ({NGINX_VARIABLE}) {{\n"
        f"    return 301 {NGINX_VARIABLE};\n"
        "}\n"
        "# deployment files in the site folder are not part of the site\n"
        f'location ~ "^{_pcre_escape(root)}/(?:{internal})$" {{\n'
        "    return 404;\n"
        "}\n"
    )


def htaccess(root: str, rules: list[Rule]) -> str:
    """mod_rewrite rules, relative to the folder that holds the site (where .htaccess is).

    Apache reads .htaccess on every request and tries its rules in order; above some ten
    thousand studies put the same rules in the server configuration instead (docs).

    The deployment files (this one included) answer 404 with the site's page, as on nginx:
    a rewrite needs only ``AllowOverride FileInfo``, where ``Require`` would need
    ``AuthConfig`` and answer 403; it is the fallback when mod_rewrite is missing."""
    internal = "|".join(_pcre_escape(f) for f in (*SERVER_FILES, ".catalogue-state.json"))
    lines = [
        f"# {HEADER}",
        f"ErrorDocument 404 {root}/404.html",
        "Options -MultiViews",
        "<IfModule mod_rewrite.c>",
        "RewriteEngine On",
        "# deployment files in the site folder are not part of the site",
        f"RewriteRule ^(?:{internal})$ - [R=404,L]",
    ]
    for r in rules:
        pattern = _pcre_escape(r.source[len(root) + 1 :])
        if r.kind == "path":
            pattern += "/?$"
        elif r.kind == "prefix":
            pattern += "/."
        else:
            pattern += "$"
        lines.append(f"RewriteRule ^{pattern} {r.target} [R=301,L]")
    lines += [
        "</IfModule>",
        "<IfModule !mod_rewrite.c>",
        f'<FilesMatch "^(?:{internal})$">',
        "Require all denied",
        "</FilesMatch>",
        "</IfModule>",
        *htaccess_headers(root),
    ]
    return "\n".join(lines) + "\n"


def netlify(rules: list[Rule]) -> str:
    """``_redirects`` for Netlify and Cloudflare Pages; ``301!`` because the static redirect
    page at the same path would otherwise shadow the rule on Netlify. A splat that covers
    its own target (a withdrawn study's folder) is not forced: Netlify then applies it only
    where no file exists, which keeps the tombstone itself out of it."""
    lines = [f"# {HEADER}"]
    for r in rules:
        if not r.case_of_target:
            code = "301" if r.below_target else "301!"
            lines += [f"{p} {r.target} {code}" for p in r.paths()]
    return "\n".join(lines) + "\n"


def server_files(root: str, rules: list[Rule]) -> dict[str, bytes]:
    return {
        NGINX_MAP: nginx_map(rules).encode(),
        NGINX_SERVER: nginx_server(root).encode(),
        NGINX_HEADERS: nginx_headers(root, HEADER).encode(),
        NGINX_BROTLI: nginx_brotli(HEADER).encode(),
        HTACCESS: htaccess(root, rules).encode(),
        NETLIFY: netlify(rules).encode(),
        NETLIFY_HEADERS: netlify_headers(root, HEADER).encode(),
    }
