"""Study groups: a study's own steps are planned again only when the study changed.

Planning a step means computing its digest, and at 10,000 studies the eight or so steps
of every study (its page, API record, file tables, citations, RO-Crate, Croissant) cost
seconds to plan although a one-study edit changes one group. Each group has a *key*: a
digest of everything the digests of its steps are made of (the study's sources, state,
thumbnails, versions and local images, and the site-wide values those steps share). When
the key equals the previous build's and the previous steps are all on record, the group
is not planned: its steps are taken from the build state as they were, with their digests
and outputs, and the runner reuses them like any unchanged step. The study's summary (what
the listing pages, statistics and bulk tables need of it: ``steps/summaries.py``) is kept
beside the key and reused the same way.

The risk is a key that misses an input of some step: the group would then be reused when
one of its outputs should change. ``CATALOGUE_CHECK_GROUPS=1`` (the test suite sets it)
plans every reused group anyway (and makes every kept summary again) and stops the build
when the planned steps differ from the reused ones, naming the study.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from catalogue.model import StudyEntry, StudyState
from catalogue.ontology import data_digest
from catalogue.pipeline.plan import PlanError, Step, StepResult, digest_of, json_part, text_digest
from catalogue.pipeline.state import BuildState
from catalogue.steps.api import api_study_step
from catalogue.steps.citations import citation_step
from catalogue.steps.context import RenderContext
from catalogue.steps.croissant import croissant_study_steps
from catalogue.steps.files import study_file_steps
from catalogue.steps.pages import study_step
from catalogue.steps.ro_crate import ro_crate_step
from catalogue.steps.summaries import study_summary

# bump when a group's steps come to read something the keys below do not cover
GROUPS_VERSION = "2"
CHECK = "CATALOGUE_CHECK_GROUPS"


def study_group(ctx: RenderContext, content: Path, entry: StudyEntry) -> list[Step]:
    """Every step whose outputs belong to one study alone."""
    steps = [study_step(ctx, entry), api_study_step(ctx, entry)]
    if entry.state(ctx.catalogue.today) is StudyState.PUBLIC:
        steps += study_file_steps(ctx, content, entry)
        steps.append(citation_step(ctx, entry))
        steps.append(ro_crate_step(ctx, content, entry))
        steps += croissant_study_steps(ctx, content, entry)
    return steps


def shared_key(ctx: RenderContext, code: str) -> str:
    """What every group's steps read of the site: the code and libraries (step versions,
    page sizes), the templates, the settings and the ontology data. Not the content
    folder's path: the keys are in the build state, whose bytes must not depend on how
    --content was spelt (and the steps' digests do not either)."""
    return digest_of(
        GROUPS_VERSION,
        code,
        ctx.templates_digest,
        ctx.site_digest,
        ctx.root,
        data_digest(),
    )


def study_key(ctx: RenderContext, shared: str, entry: StudyEntry) -> str:
    """What a study's group reads of the study: its sources (study.yaml and manifests),
    lifecycle state, dataset thumbnails, versions and local images (per-file thumbnails,
    viewer links, OME-Zarr details)."""
    acc = entry.accession
    # only a dataset naming a representative image can have a thumbnail (the others'
    # are in the source digest): read without unpickling the study's model
    thumbs = [[ds_id, repr(ctx.thumbs.get((acc, ds_id)))] for ds_id, _ in entry.representatives]
    extras = ctx.local_extras(acc)
    return text_digest(
        shared,
        acc,
        entry.folder,
        entry.source_digest,
        entry.state(ctx.catalogue.today).value,
        json_part(thumbs),
        json_part(ctx.versions_digest(acc)),
        json_part(extras if any(extras) else None),
    )


def _not_planned() -> StepResult:
    raise PlanError("a step reused from the previous build was asked to run")


def _recorded(old: BuildState, ids: list[str]) -> list[Step] | None:
    """The steps of a group as the previous build recorded them (None: one is missing)."""
    steps = []
    for step_id in ids:
        record = old.steps.get(step_id)
        if record is None:
            return None
        steps.append(Step(step_id, tuple(record.outputs), record.digest, _not_planned))
    return steps


def _same(planned: list[Step], reused: list[Step]) -> bool:
    def view(steps: list[Step]) -> list[tuple[str, str, tuple[str, ...]]]:
        return sorted((s.id, s.digest, s.outputs) for s in steps)

    return view(planned) == view(reused)


def plan_groups(
    ctx: RenderContext,
    content: Path,
    entries: Iterable[StudyEntry],
    code: str,
    old: BuildState,
    new: BuildState,
    reuse: bool,
) -> list[Step]:
    """The steps of every study's group, planned or (``reuse``: the previous files are all
    still there) taken from ``old``; the groups' keys and the public studies' summaries
    are recorded in ``new`` (and the summaries given to ``ctx``)."""
    shared = shared_key(ctx, code)
    check = os.environ.get(CHECK) == "1"
    steps: list[Step] = []
    for entry in entries:
        acc = entry.accession
        key = study_key(ctx, shared, entry)
        key_before, ids_before, kept = old.groups.get(acc, (None, [], None))
        reused = _recorded(old, ids_before) if reuse and key_before == key else None
        if reused is not None:
            if check and not _same(study_group(ctx, content, entry), reused):
                raise PlanError(
                    f"the steps of {acc} were reused from the previous build although "
                    "planning them gives other digests: the group key misses an input "
                    "(catalogue/pipeline/groups.py)"
                )
            group = reused
            if kept is not None:
                if check and study_summary(ctx, entry) != kept:
                    raise PlanError(
                        f"the summary of {acc} was kept from the previous build although "
                        "making it gives other values: the group key misses an input "
                        "(catalogue/pipeline/groups.py)"
                    )
                ctx.summaries[acc] = kept
        else:
            group = study_group(ctx, content, entry)
        public = entry.state(ctx.catalogue.today) is StudyState.PUBLIC
        summary = ctx.summary_of(entry) if public else None
        new.groups[acc] = [key, [s.id for s in group], summary]
        steps += group
    return steps
