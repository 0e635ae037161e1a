"""The Jinja environment, markdown rendering and the sanitiser.

Templates receive model objects and never open files, so rendering stays a pure
function of the catalogue.
"""

from __future__ import annotations

import functools
import html
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
import markdown as md
import nh3
from markupsafe import Markup

from catalogue.charts import growth_chart
from catalogue.csp import CONTENT_SECURITY_POLICY
from catalogue.paths import escapes


def _templates_dir() -> Path:
    """The templates of an installed wheel, else those of the source checkout."""
    here = Path(__file__).resolve().parent
    packaged = here / "site_templates"
    return packaged if packaged.is_dir() else here.parent / "templates"


TEMPLATES = _templates_dir()

# What markdown may produce and a reader's browser may receive: no scripts, styles,
# iframes or event handlers; links only to safe schemes (nh3's defaults exclude javascript:).
ALLOWED_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "code",
    "dd",
    "dl",
    "dt",
    "em",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "li",
    "ol",
    "p",
    "pre",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "td": {"align"}, "th": {"align"}}


# One Markdown converter per thread, reset between texts: building one costs about as
# much as converting a description (its extensions, patterns and processors).
_converters = threading.local()
MEMO_SIZE = 4096  # texts remembered per process: a study's are reused by its ~6 steps


def _converter() -> md.Markdown:
    converter = getattr(_converters, "markdown", None)
    if converter is None:
        converter = md.Markdown(extensions=["tables", "sane_lists"], output_format="html")
        _converters.markdown = converter
    return converter


@functools.lru_cache(maxsize=MEMO_SIZE)
def _sanitised_html(text: str) -> str:
    html = _converter().reset().convert(text)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


def markdown_to_html(text: str | None) -> Markup:
    """A description's HTML, sanitised. The page, the feed and the API of a study show the
    same texts: each is converted once per process (the build runs a study's steps in one
    worker, see ``catalogue.pipeline.workers``)."""
    if not text:
        return Markup("")
    return Markup(_sanitised_html(text))


@functools.lru_cache(maxsize=MEMO_SIZE)
def _plain(text: str) -> str:
    # the text of the page's own HTML: one Markdown conversion a text, not two (Markdown
    # is a tenth of rendering a study)
    return " ".join(html.unescape(nh3.clean(_sanitised_html(text), tags=set())).split())


def plain_text(text: str | None) -> str:
    """Markdown reduced to text, for meta descriptions and feeds. Returns *text* (nh3's
    entities decoded), so that the template or XML writer escapes it exactly once.
    Memoised like ``markdown_to_html``: the meta tag, JSON-LD, RO-Crate and Croissant of
    a study all carry its description."""
    if not text:
        return ""
    return _plain(text)


def web_url(value: str | None) -> bool:
    """Whether a URL may be a link (http or https); anything else is shown as text."""
    return bool(value) and str(value).strip().lower().startswith(("https://", "http://"))


def filesize(n: int | None) -> str:
    if n is None:
        return "unknown"
    value = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if value < 1000 or unit == "PB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{n} B"  # pragma: no cover


def size_summary(total: int, unknown: int, count: int) -> str:
    """'1.2 GB in total', or says how much is unknown: 0 B must never stand for unknown."""
    if count and unknown >= count:
        return "size unknown"
    text = f"{filesize(total)} in total"
    if unknown:
        text += f" (size of {unknown:,} unknown)"
    return text


def thousands(n: int) -> str:
    return f"{n:,}"


def url_path(path: str) -> str:
    """Percent-encode a manifest path for a URL, keeping '/' separators."""
    return quote(path, safe="/")


def json_ld(value: Any) -> Markup:
    """JSON for a <script type="application/ld+json"> block, safe against '</script>'."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)


class _TemplatesLoader(jinja2.FileSystemLoader):
    """Templates from one folder, never through a link out of it."""

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        source, filename, uptodate = super().get_source(environment, template)
        if escapes(Path(filename), Path(self.searchpath[0])):
            raise jinja2.TemplateNotFound(f"{template} (a link out of the templates folder)")
        return source, filename, uptodate


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """Compiled templates in the cache folder (``$CATALOGUE_CACHE_DIR``): compiling the study
    page and its macros took a few tenths of a second in every build process, more than
    rendering the one page an edit changes. Jinja checks each entry against the template's
    source and the Python version, so a stale entry is never used."""
    from catalogue.readers import summary_cache

    base = summary_cache.cache_dir()
    if base is None:
        return None
    folder = base.parent / "templates"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return jinja2.FileSystemBytecodeCache(str(folder))


def make_environment(templates: Path = TEMPLATES) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=_TemplatesLoader(str(templates)),
        bytecode_cache=_bytecode_cache(),
        autoescape=jinja2.select_autoescape(["html", "xml"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,  # one build, one set of templates: no stat per page and include
    )
    env.globals["content_security_policy"] = CONTENT_SECURITY_POLICY
    env.filters.update(
        markdown=markdown_to_html,
        plain=plain_text,
        web_url=web_url,
        filesize=filesize,
        size_summary=size_summary,
        thousands=thousands,
        url_path=url_path,
        json_ld=json_ld,
        growth_chart=growth_chart,
    )
    return env


def templates_digest(templates: Path = TEMPLATES) -> str:
    """One hash of every template and static file: a change re-renders all pages."""
    import hashlib

    h = hashlib.sha256()
    for p in sorted(templates.rglob("*")):
        if p.is_file() and not escapes(p, templates):
            h.update(str(p.relative_to(templates)).encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()
