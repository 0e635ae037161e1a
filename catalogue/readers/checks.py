"""Checks that need more than one record: references inside a study, site settings, ledger.

Each check gets the marked YAML so that it can point at the line of the offending value.
"""

from __future__ import annotations

import datetime as dt
import difflib
from pathlib import Path

from catalogue import ontology
from catalogue.identifiers import ACCESSION_RE
from catalogue.model import LedgerRow, Site, Study
from catalogue.paths import escapes
from catalogue.placeholders import find as find_placeholders
from catalogue.placeholders import is_placeholder
from catalogue.problems import Problem, problem
from catalogue.readers.manifest import path_problem
from catalogue.readers.yamlmarks import Marked

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


def salvaged_position(
    marked: Marked, index_map: dict[str, list[int]], *loc: str | int
) -> tuple[int, int]:
    """Line and column of ``loc`` in the YAML, for a study whose failing list items were
    dropped by salvage: ``index_map`` maps a kept item's position back to its original."""
    if len(loc) >= 2 and isinstance(loc[1], int) and str(loc[0]) in index_map:
        loc = (loc[0], index_map[str(loc[0])][loc[1]], *loc[2:])
    return marked.position(tuple(loc))


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
        return salvaged_position(marked, index_map, *loc)

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
    if (
        "license" not in broken
        and study.license not in site.licenses
        and not is_placeholder(study.license)
    ):
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
    if (
        "collection" not in broken
        and study.collection not in site.collections
        and not is_placeholder(study.collection)
    ):
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
    authors_value = raw.get("authors")
    raw_authors = authors_value if isinstance(authors_value, list) else []
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
    out += check_terms(study, marked, rel)
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
        if not ACCESSION_RE.match(row.accession):
            out.append(
                problem(
                    ledger_rel,
                    row.line,
                    "E032",
                    f"ledger accession {row.accession!r} is not of the form S-ABCD123",
                )
            )
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
    logo = site.brand.logo
    if logo and escapes(content / logo, content):
        line, col = marked.position(("brand", "logo"))
        why = f"brand.logo: {logo} is a link to a file outside the content tree"
        out.append(problem(rel, line, "E043", why, col))
    elif logo and ((content / logo).is_symlink() or not (content / logo).is_file()):
        line, col = marked.position(("brand", "logo"))
        why = f"brand.logo: no file {logo} in the content folder"
        out.append(problem(rel, line, "E040", why, col))
    return out


def check_site_licenses(site: Site, rel: str, marked: Marked) -> list[Problem]:
    """Every licence a site allows must be a real SPDX id, so that a study's licence links
    to its legal text and means the same thing in every archive that reads the API."""
    out = []
    known = list(ontology.spdx_licenses())
    for i, value in enumerate(site.licenses):
        canonical = ontology.spdx_id(value)
        if canonical == value:
            continue
        line, col = marked.position(("licenses", i))
        if canonical is not None:
            why = f"is spelled {canonical!r} in the SPDX licence list"
        else:
            close = difflib.get_close_matches(value, known, n=1, cutoff=0.7)
            why = "is not an SPDX licence id" + (f" (did you mean '{close[0]}'?)" if close else "")
        out.append(problem(rel, line, "E019", f"licenses.{i}: {value!r} {why}", col))
    return out


def check_placeholders(marked: Marked, rel: str) -> list[Problem]:
    """One E080 per "TODO: …" left by `catalogue new` or `import-pagetab`."""
    out = []
    for loc, text in find_placeholders(marked.data):
        line, col = marked.position(loc)
        where = ".".join(str(p) for p in loc)
        out.append(problem(rel, line, "E080", f"{where}: fill in this placeholder ({text})", col))
    return out


def _organism_locs(raw: object, key: str, count: int) -> list[tuple[str | int, ...]]:
    """YAML locations of a biosample's organisms: ``organism`` is one mapping or a list."""
    value = raw.get(key, {}).get("organism") if isinstance(raw, dict) else None
    if isinstance(value, list):
        return [(key, "organism", i) for i in range(count)]
    return [(key, "organism")] * count


def check_terms(study: Study, marked: Marked, rel: str) -> list[Problem]:
    """Ontology ids that are well formed but unknown to the shipped lists, or whose free
    text contradicts them: warnings, since the lists are small and offline."""
    out: list[Problem] = []
    raw = marked.data if isinstance(marked.data, dict) else {}
    samples = raw.get("biosamples")
    for key, sample in study.biosamples.items():
        locs = _organism_locs(samples, key, len(sample.organism))
        for org, loc in zip(sample.organism, locs, strict=True):
            if org.ncbi_taxon is None:
                continue
            label = ontology.organism_label(org.ncbi_taxon)
            if label is None and not ontology.taxon_exists(org.ncbi_taxon):
                line, col = marked.position(("biosamples", *loc, "ncbi_taxon"))
                out.append(
                    problem(
                        rel,
                        line,
                        "W081",
                        f"NCBI Taxonomy id {org.ncbi_taxon} is not a taxon of the offline "
                        f"NCBI Taxonomy snapshot ({ontology.taxonomy_snapshot()}); check it "
                        "(the page shows the scientific_name as written)",
                        col,
                    )
                )
            elif label is not None and not ontology.name_matches_taxon(
                org.scientific_name, org.ncbi_taxon
            ):
                line, col = marked.position(("biosamples", *loc, "scientific_name"))
                out.append(
                    problem(
                        rel,
                        line,
                        "W082",
                        f"scientific_name {org.scientific_name!r} differs from {label!r}, the "
                        f"NCBI Taxonomy name of {org.ncbi_taxon}; one of the two is wrong "
                        f"(the page shows {label!r})",
                        col,
                    )
                )
    acquisitions = raw.get("image_acquisitions")
    for key, acq in study.image_acquisitions.items():
        value = acquisitions.get(key, {}) if isinstance(acquisitions, dict) else {}
        many = isinstance(value, dict) and isinstance(value.get("imaging_method"), list)
        for i, method in enumerate(acq.imaging_method):
            if method.fbbi is None or ontology.fbbi_label(method.fbbi) is not None:
                continue
            loc = ("image_acquisitions", key, "imaging_method", *((i,) if many else ()), "fbbi")
            line, col = marked.position(loc)
            out.append(
                problem(
                    rel,
                    line,
                    "W083",
                    f"FBbi id {method.fbbi} is not an imaging method in the offline FBbi list; "
                    "check it (the page shows the name as written)",
                    col,
                )
            )
    return out


def check_withdrawal(study: Study, marked: Marked, rel: str, today: dt.date) -> list[Problem]:
    """A tombstone tells readers what happened and when: the date must be possible."""
    w = study.withdrawn
    if w is None:
        return []
    line, col = marked.position(("withdrawn", "date"))
    out = []
    if w.date < study.release_date:
        # possible (a depositor withdraws during the embargo), but often a typo
        out.append(
            problem(
                rel,
                line,
                "W070",
                f"withdrawn.date {w.date} is before release_date {study.release_date}: "
                f"nothing is published before {study.release_date}, then the tombstone",
                col,
            )
        )
    if w.date > today:
        out.append(
            problem(
                rel,
                line,
                "E071",
                f"withdrawn.date {w.date} is after today ({today}); record a withdrawal when it "
                "happens (the tombstone is published at once)",
                col,
            )
        )
    return out
