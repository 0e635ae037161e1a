"""PageTab import, files: a dataset's file lists and inline files become its manifest.

A file list is named in the PageTab and given separately (``--files``) or found beside
the submission JSON; a named list that is not found is reported, not an error, so that a
study can be imported before its file lists are at hand. The cells are cleaned for TSV
and the columns put in the manifest's order (path, size, sha256, then the attributes).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from catalogue.pagetab.conversion import Conversion, Manifest
from catalogue.pagetab.shape import check_shape
from catalogue.pagetab.vocabulary import (
    PageTabError,
    _cell,
    _read_tsv_list,
    file_list_rows,
    read_json,
    text_value,
)
from catalogue.readers.manifest import path_problem


def add_files(
    conv: Conversion,
    dataset: dict[str, Any],
    lists: list[str],
    inline: list[dict[str, Any]],
    path: str,
) -> None:
    """Give ``dataset`` a manifest of its inline files and named file lists, if any."""
    entries = list(inline)
    for name in lists:
        conv.extra.setdefault("file_lists", {})[dataset["id"]] = name
        found = _find_file_list(conv, name)
        if found is None:
            conv.missing.append(
                f"{path}: file list {name!r} not given (add --files {Path(name).name}); "
                "the dataset has no manifest yet"
            )
            continue
        data = read_json(found, "E092") if found.suffix != ".tsv" else _read_tsv_list(found)
        if not isinstance(data, list):
            raise PageTabError(f"{found}:1: E092 a file list is a JSON list of files")
        if found.suffix != ".tsv":
            check_shape(data, found, "E092", file_list=True)
        entries += [e for e in data if isinstance(e, dict)]
    if not entries and not (lists and any(_find_file_list(conv, n) for n in lists)):
        return
    columns, rows = file_list_rows(entries)
    cleaned = 0
    table: list[list[str]] = []
    for row in rows:
        cells = []
        for name in ["path", "size", *columns]:
            value = row.get(name)
            if name == "size":
                value = str(value) if isinstance(value, int) else text_value(value) or ""
            cell, changed = _cell(value)
            cleaned += changed
            cells.append(cell)
        cells.insert(2, "")
        table.append(cells)
        if row["type"] != "file":
            types = conv.extra.setdefault("file_types", {}).setdefault(dataset["id"], {})
            types[row["path"]] = row["type"]
    if cleaned:
        conv.note(f"{path}: {cleaned} cells had tabs or line breaks, written as spaces")
    bad = [r[0] for r in table if path_problem(r[0])]
    if bad:
        conv.note(f"{path}: {len(bad)} file paths are unsafe (first: {bad[0]!r}); fix them")
    dataset["files"] = f"{dataset['id']}.files.tsv"
    manifest_columns = ["path", "size", "sha256"]
    for c in columns:
        if c == "sha256" and "sha256" in manifest_columns:
            continue
        manifest_columns.append(c)
    if "sha256" in columns:
        idx = 3 + columns.index("sha256")
        for cells in table:
            cells[2] = cells.pop(idx)
    conv.manifests.append(
        Manifest(dataset["id"], manifest_columns, table, ", ".join(lists) or "inline files")
    )


def _find_file_list(conv: Conversion, name: str) -> Path | None:
    """A file list named in the PageTab: given with --files (matched by file name, with
    or without extension) or found beside the submission JSON."""
    base = Path(name).name
    stem = base.rsplit(".", 1)[0] if "." in base else base
    for candidate in (base, stem):
        if candidate in conv.file_lists:
            conv.used_lists.add(conv.file_lists[candidate])
            return conv.file_lists[candidate]
    if path_problem(name) is None:
        # as named, or in the other BioStudies form (a list named x.json given as x.tsv)
        named = conv.source.parent / name
        bare = named.with_suffix("") if named.suffix.lower() in (".json", ".tsv") else named
        for beside in (
            named,
            *(conv.source.parent / f"{name}{ext}" for ext in (".json", ".tsv")),
            *(bare.with_name(f"{bare.name}{ext}") for ext in (".json", ".tsv")),
        ):
            if beside.is_file():
                return beside
    return None
