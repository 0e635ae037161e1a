"""What one PageTab import builds up as it walks a submission, shared by its stages.

The import runs in stages, one module each: people and links (people), REMBI
sections (sections), datasets (datasets) and file lists
(files); importer orders them and turns the result into an ``Imported``.
The stages refer to each other's records (a dataset names the biosample a section made,
an author the affiliation an organisation made), so they write into one ``Conversion``
that is passed to each of them, rather than each returning a part to be merged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from catalogue.pagetab.vocabulary import REMBI, Section


@dataclass
class Manifest:
    """One dataset's file table, written as ``<dataset>.files.tsv``."""

    dataset: str
    columns: list[str]
    rows: list[list[str]]
    source: str


# an annotation with its own files: (key, record, file list names, inline files); it
# becomes a dataset only after the study's own datasets, so that their ids come first
PendingAnnotation = tuple[str, dict[str, Any], list[str], list[Any]]


@dataclass
class Conversion:
    """One conversion: the study as it is built, what goes to ``extra``, and the report."""

    source: Path  # the submission JSON; file lists are also looked for beside it
    file_lists: dict[str, Path]  # given with --files, by file name and by stem
    study: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # becomes extra.pagetab
    bags: dict[str, dict[str, Any]] = field(default_factory=dict)  # record path -> attributes
    notes: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    used_lists: set[Path] = field(default_factory=set)
    manifests: list[Manifest] = field(default_factory=list)
    keys: dict[str, set[str]] = field(default_factory=dict)  # kind -> keys taken
    titles: dict[str, dict[str, str]] = field(default_factory=dict)  # kind -> loose title -> key
    dataset_ids: set[str] = field(default_factory=set)
    datasets: list[dict[str, Any]] = field(default_factory=list)
    records: dict[str, dict[str, dict[str, Any]]] = field(
        default_factory=lambda: {k: {} for k in REMBI}
    )
    sections: list[dict[str, Any]] = field(default_factory=list)
    links: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    study_extra: dict[str, Any] = field(default_factory=dict)  # the study's own extra, as JSON
    pending_annotations: list[PendingAnnotation] = field(default_factory=list)

    def keep(self, path: str, section: Section) -> None:
        """Keep the attributes of ``section`` no stage took, under its record path."""
        bag = section.rest()
        if bag:
            self.bags.setdefault(path, {}).update(bag)

    def note(self, text: str) -> None:
        """Report a value that was normalised or inferred, for a human to check."""
        self.notes.append(text)

    def unknown(self, where: str, section: Section) -> None:
        """Keep a section of a type nothing maps, whole, so that export writes it back."""
        self.sections.append({"in": where, "section": section.raw})
