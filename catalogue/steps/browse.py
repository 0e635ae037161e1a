"""Browse pages that work without JavaScript: every public study, sorted and filtered.

Crawlers and readers without scripts get the same views the search page offers for the
common cases, as plain pre-rendered pages:

- ``/studies/`` newest first (``/studies/page/N/`` after the first page), and the same list
  by title, oldest first and largest first (``/browse/by/<order>/``);
- one list per organism, imaging method and collection (``/browse/organism/<slug>/``,
  ``/browse/method/<slug>/``, ``/browse/collection/<slug>/``), with an index of the values
  (``/browse/organism/`` …).

``/studies/<X>/`` stays the namespace of studies alone, and the lists under ``/browse/``
are views, not records: they come and go with the values, so they are left out of the URL
contract (``urls.txt``).

Slugs come from the values' names (``Homo sapiens`` → ``homo-sapiens``); two values that
would share a slug are told apart by a suffix in sorted order, so a slug stays the same as
long as the value exists. The search page adds free text and combined filters on top.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from catalogue.model import StudyEntry
from catalogue.pipeline.plan import Step, StepResult, digest_of
from catalogue.steps.context import RenderContext

if TYPE_CHECKING:
    from catalogue.steps.summaries import Summary

PAGE_SIZE = 100
ORDERS: dict[str, tuple[str, str]] = {
    # order -> (what the page says, link text)
    "newest": ("latest release first", "Newest"),
    "oldest": ("earliest release first", "Oldest"),
    "title": ("by title", "Title"),
    "size": ("largest first", "Size"),
}
KINDS: dict[str, str] = {
    "organism": "Organism",
    "method": "Imaging method",
    "collection": "Collection",
}


# a study on a list, with the digest of its card (steps/summaries.py)
Listed = tuple[StudyEntry, str]


def sorted_by(order: str, newest: Sequence[Listed], summaries: Sequence[Summary]) -> list[Listed]:
    """``newest`` (latest release first) in another order; ties keep that order. The keys
    come from the studies' summaries, in the same order: sorting on the models would
    unpickle every study after a one-study edit."""
    if order == "oldest":
        return list(newest[::-1])
    pairs = list(zip(newest, summaries, strict=True))
    if order == "title":
        pairs.sort(key=lambda p: (p[1]["title"], p[0][0].accession))
        return [listed for listed, _ in pairs]
    if order == "size":
        pairs.sort(key=lambda p: -p[1]["bytes"])
        return [listed for listed, _ in pairs]
    return list(newest)


def order_folder(order: str) -> str:
    """Folder of a sorted list, relative to the site root (newest first is /studies/)."""
    return "studies/" if order == "newest" else f"browse/by/{order}/"


def order_url(ctx: RenderContext, order: str, page: int = 1) -> str:
    base = f"{ctx.root}/{order_folder(order)}"
    return base if page == 1 else f"{base}page/{page}/"


def card_digest(ctx: RenderContext, entry: StudyEntry) -> str:
    """Everything a study's card shows (templates/_macros.html ``study_card``): a list page's
    digest is made of its cards', so an edit of what no card shows (a description, a
    manifest row's size) re-renders no list page."""
    s = entry.study
    return digest_of(
        s.accession,
        s.release_date,
        s.title,
        [o.label for o in s.organisms],
        [m.label for m in s.imaging_methods],
        sum(m.count for m in entry.manifests.values()),
        s.license,
        repr(ctx.cover_of(entry)),
        ctx.main_format(entry),
    )


def _pages(
    ctx: RenderContext,
    step_id: str,
    folder: str,
    listed: list[Listed],
    digest: str,
    values: dict[str, object],
) -> list[Step]:
    """The paged list of studies under folder (a path relative to the site root), each with
    its card's digest: a page's digest is its cards' (at 10,000 studies, looking each one
    up again from the study was a fifth of planning the lists)."""
    chunks = [listed[i : i + PAGE_SIZE] for i in range(0, len(listed), PAGE_SIZE)] or [[]]
    steps = []
    shown = digest_of(digest, folder, values, len(chunks), len(listed))
    for number, chunk in enumerate(chunks, start=1):
        out = f"{folder}index.html" if number == 1 else f"{folder}page/{number}/index.html"

        def make(chunk: list[Listed] = chunk, number: int = number, out: str = out) -> StepResult:
            html = ctx.env.get_template("browse.html").render(
                **ctx.page_globals(),
                studies=[entry for entry, _ in chunk],
                page=number,
                pages=len(chunks),
                total=len(listed),
                base=f"{ctx.root}/{folder}",
                **values,
            )
            return StepResult(files={out: html.encode("utf-8")})

        steps.append(
            Step(
                id=f"{step_id}:{number}",
                outputs=(out,),
                digest=digest_of(shown, number, [card for _, card in chunk]),
                make=make,
            )
        )
    return steps


def browse_steps(ctx: RenderContext, site_digest: str) -> list[Step]:
    base = digest_of("browse-2", site_digest)
    summaries = [ctx.summary_of(e) for e in ctx.newest]
    newest = [(e, s["card"]) for e, s in zip(ctx.newest, summaries, strict=True)]
    sorts = [(order, label, order_url(ctx, order)) for order, (_, label) in ORDERS.items()]
    kinds = [(kind, label, f"{ctx.root}/browse/{kind}/") for kind, label in KINDS.items()]
    steps: list[Step] = []
    for order, (says, _) in ORDERS.items():
        steps += _pages(
            ctx,
            "page:browse" if order == "newest" else f"page:browse:{order}",
            order_folder(order),
            sorted_by(order, newest, summaries),
            base,
            {
                "heading": "All studies",
                "says": says,
                "order": order,
                "sorts": sorts,
                "kinds": kinds,
                "kind": None,
                "value": None,
            },
        )
    slugs = ctx.browse_slugs
    for kind, label in KINDS.items():
        # filled in the newest-first order, so each list is in the order its pages show
        by_value: dict[str, list[Listed]] = {}
        for listed, summary in zip(newest, summaries, strict=True):
            for value in summary["browse"][kind]:
                by_value.setdefault(value, []).append(listed)
        listing = sorted(by_value.items(), key=lambda kv: (-len(kv[1]), kv[0].casefold()))
        index_out = f"browse/{kind}/index.html"
        rows = [(value, slugs[kind][value], len(entries)) for value, entries in listing]
        steps.append(_index_step(ctx, kind, label, index_out, rows, base, kinds))
        for value, entries in sorted(by_value.items()):
            slug = slugs[kind][value]
            steps += _pages(
                ctx,
                f"page:browse:{kind}:{slug}",
                f"browse/{kind}/{slug}/",
                entries,
                base,
                {
                    "heading": f"{label}: {value}",
                    "says": "latest release first",
                    "order": "newest",
                    "sorts": [],
                    "kinds": kinds,
                    "kind": kind,
                    "value": value,
                },
            )
    return steps


def _index_step(
    ctx: RenderContext,
    kind: str,
    label: str,
    out: str,
    rows: list[tuple[str, str, int]],
    digest: str,
    kinds: list[tuple[str, str, str]],
) -> Step:
    def render() -> StepResult:
        html = ctx.env.get_template("browse_values.html").render(
            **ctx.page_globals(), kind=kind, label=label, rows=rows, kinds=kinds
        )
        return StepResult(files={out: html.encode("utf-8")})

    return Step(
        id=f"page:browse:{kind}",
        outputs=(out,),
        digest=digest_of(digest, kind, label, rows, kinds),
        make=render,
    )
