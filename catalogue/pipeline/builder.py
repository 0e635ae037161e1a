"""``catalogue build``: load → plan steps → run or reuse → commit the changed files.

See ``catalogue.pipeline.output`` for how the site is updated in place, safely."""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from catalogue import problems as problems_mod
from catalogue.imaging.localdata import local_images, zarr_details, zarr_links
from catalogue.model import Catalogue
from catalogue.pipeline import fingerprint
from catalogue.pipeline.executors import Executor, LazyExecutor
from catalogue.pipeline.groups import plan_groups
from catalogue.pipeline.output import OutputError, SiteWriter, journal_path
from catalogue.pipeline.plan import Step, StepsFailed, plan, run_steps
from catalogue.pipeline.state import STATE_FILE, BuildState, StepRecord, load_state
from catalogue.pipeline.workers import goes_to_cluster, run_all
from catalogue.readers.defaults import left_out_summary
from catalogue.readers.tree import load
from catalogue.render import TEMPLATES, make_environment, templates_digest
from catalogue.steps.api import api_steps
from catalogue.steps.assets import asset_steps, brand_steps
from catalogue.steps.bulk import bulk_steps
from catalogue.steps.context import RenderContext, site_root
from catalogue.steps.conversion import (
    Conversion,
    ConversionRefused,
    conversion_folder,
    conversion_steps,
    converted,
    forget_lost,
    prune,
)
from catalogue.steps.croissant import croissant_steps
from catalogue.steps.deposit import deposit_steps
from catalogue.steps.pages import listing_steps
from catalogue.steps.query_index import OUTPUT_DIR as SEARCH_INDEX
from catalogue.steps.query_index import query_index_steps
from catalogue.steps.redirects import case_sensitive, redirect_steps
from catalogue.steps.sitemap import sitemap_steps
from catalogue.steps.stats import stats_steps
from catalogue.steps.thumbnails import file_thumbnail_steps, resolve_thumbs, thumbnail_steps
from catalogue.steps.urllist import urllist_steps
from catalogue.steps.viewer import LABEL as VIEWER_LABEL
from catalogue.steps.viewer import viewer_images, viewer_steps, viewer_url, zarr_files
from catalogue.versions import Versions, read_history

Echo = Callable[[str], None]
SEARCH_FOLDER = SEARCH_INDEX + "/"


@dataclass(frozen=True)
class BuildOptions:
    content: Path
    out: Path
    today: dt.date
    jobs: int | None = None
    executor: str | None = None  # where heavy steps run: see catalogue.pipeline.executors
    base_url: str | None = None
    clean: bool = False
    templates: Path = TEMPLATES
    progress: TextIO | None = None  # a terminal to show progress on (None: quiet)
    keep_going: bool | None = None  # leave out studies with errors (None: site.yaml)
    # the caller already asked fingerprint.unchanged (the command line does, before the
    # heavy imports) and got this, not "": the inputs are not walked a second time
    fingerprint: tuple[str | None] | None = None


class Progress:
    """One line updated in place on a terminal (``pages 1,204/5,974 · 310/s · 15 s left``);
    silent elsewhere, so logs and CI output keep only the closing summary."""

    def __init__(self, label: str, total: int, stream: TextIO | None):
        self.label, self.total, self.count, self.stream = label, total, 0, stream
        self._shown = -1.0
        self._started = time.monotonic()

    def tick(self) -> None:
        self.count += 1
        if self.stream is None:
            return
        now = time.monotonic()
        if now - self._shown > 0.1 or self.count == self.total:
            self._shown = now
            line = f"\r{self.label} {self.count:,}/{self.total:,}"
            elapsed = now - self._started
            if elapsed > 1 and self.count:
                rate = self.count / elapsed
                left = (self.total - self.count) / rate
                line += f" · {rate:,.0f}/s · {left:,.0f} s left"
            self.stream.write(line + "\033[K")
            self.stream.flush()

    def close(self) -> None:
        if self.stream is not None and self.count:
            self.stream.write("\r\033[K")
            self.stream.flush()


@dataclass
class Tally:
    run: int = 0
    reused: int = 0
    files: int = 0
    warnings: int = 0


def _execute(
    steps: list[Step],
    staging: SiteWriter,
    old: BuildState,
    new: BuildState,
    jobs: int,
    tally: Tally,
    echo: Echo,
    executor: Executor | None = None,
    label: str = "build",
    stream: TextIO | None = None,
    group_of: Callable[[Step], str] = lambda step: "",
) -> None:
    """Reuse steps whose digest is unchanged and whose files are still there; run the rest."""
    to_run: list[Step] = []
    # the previous files can all stay unless a killed build or --clean says otherwise:
    # then each is asked (350,000 questions at 10,000 studies otherwise)
    every = not staging.dirty and not staging.clean
    for step in steps:
        prev = old.steps.get(step.id)
        if (
            prev is not None
            and prev.digest == step.digest
            and prev.outputs == list(step.outputs)
            and (every or all(staging.reuse(o) for o in step.outputs))
        ):
            new.steps[step.id] = prev
            tally.reused += 1
            tally.files += len(step.outputs)
            for w in prev.warnings:
                echo(f"warning: {w}")
            tally.warnings += len(prev.warnings)
            continue
        to_run.append(step)
    failures: list[tuple[str, str]] = []
    progress = Progress(label, len(to_run), stream)
    heavy = [s for s in to_run if s.heavy]
    rest = [s for s in to_run if not s.heavy]
    try:
        results = run_steps(heavy, jobs, executor, done=progress.tick)
    except StepsFailed as exc:
        failures += exc.failures
        results = {}
    outcomes = run_all(rest, staging, jobs, group_of, done=progress.tick, executor=executor)
    progress.close()
    if goes_to_cluster(executor, len(rest)):
        echo(f"build: {len(rest)} {label.removesuffix('s')} steps ran on {executor.name}")
    for outcome in outcomes:
        if outcome.fatal is not None:
            raise OutputError(outcome.fatal)
    failures += [(rest[o.index].id, o.error) for o in outcomes if o.error is not None]
    if failures:
        raise StepsFailed(failures)
    for step in heavy:
        for rel, data in sorted(results[step.id].files.items()):
            staging.write(rel, data)
    records = {s.id: (r.warnings, r.info) for s, r in ((s, results[s.id]) for s in heavy)}
    records.update((rest[o.index].id, (o.warnings, o.info)) for o in outcomes)
    for step in to_run:
        warnings, info = records[step.id]
        for w in warnings:
            echo(f"warning: {w}")
        tally.warnings += len(warnings)
        new.steps[step.id] = StepRecord(step.digest, list(step.outputs), list(warnings), dict(info))
        tally.run += 1
        tally.files += len(step.outputs)


def _what_changed(written: list[str], outputs: set[str]) -> str:
    """The reader's view of an incremental build: pages and search index files rewritten
    (an edit should rewrite a handful of each, not the site)."""
    pages = sum(1 for o in outputs if o.endswith(".html"))
    new_pages = sum(1 for o in written if o.endswith(".html"))
    index = sum(1 for o in outputs if o.startswith(SEARCH_FOLDER))
    new_index = sum(1 for o in written if o.startswith(SEARCH_FOLDER))
    return (
        f"build: pages {new_pages:,} written, {pages - new_pages:,} reused; "
        f"search index {new_index:,} of {index:,} files re-indexed"
    )


def study_groups(catalogue: Catalogue) -> Callable[[Step], str]:
    """The study a step belongs to (its id names the accession), so that one worker runs
    all of a study's steps and what they share is computed once (``render``'s memo)."""
    accessions = {e.accession for e in catalogue.visible()}

    def group_of(step: Step) -> str:
        for part in re.split(r"[:/]", step.id):
            if part in accessions:
                return part
        return ""

    return group_of


def _context(
    catalogue: Catalogue, options: BuildOptions, versions: Versions, **extras: Any
) -> RenderContext:
    """``extras``: the image results of phase 1 (thumbs, file_thumbs, viewers)."""
    env = make_environment(options.templates)
    return RenderContext(
        catalogue=catalogue,
        site=catalogue.site,
        env=env,
        templates_digest=templates_digest(options.templates),
        versions=versions,
        **extras,
    )


def _kept(out: Path) -> str:
    return "the previous site is unchanged" if out.exists() else f"nothing was written to {out}"


class BuildRefused(Exception):
    """--out would replace something that is not a site this tool built."""


def check_output_folder(content: Path, out: Path) -> None:
    """The build replaces --out wholesale: never let that be the content or a stranger's
    folder (a typo must not delete a content tree or a home directory)."""
    c, o = content.resolve(), out.resolve()
    if o == c or c.is_relative_to(o) or o.is_relative_to(c):
        raise BuildRefused(f"--out {out} overlaps --content {content}; choose another folder")
    ours = (o / STATE_FILE).is_file() or journal_path(o).is_file()  # or a killed first build
    if o.is_dir() and any(o.iterdir()) and not ours:
        raise BuildRefused(
            f"--out {out} is not empty and was not written by catalogue build "
            f"(no {STATE_FILE}); choose a new or empty folder"
        )
    if o.exists() and not o.is_dir():
        raise BuildRefused(f"--out {out} is a file, not a folder")


@contextlib.contextmanager
def _few_collections() -> Iterator[None]:
    """A build holds millions of long-lived objects (every study's model, the state of
    80,000 steps at 10,000 studies) and makes them by the million: with the default
    thresholds the cyclic collector walks them again and again (measured at 10,000
    studies: reading the build state 13.9 s → 0.3 s, writing it 11.7 s → 1.7 s, on the
    loaded development machine). Collect rarely while building; restored after."""
    before = gc.get_threshold()
    gc.set_threshold(50_000, 20, 100)
    try:
        yield
    finally:
        gc.unfreeze()  # what _kept_for_the_build froze may be collected again
        gc.set_threshold(*before)


@contextlib.contextmanager
def _kept_for_the_build() -> Iterator[None]:
    """What is made inside lives for the whole build (the loaded catalogue, the previous
    build state): no collections while it is made, since none of it is garbage, and frozen
    after, so that later collections skip it. Even with the thresholds above, the young
    generations' collections while loading 10,000 cached studies (215,000 models) took
    half of the loading: 3.5 s → 1.7 s (idle machine, 2026-12-03)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def run_build(options: BuildOptions, echo: Echo) -> bool:
    with _few_collections():
        return _run_build(options, echo)


def _run_build(options: BuildOptions, echo: Echo) -> bool:
    check_output_folder(options.content, options.out)
    started = time.perf_counter()
    fp = (
        None
        if options.clean
        else options.fingerprint[0]
        if options.fingerprint is not None
        else fingerprint.unchanged(
            options.content,
            options.out,
            options.today.isoformat(),
            options.base_url.rstrip("/") if options.base_url else None,
            options.templates,
            echo,
            started,
            options.keep_going,
        )
    )
    if fp == "":
        return True
    # the stamps the walk just took, taken in any case so that no later build sees them
    # (a --clean build does not walk: what is there is older than the tree)
    walked = fingerprint.take_walk()
    said: list[str] = []
    outer = echo

    def say(message: str) -> None:  # what is said is said again when nothing changes
        if not message.startswith("build: "):
            said.append(message)
        outer(message)

    echo = say

    jobs = options.jobs or os.cpu_count() or 1
    with _kept_for_the_build():
        catalogue, found = load(
            options.content,
            options.today,
            options.keep_going,
            jobs,
            None if options.clean else walked,
        )
    del walked  # held only while loading
    if found:
        echo(problems_mod.render(found))
    if catalogue is None:
        echo(f"build: stopped, {problems_mod.summary(found)}; {_kept(options.out)}")
        return False
    for line in left_out_summary(catalogue):  # --keep-going: what was not published
        echo(line)
    if options.base_url:
        site = catalogue.site.model_copy(update={"base_url": options.base_url.rstrip("/")})
        catalogue = catalogue.model_copy(update={"site": site})
    history = read_history(options.content, catalogue)  # one git process for all studies
    if history.note:
        echo(f"versions: {history.note}")
    convert_into: Path | None = None  # site.yaml conversion.in_build: OME-Zarr cache folder
    if catalogue.site.conversion.in_build:
        try:
            convert_into = conversion_folder(
                catalogue.site.conversion.folder, options.content, options.out
            )
        except ConversionRefused as exc:
            echo(f"error: {exc}")
            echo(f"build: stopped; {_kept(options.out)}")
            return False
    with _kept_for_the_build():
        old, reason = (BuildState(), "--clean") if options.clean else load_state(options.out)
    if reason:
        echo(f"build: full rebuild ({reason})")
    new = BuildState(sources=dict(old.sources))
    tally = Tally()
    previous = {o for record in old.steps.values() for o in record.outputs}
    try:
        with (
            SiteWriter(options.out, clean=options.clean) as staging,
            LazyExecutor(options.executor, jobs) as executor,  # images, then pages
        ):
            if staging.dirty:
                # a killed build may have replaced these files: their steps run again
                echo(f"build: finishing an interrupted build ({len(staging.dirty)} files)")
                old.steps = {
                    k: v
                    for k, v in old.steps.items()
                    if not any(o in staging.dirty for o in v.outputs)
                }
            # phase 1: images (their results decide what pages show)
            t_steps, used = thumbnail_steps(catalogue, options.content, new.sources)
            images = list(local_images(catalogue, options.content))
            f_steps, file_used = file_thumbnail_steps(
                catalogue, options.content, new.sources, images
            )
            c_steps: list[Step] = []
            conversions: list[Conversion] = []
            if convert_into is not None:
                c_steps, conversions = conversion_steps(
                    catalogue, options.content, convert_into, new.sources
                )
                forget_lost(conversions, old.steps)
            _execute(
                plan([*t_steps, *f_steps, *c_steps]),
                staging,
                old,
                new,
                jobs,
                tally,
                echo,
                executor,
                label="images",
                stream=options.progress,
            )
            root = site_root(catalogue.site)
            thumbs = resolve_thumbs(used, new.steps, root)
            file_thumbs = resolve_thumbs(file_used, new.steps, root)
            viewers = zarr_links(catalogue, options.content, images)
            own = viewer_images(catalogue.site, options.content, images)
            for item in converted(conversions):  # served from the conversion folder
                files = zarr_files(item.target)
                if files:
                    own.append((item.accession, item.path, item.target, files))
            for acc, path, _, _ in own:  # the site's own viewer first
                link = (VIEWER_LABEL, viewer_url(root, acc, path))
                viewers[(acc, path)] = (link, *viewers.get((acc, path), ()))
            # phase 2: pages, API, search index, sitemap, assets
            ctx = _context(
                catalogue,
                options,
                history.versions,
                thumbs=thumbs,
                file_thumbs=file_thumbs,
                viewers=viewers,
                zarr_details=zarr_details(catalogue, options.content, images),
            )
            # steps that update their previous files (the files table, the search index)
            # start afresh when asked to or when an interrupted build left a mix
            reuse = not options.clean and not staging.dirty
            # each study's own steps, planned again only for the studies that changed
            own_steps = plan_groups(
                ctx,
                options.content,
                catalogue.visible(),
                fingerprint.code_digest(),
                old,
                new,
                reuse,
            )
            steps = plan(
                [
                    *own_steps,
                    *listing_steps(ctx),
                    *api_steps(ctx, studies=False),
                    *sitemap_steps(ctx),
                    *stats_steps(ctx),
                    *query_index_steps(ctx, options.out, reuse),
                    *croissant_steps(ctx, options.content, studies=False),
                    *bulk_steps(ctx, options.content, options.out if reuse else None),
                    *asset_steps(options.templates / "static"),
                    *brand_steps(catalogue.site, options.content),
                    *deposit_steps(ctx),
                    *viewer_steps(ctx, own),
                    *redirect_steps(ctx, case_sensitive(staging.root)),
                ]
            )
            steps = plan([*steps, *urllist_steps(ctx, steps)])  # urls.txt lists what they write
            _execute(
                steps,
                staging,
                old,
                new,
                jobs,
                tally,
                echo,
                executor,
                label="pages",
                stream=options.progress,
                group_of=study_groups(catalogue),
            )
            new.sources = {k: v for k, v in new.sources.items() if (Path.cwd() / k).exists()}
            keep = {o for record in new.steps.values() for o in record.outputs}
            staging.commit((STATE_FILE, new.to_bytes()), keep, previous)
            report = {
                "messages": said,
                "public": len(catalogue.public()),
                "files": tally.files,
                "steps": tally.run + tally.reused,
            }
            fingerprint.record(options.out, options.out / STATE_FILE, fp, report)
            if convert_into is not None:
                prune(convert_into, conversions)
    except StepsFailed as exc:
        for step_id, why in exc.failures:
            echo(f"error: step {step_id} failed: {why}")
        echo(f"build: stopped, {len(exc.failures)} step(s) failed; {_kept(options.out)}")
        return False
    except OutputError as exc:
        echo(f"error: {exc}")
        echo(f"build: stopped; {_kept(options.out)}")
        return False
    public = len(catalogue.public())
    elapsed = time.perf_counter() - started
    written = len(staging.written)
    warned = f", {tally.warnings} warning(s)" if tally.warnings else ""
    echo(_what_changed(staging.written, keep))
    echo(
        f"build: {public} public studies; {tally.files} files "
        f"({tally.run} steps run, {tally.reused} reused; {written} files written, "
        f"{staging.unchanged} rewritten unchanged, {staging.deleted} deleted{warned}) "
        f"in {elapsed:.1f} s → {options.out}"
    )
    return True
