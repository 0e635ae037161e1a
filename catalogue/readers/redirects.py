"""content/redirects.tsv: accessions that were renamed or merged into another study.

A study page that was once public must keep answering (journals print its URL), so when
two studies are merged, or a study gets a new accession, the old accession is declared
here and the build writes redirects for it. The file is optional, tab-separated with the
header ``from<TAB>to<TAB>note``, one row per old accession, sorted or not.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from catalogue.identifiers import ACCESSION_RE
from catalogue.model import Redirect
from catalogue.paths import escapes
from catalogue.problems import Problem, problem

REDIRECTS_FILE = "redirects.tsv"
HEADER = ["from", "to"]


def read_redirects(
    path: Path, rel: str, studies: Collection[str]
) -> tuple[list[Redirect], list[Problem]]:
    """Parse and check the redirects file against the study folders (``studies``).

    Every problem is reported (never raised): a malformed row, an old accession that still
    has a study folder (one URL cannot be both a study and a redirect), a target that is
    not a study, a repeated old accession, and loops.
    """
    if not path.is_file():
        return [], []
    if escapes(path, path.parent):
        return [], [
            problem(rel, 0, "E043", "the file is a link to a file outside the content tree")
        ]
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        return [], [problem(rel, 0, "E048", "file is not valid UTF-8")]
    out: list[Problem] = []
    if not lines or [c.strip() for c in lines[0].split("\t")[:2]] != HEADER:
        return [], [problem(rel, 1, "E060", "header must be: from<TAB>to<TAB>note")]
    rows: dict[str, Redirect] = {}
    for number, text in enumerate(lines[1:], start=2):
        if not text.strip() or text.startswith("#"):
            continue
        cells = [c.strip() for c in text.split("\t")]
        if len(cells) not in (2, 3):
            out.append(problem(rel, number, "E060", f"row has {len(cells)} cells; expected 2 or 3"))
            continue
        source, target = cells[0], cells[1]
        bad = [a for a in (source, target) if not ACCESSION_RE.match(a)]
        if bad:
            out.append(problem(rel, number, "E060", f"{bad[0]!r} is not an accession"))
            continue
        if source == target:
            out.append(problem(rel, number, "E063", f"{source} redirects to itself"))
            continue
        if source in rows:
            first = rows[source].line
            message = f"{source} is redirected twice (first on line {first})"
            out.append(problem(rel, number, "E064", message))
            continue
        if source in studies:
            out.append(
                problem(
                    rel,
                    number,
                    "E061",
                    f"{source} still has a study folder; remove the folder or this redirect",
                )
            )
        rows[source] = Redirect(
            source=source, target=target, note=cells[2] if len(cells) == 3 else "", line=number
        )
    for r in rows.values():
        final, seen = r.target, {r.source}
        while final in rows and final not in seen:
            seen.add(final)
            final = rows[final].target
        if final in seen:
            out.append(problem(rel, r.line, "E063", f"{r.source} is part of a redirect loop"))
        elif final not in studies:
            out.append(
                problem(rel, r.line, "E062", f"{r.source} redirects to {final}, which has no study")
            )
    return sorted(rows.values(), key=lambda r: r.source), out


def resolve(redirects: Collection[Redirect]) -> dict[str, str]:
    """Old accession → the study it finally leads to (chains followed; loops were refused)."""
    step = {r.source: r.target for r in redirects}
    final: dict[str, str] = {}
    for source in step:
        target, hops = step[source], 0
        while target in step and hops < len(step):
            target, hops = step[target], hops + 1
        final[source] = target
    return final
