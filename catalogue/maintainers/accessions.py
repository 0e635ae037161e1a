"""Allocating accessions (``catalogue new``) and recording them in the append-only ledger.

An accession is public the moment a depositor is told it, so it is never reused: the next
number is one more than the highest ever allocated with the site's prefix, whether that
accession is public, embargoed, withdrawn or only reserved. The ledger and the study
folders are both consulted, so a folder that reached the tree without its ledger row
still blocks its number.

Two pull requests can still allocate the same number on two branches; nothing local can
prevent that. `catalogue validate` catches it once both land (E032, E033, E030), and CI
runs validate on the merge result of every pull request.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from catalogue.identifiers import ACCESSION_RE, accession_number
from catalogue.placeholders import todo
from catalogue.readers.tree import LEDGER_HEADER

LEDGER_FILE = "accessions.tsv"


class AllocationError(Exception):
    """The tree cannot take a new accession (unreadable ledger, bad prefix...)."""


def next_accession(prefix: str, used: list[str]) -> str:
    """``prefix`` followed by one more than the highest number used with that prefix.

    Zero-padded numbers (``S-JCBD-0001``) keep their width, so that accessions of one
    prefix sort the same as text and as numbers.
    """
    highest = 0
    width = 0
    for accession in used:
        head, number = accession_number(accession)
        if head != prefix:
            continue
        highest = max(highest, number)
        digits = accession[len(prefix) :]
        if digits.startswith("0"):
            width = max(width, len(digits))
    return f"{prefix}{highest + 1:0{width}d}"


def used_accessions(content: Path) -> list[str]:
    """Every accession the tree knows of: ledger rows (even malformed ones, which are still
    allocations) and study folder names."""
    ledger_path = content / LEDGER_FILE
    used: list[str] = []
    if ledger_path.is_file():
        raw = ledger_path.read_bytes()
        try:
            lines = raw.decode("utf-8").splitlines()
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            raise AllocationError(
                f"{ledger_path}:{line}: E048 ledger line is not valid UTF-8; fix it first"
            ) from None
        if not lines or lines[0].split("\t")[:2] != LEDGER_HEADER[:2]:
            raise AllocationError(
                f"{ledger_path}:1: E032 ledger header must be: accession<TAB>created<TAB>note"
            )
        for number, ln in enumerate(lines[1:], start=2):
            cell = ln.split("\t", 1)[0].strip()
            if not cell:
                continue
            if not ACCESSION_RE.match(cell):
                # allocating "after" a malformed row could invent absurd accessions
                raise AllocationError(
                    f"{ledger_path}:{number}: E032 accession {cell!r} is malformed; "
                    "fix the ledger before allocating"
                )
            used.append(cell)
    studies = content / "studies"
    if studies.is_dir():
        used += [p.name for p in studies.iterdir() if p.is_dir()]
    return used


def append_ledger_row(content: Path, accession: str, created: dt.date, note: str) -> Path:
    """Append one row; create the ledger with its header when the archive is new."""
    path = content / LEDGER_FILE
    note = " ".join(note.split())  # one line, no tabs
    if not path.exists():
        path.write_text("\t".join(LEDGER_HEADER) + "\n", encoding="utf-8")
    text = path.read_text(encoding="utf-8")
    with path.open("a", encoding="utf-8", newline="\n") as fh:
        if text and not text.endswith("\n"):
            fh.write("\n")
        fh.write(f"{accession}\t{created.isoformat()}\t{note}\n")
    return path


@dataclass(frozen=True)
class Allocation:
    accession: str
    ledger: Path
    study_yaml: Path


def allocate(
    content: Path,
    prefix: str,
    title: str,
    collection: str,
    licenses: tuple[str, ...],
    today: dt.date,
) -> Allocation:
    """Allocate the next accession, record it, and write the study skeleton."""
    if not ACCESSION_RE.match(f"{prefix}1"):
        raise AllocationError(
            f"accession_prefix {prefix!r} in site.yaml does not make accessions of the form "
            "S-ABCD123"
        )
    accession = next_accession(prefix, used_accessions(content))
    folder = content / "studies" / accession
    if folder.exists():  # pragma: no cover - excluded by used_accessions
        raise AllocationError(f"{folder} already exists")
    ledger = append_ledger_row(content, accession, today, f"new: {title}")
    folder.mkdir(parents=True)
    study_yaml = folder / "study.yaml"
    study_yaml.write_text(skeleton(accession, title, collection, licenses), encoding="utf-8")
    return Allocation(accession=accession, ledger=ledger, study_yaml=study_yaml)


def _q(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def skeleton(accession: str, title: str, collection: str, licenses: tuple[str, ...]) -> str:
    """A study.yaml that validates except for its TODO placeholders (E080), with the
    optional REMBI sections shown as comments to uncomment and fill."""
    choices = ", ".join(licenses) if licenses else "an SPDX id listed in site.yaml"
    return f"""\
# Study {accession}. Fill in every "TODO:" value, then run `catalogue validate`.
# The whole format is described in docs/content-format.md.
format: 1
accession: {accession}
title: {_q(title)}
release_date: {_q(todo("YYYY-MM-DD, the day the study becomes public (embargo until then)"))}
license: {_q(todo(f"one of {choices}"))}
collection: {collection}
keywords: []
description: {_q(todo("what was imaged, how and why (markdown)"))}
authors:
  - name: {_q(todo("Firstname Lastname"))}
    # orcid: 0000-0002-1825-0097
    # email: someone@example.org     # never published
    # affiliations: [lab]
    # roles: [submitter]
# affiliations:
#   lab: {{name: Example Institute, ror: "https://ror.org/…", address: "City, Country"}}
# funding:
#   - {{funder: Example Trust, grant_id: "123"}}
# publications:
#   - {{title: "…", authors: "…", year: 2025, doi: 10.1000/xyz123}}
# biosamples:
#   cells:
#     organism: {{scientific_name: Homo sapiens, common_name: human, ncbi_taxon: 9606}}
#     biological_entity: HeLa cells
# specimens:
#   fixed: {{preparation: "…"}}
# image_acquisitions:
#   confocal:
#     imaging_method: {{name: confocal microscopy, fbbi: "FBbi:00000251"}}
#     instrument: "…"
datasets: []
# datasets:
#   - id: images
#     title: "…"
#     biosample: cells
#     specimen: fixed
#     image_acquisition: confocal
#     files: images.files.tsv          # path, size, sha256 and attribute columns
"""
