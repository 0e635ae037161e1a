"""Checks that need more than one record: references inside a study, site settings, ledger.

Each check gets the marked YAML so that it can point at the line of the offending value.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from .identifiers import ACCESSION_RE
from .model import LedgerRow, Site, Study
from .problems import Problem, problem
from .readers.manifest import path_problem
from .readers.yamlmarks import Marked

SECTION_OF_REF = {
    "biosample": "biosamples",
    "specimen": "specimens",
    "image_acquisition": "image_acquisitions",
    "annotation": "annotations",
    "analysis": "analyses",
}


def _suggest(name: str, options: list[str]) -> str:
    close = difflib.get_close_matches(name, options, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def check_study(
    study: Study,
    marked: Marked,
    rel: str,
    folder: str,
    site: Site,
    broken: frozenset[str] = frozenset(),
    index_map: dict[str, list[int]] | None = None,
) -> list[Problem]:
    """Cross-field checks. ``broken`` names fields already reported as invalid (skipped here);
    ``index_map`` maps list positions of a salvaged study back to positions in the YAML."""
    out: list[Problem] = []
    index_map = index_map or {}

    def at(*loc: str | int) -> tuple[int, int]:
        if len(loc) >= 2 and isinstance(loc[1], int) and str(loc[0]) in index_map:
            loc = (loc[0], index_map[str(loc[0])][loc[1]], *loc[2:])
        return marked.position(tuple(loc))

    if "accession" in broken:
        pass
    elif not ACCESSION_RE.match(study.accession):
        line, col = at("accession")
        out.append(
            problem(
                rel,
                line,
                "E030",
                f"accession {study.accession!r} is not of the form S-ABCD123",
                col,
            )
        )
    if "accession" not in broken and study.accession != folder:
        line, col = at("accession")
        out.append(
            problem(
                rel,
                line,
                "E030",
                f"accession {study.accession} differs from its folder name {folder}",
                col,
            )
        )
    if "license" not in broken and study.license not in site.licenses:
        line, col = at("license")
        out.append(
            problem(
                rel,
                line,
                "E014",
                f"license {study.license!r} is not an allowed SPDX id "
                f"(site.yaml allows: {', '.join(site.licenses)})"
                f"{_suggest(study.license, list(site.licenses))}",
                col,
            )
        )
    if "collection" not in broken and study.collection not in site.collections:
        line, col = at("collection")
        names = sorted(site.collections)
        out.append(
            problem(
                rel,
                line,
                "E017",
                f"collection {study.collection!r} is not defined in site.yaml "
                f"(known: {', '.join(names)}){_suggest(study.collection, names)}",
                col,
            )
        )
    raw = marked.data if isinstance(marked.data, dict) else {}

    def defined_keys(section: str) -> list[str]:
        """Keys of a section as written, including entries that failed validation."""
        value = raw.get(section)
        return [str(k) for k in value] if isinstance(value, dict) else []

    affiliations = defined_keys("affiliations")
    raw_authors = raw.get("authors") if isinstance(raw.get("authors"), list) else []
    for i, author in enumerate(raw_authors):
        keys = author.get("affiliations") if isinstance(author, dict) else None
        for j, key in enumerate(keys if isinstance(keys, list) else []):
            if str(key) not in affiliations:
                line, col = marked.position(("authors", i, "affiliations", j))
                out.append(
                    problem(
                        rel,
                        line,
                        "E020",
                        f"author '{author.get('name', i + 1)}' refers to undefined "
                        f"affiliation '{key}'"
                        f"{_suggest(str(key), affiliations)}",
                        col,
                    )
                )
    seen_ids: dict[str, int] = {}
    for i, ds in enumerate(study.datasets):
        if ds.id in seen_ids:
            line, col = at("datasets", i, "id")
            out.append(problem(rel, line, "E021", f"dataset id '{ds.id}' is used twice", col))
        seen_ids[ds.id] = i
        for field, section in SECTION_OF_REF.items():
            defined = defined_keys(section)
            for j, key in enumerate(getattr(ds, field)):
                if key not in defined:
                    line, col = at("datasets", i, field, j)
                    out.append(
                        problem(
                            rel,
                            line,
                            "E020",
                            f"dataset '{ds.id}' refers to undefined {field} '{key}'"
                            f"{_suggest(key, list(defined))}",
                            col,
                        )
                    )
        if ds.files is not None and (
            "/" in ds.files or ds.files.startswith(".") or not ds.files.endswith(".tsv")
        ):
            line, col = at("datasets", i, "files")
            out.append(
                problem(
                    rel,
                    line,
                    "E043",
                    f"files {ds.files!r} must be the name of a .tsv file in the study folder",
                    col,
                )
            )
        if ds.representative is not None:
            why = path_problem(ds.representative)
            if why:
                line, col = at("datasets", i, "representative")
                out.append(problem(rel, line, "E043", f"representative: {why}", col))
    raw_ids = (
        {str(d.get("id")) for d in (raw.get("datasets") or []) if isinstance(d, dict)}
        if isinstance(raw.get("datasets"), list)
        else set()
    )
    for name, corr in study.correlations.items():
        for j, ref in enumerate(corr.datasets):
            if ref not in raw_ids:
                line, col = at("correlations", name, "datasets", j)
                out.append(
                    problem(
                        rel,
                        line,
                        "E020",
                        f"correlation '{name}' refers to undefined dataset '{ref}'",
                        col,
                    )
                )
    return out


def check_ledger(
    ledger: list[LedgerRow], ledger_rel: str, folders: dict[str, list[tuple[str, int]]]
) -> list[Problem]:
    """Catch two branches that allocated the same accession once both have landed.

    ``folders`` maps each accession declared in a study.yaml to (study.yaml path, line).
    """
    out: list[Problem] = []
    in_ledger: dict[str, int] = {}
    for row in ledger:
        if row.accession in in_ledger:
            out.append(
                problem(
                    ledger_rel,
                    row.line,
                    "E032",
                    f"accession {row.accession} appears twice in the ledger "
                    f"(first on line {in_ledger[row.accession]}); accessions are never reused",
                )
            )
        else:
            in_ledger[row.accession] = row.line
    for accession, places in sorted(folders.items()):
        if len(places) > 1:
            for path, line in places:
                others = ", ".join(p for p, _ in places if p != path)
                out.append(
                    problem(
                        path,
                        line,
                        "E033",
                        f"accession {accession} is also declared by {others}; "
                        "allocate a new accession with `catalogue new`",
                    )
                )
        if accession not in in_ledger:
            path, line = places[0]
            out.append(
                problem(
                    path, line, "E031", f"accession {accession} is not in the ledger accessions.tsv"
                )
            )
    return out


def check_site_paths(site: Site, content: Path, rel: str, marked: Marked) -> list[Problem]:
    out = []
    if Path(site.data_root).is_absolute() or ".." in Path(site.data_root).parts:
        line, col = marked.position(("data_root",))
        out.append(
            problem(rel, line, "E043", "data_root must be a folder inside the content tree", col)
        )
    return out
