"""What the site-wide steps need of each study, made once and kept between builds.

The listing pages, statistics and bulk tables are planned from every public study: at
10,000 studies computing each one's card digest, browse values, bulk-table row and
counts was about two seconds of every one-study edit. A *summary* holds those values as
plain JSON; the builder keeps it in the build state beside the study's group key
(``pipeline/groups.py``) and gives it back, without computing it, while that key is
unchanged (the key covers everything a summary is made of: the study's sources, state,
thumbnails and versions, the settings, templates and code). ``CATALOGUE_CHECK_GROUPS=1``
computes a kept summary again and stops the build when it differs.
"""

from __future__ import annotations

import json
from typing import Any

from catalogue.model import StudyEntry
from catalogue.pipeline.plan import digest_of
from catalogue.steps.context import BROWSE_KINDS, RenderContext, browse_values, format_counts

Summary = dict[str, Any]


def study_summary(ctx: RenderContext, entry: StudyEntry) -> Summary:
    """The summary of a study, as JSON gives it back (lists, not tuples), so that a kept
    summary and a fresh one compare equal."""
    from catalogue.steps.api import summary_record
    from catalogue.steps.browse import card_digest
    from catalogue.steps.bulk import rows_input, study_columns, study_row

    s = entry.study
    made = {
        "card": card_digest(ctx, entry),
        "browse": {kind: browse_values(ctx.site, kind, entry) for kind in BROWSE_KINDS},
        "row": digest_of(study_row(ctx, entry)),
        "rows": digest_of(rows_input(entry)),
        "columns": study_columns(entry),
        "title": s.title.casefold(),  # the title order of the lists
        "year": s.release_date.year,
        "organisms": [o.label for o in s.organisms],
        "methods": [m.label for m in s.imaging_methods],
        "license": s.license,
        "collection": s.collection,
        "formats": list(format_counts(entry).items()),
        "datasets": len(s.datasets),
        "files": sum(m.count for m in entry.manifests.values()),
        "bytes": sum(m.total_size for m in entry.manifests.values()),
        "ai_ready": s.ai_ready,
        "api": summary_record(ctx, entry),  # its entry in the API's paged list
    }
    normal: Summary = json.loads(json.dumps(made))
    return normal
