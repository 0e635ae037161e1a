"""``catalogue preview``: a private bundle of one study for the reviewers of a journal.

A study under embargo appears nowhere in the public site, yet the reviewers of its paper
must see it. The preview renders that one study with the public build's own steps (so
the reviewers see exactly the page that will be released) into
``<DIR>/<token>/``, where the token is 128 random bits: the bundle can be served from
any folder of any host, and only someone given the address can find it.

- Links are relative: every page is rendered with a placeholder site root that is then
  replaced, file by file, by the relative path to the bundle's root, so the bundle works
  wherever it is copied.
- Nothing in it is indexed or leaks its address: ``noindex`` on every page, a robots.txt
  that disallows everything, ``no-referrer`` so that a click on a DOI link does not send
  the secret address to another site, and no link back into the public site.
- It is separate from the public build: it refuses to write inside a built site, and the
  public build never reads it.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from catalogue.model import StudyEntry, StudyState
from catalogue.pipeline.plan import PlanError, Step, plan, run_steps
from catalogue.pipeline.state import STATE_FILE
from catalogue.readers.tree import load
from catalogue.render import TEMPLATES, make_environment, templates_digest
from catalogue.steps.api import api_steps
from catalogue.steps.assets import asset_steps, brand_steps
from catalogue.steps.citations import citation_steps
from catalogue.steps.context import RenderContext, Thumb
from catalogue.steps.files import file_steps
from catalogue.steps.pages import page_steps
from catalogue.steps.ro_crate import ro_crate_steps
from catalogue.steps.thumbnails import thumbnail_steps
from catalogue.versions import read_history

# A site root that cannot occur in real text and survives HTML and URL escaping unchanged.
PLACEHOLDER = "/catalogue-preview-root-4b1d9e"
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,128}$")
TEXT_SUFFIXES = (".html", ".json", ".js", ".css", ".txt", ".tsv", ".xml", ".svg")
ROBOTS = b"User-agent: *\nDisallow: /\n"


class PreviewError(Exception):
    """A reason the preview cannot be made, worded for the person who asked for it."""


@dataclass(frozen=True)
class PreviewContext(RenderContext):
    """The public render context with a placeholder root, replaced later by relative paths."""

    @property
    def root(self) -> str:
        return PLACEHOLDER

    def browse_url(self, kind: str, value: str) -> str | None:
        return None  # a bundle holds one study: no lists of others to link to

    def search_url(self, facet: str, value: str) -> str | None:
        return None


@dataclass(frozen=True)
class Preview:
    folder: Path  # <DIR>/<token>
    page: Path  # the study page in it
    state: StudyState


def new_token() -> str:
    return secrets.token_hex(16)


def make_preview(
    content: Path,
    accession: str,
    out: Path,
    today: dt.date,
    token: str | None = None,
    templates: Path = TEMPLATES,
    echo: Callable[[str], None] = lambda _: None,
) -> Preview:
    token = token or new_token()
    if not TOKEN_RE.match(token):
        raise PreviewError("--token must be 16 to 128 letters, digits, '-' or '_'")
    _refuse_public_site(out)
    catalogue, found = load(content, today)
    if catalogue is None:
        from catalogue import problems as problems_mod

        raise PreviewError(
            problems_mod.render(found) + f"\npreview: stopped, {problems_mod.summary(found)}"
        )
    entry = next((e for e in catalogue.studies if e.accession == accession), None)
    if entry is None:
        if catalogue.state_of(accession) is StudyState.RESERVED:
            raise PreviewError(f"{accession} is reserved but has no study folder yet")
        raise PreviewError(f"there is no study {accession} in {content}")
    state = entry.state(today)
    if state is StudyState.WITHDRAWN:
        raise PreviewError(f"{accession} is withdrawn; there is nothing to preview")
    # the study alone, as on its release day (or today, if already public)
    one = catalogue.model_copy(
        update={
            "studies": (entry,),
            "today": max(today, entry.release_date),
            "redirects": (),
        }
    )
    history = read_history(content, one)
    t_steps, used = thumbnail_steps(one, content, {})
    results = run_steps(plan(t_steps), jobs=1)
    thumbs: dict[tuple[str, str], Thumb] = {}
    images: dict[str, bytes] = {}
    by_id = {s.id: s for s in t_steps}
    for key, step_id in used.items():
        result = results[step_id]
        rel = by_id[step_id].outputs[0]
        images.update(result.files)
        thumbs[key] = Thumb(
            url=f"{PLACEHOLDER}/{rel}",
            width=int(result.info.get("width", 0)),
            height=int(result.info.get("height", 0)),
            ok=bool(result.info.get("ok")),
        )
        for w in result.warnings:
            echo(f"warning: {w}")
    ctx = PreviewContext(
        catalogue=one,
        site=one.site,
        env=make_environment(templates),
        templates_digest=templates_digest(templates),
        thumbs=thumbs,
        versions=history.versions,
    )
    steps = [
        s
        for s in plan(
            [
                *page_steps(ctx),
                *api_steps(ctx),
                *file_steps(ctx, content),
                *citation_steps(ctx),
                *ro_crate_steps(ctx, content),
                *asset_steps(templates / "static"),
                *brand_steps(one.site, content),
            ]
        )
        if any(_kept(o, accession) for o in s.outputs)
    ]
    out.mkdir(parents=True, exist_ok=True)
    _guard_listing(out)
    work = out / f".{token}.partial"
    shutil.rmtree(work, ignore_errors=True)
    raw = work / "raw"
    _run(steps, raw)
    for rel, data in images.items():
        _write(raw / rel, data)
    bundle = work / "bundle"
    for path in sorted(p for p in raw.rglob("*") if p.is_file()):
        rel = path.relative_to(raw).as_posix()
        if _kept(rel, accession):
            _write(bundle / rel, _finish(rel, path.read_bytes(), entry, state, today))
    _write(bundle / "robots.txt", ROBOTS)
    _write(bundle / "index.html", _landing(entry))
    final = out / token
    if final.exists():
        shutil.rmtree(final)
    os.rename(bundle, final)
    shutil.rmtree(work, ignore_errors=True)
    return Preview(final, final / "studies" / accession / "index.html", state)


def _kept(rel: str, accession: str) -> bool:
    """The files of the study and what its pages load; never the site's other pages."""
    return (
        rel.startswith((f"studies/{accession}/", "static/", "thumbnails/"))
        or rel == f"api/v1/studies/{accession}.json"
    )


def _refuse_public_site(out: Path) -> None:
    for folder in (out.resolve(), *out.resolve().parents):
        if (folder / STATE_FILE).is_file():
            raise PreviewError(
                f"{out} is inside the public site {folder}: write previews to a folder of their own"
            )


def _guard_listing(out: Path) -> None:
    """A web server that lists folders would show every token: give DIR an index and a
    robots.txt of its own."""
    if not (out / "index.html").exists():
        _write(
            out / "index.html",
            b'<!doctype html><meta charset="utf-8"><meta name="robots" content="noindex">'
            b"<title>Not found</title><p>Nothing here.</p>\n",
        )
    if not (out / "robots.txt").exists():
        _write(out / "robots.txt", ROBOTS)


def _run(steps: list[Step], folder: Path) -> None:
    """Run steps in this process, writing into ``folder`` (the public build's runner also
    reuses and swaps; a throwaway bundle needs neither)."""
    for step in steps:
        if step.streams:
            declared = set(step.outputs)

            def open_output(rel: str, declared: set[str] = declared, step: Step = step) -> BinaryIO:
                if rel not in declared:
                    raise PlanError(f"step {step.id} wrote undeclared output {rel}")
                target = folder / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                return target.open("wb")

            step.make(open_output)
        else:
            for rel, data in step.make().files.items():
                _write(folder / rel, data)


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _relative_root(rel: str) -> str:
    depth = rel.count("/")
    return "/".join([".."] * depth) if depth else "."


HEADER_RE = re.compile(r'<header class="site">.*?</header>', re.S)
FOOTER_RE = re.compile(r'<footer class="site">.*?</footer>', re.S)
CANONICAL_RE = re.compile(r'<link rel="canonical"[^>]*>\n?')
FEED_RE = re.compile(r'<link rel="alternate" type="application/atom\+xml"[^>]*>\n?')
MAIN_RE = re.compile(r"<main[^>]*>")


def _finish(rel: str, data: bytes, entry: StudyEntry, state: StudyState, today: dt.date) -> bytes:
    if not rel.endswith(TEXT_SUFFIXES):
        return data
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return data
    text = text.replace(PLACEHOLDER, _relative_root(rel))
    if rel.endswith(".html"):
        text = _private_page(text, entry, state, today)
    return text.encode("utf-8")


def _private_page(html: str, entry: StudyEntry, state: StudyState, today: dt.date) -> str:
    s = entry.study
    when = (
        f"It is under embargo until {s.release_date.isoformat()}"
        if state is StudyState.EMBARGOED
        else f"It was released on {s.release_date.isoformat()}; this preview may differ"
    )
    meta = (
        '<meta name="robots" content="noindex, nofollow, noarchive">\n'
        '<meta name="referrer" content="no-referrer">\n'
    )
    banner = (
        '<p class="preview-banner" role="note" style="background:#fff4ce;'
        'border:1px solid #c19c00;padding:.5em 1em"><strong>Confidential preview</strong> of '
        f"{s.accession} for reviewers, made {today.isoformat()}. {when}. "
        "Please do not share this address.</p>\n"
    )
    html = html.replace("<head>", "<head>\n" + meta, 1)
    html = CANONICAL_RE.sub("", html)
    html = FEED_RE.sub("", html)  # the public feed is not part of a private bundle
    html = HEADER_RE.sub(
        f'<header class="site"><span class="brand">Reviewer preview: {s.accession}</span></header>',
        html,
        count=1,
    )
    html = FOOTER_RE.sub('<footer class="site"><p>Not indexed · not public</p></footer>', html)
    match = MAIN_RE.search(html)
    if match:
        html = html[: match.end()] + "\n" + banner + html[match.end() :]
    return html


def _landing(entry: StudyEntry) -> bytes:
    acc = entry.accession
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="robots" content="noindex, nofollow, noarchive">\n'
        '<meta name="referrer" content="no-referrer">\n'
        f"<title>Preview of {acc}</title>\n"
        f'<meta http-equiv="refresh" content="0; url=studies/{acc}/">\n'
        "</head>\n<body>\n"
        f'<p>Confidential preview: <a href="studies/{acc}/">{acc}</a></p>\n'
        "</body>\n</html>\n"
    ).encode()
