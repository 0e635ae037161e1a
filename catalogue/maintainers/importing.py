"""Writing an imported study into the content tree: new, replaced, or merged on re-import.

Shared by the importers (``import-pagetab``, ``import-empiar``, ``import-idr``): each turns
a record into an ``Imported`` (study data + manifests + report); ``store`` writes it,
keeps a curator's edits on re-import (the rule is in reimport.py), records the accession in
the ledger and says what changed on the site, in the words of ``catalogue diff``.
Files are written to a temporary name and renamed, so an interrupted import never leaves
half a study.
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from catalogue.maintainers.accessions import append_ledger_row
from catalogue.maintainers.diff import study_changes
from catalogue.maintainers.reimport import BASELINE, merge, read_baseline, snapshot
from catalogue.pagetab.importer import Imported, dump_yaml


@dataclass
class Stored:
    accession: str
    status: str  # new, updated, unchanged, replaced, refused
    folder: Path
    changes: list[str] = field(default_factory=list)  # what the site shows differently
    kept: list[str] = field(default_factory=list)  # curator's edits kept over the record
    message: str | None = None
    ledger: Path | None = None


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_bytes(data)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def _manifest_text(columns: list[str], rows: list[list[str]]) -> str:
    return "\n".join(["\t".join(columns)] + ["\t".join(r) for r in rows]) + "\n"


def in_ledger(content: Path, accession: str) -> bool:
    path = content / "accessions.tsv"
    if not path.is_file():
        return False
    lines = path.read_text(encoding="utf-8").splitlines()[1:]
    return any(line.split("\t", 1)[0].strip() == accession for line in lines)


def _manifest_names(study: dict[str, Any] | None) -> set[str]:
    names = set()
    for ds in (study or {}).get("datasets") or []:
        if isinstance(ds, dict) and isinstance(ds.get("files"), str) and "/" not in ds["files"]:
            names.add(ds["files"])
    return names


def _keep_unlisted_manifests(new: dict[str, Any], folder: Path, imported: Imported) -> None:
    """A dataset whose file list was not at hand this time keeps the manifest it has:
    re-importing a record without its (possibly huge) file lists must not empty it."""
    listed = {m.dataset for m in imported.manifests}
    previous = {
        ds.get("id"): ds.get("files")
        for ds in (read_baseline(folder) or {}).get("datasets") or []
        if isinstance(ds, dict)
    }
    for ds in new.get("datasets") or []:
        name = previous.get(ds.get("id"))
        if ds.get("id") in listed or "files" in ds or not isinstance(name, str):
            continue
        if "/" not in name and (folder / name).is_file():
            ds["files"] = name
            ds.pop("remote_files", None)
            prefix = f"datasets.{ds['id']}:"
            imported.missing[:] = [m for m in imported.missing if not m.startswith(prefix)]
            imported.notes.append(
                f"datasets.{ds['id']}: file list not given; its manifest {name} is kept"
            )


def store(
    imported: Imported,
    content: Path,
    today: dt.date,
    *,
    force: bool = False,
    ledger_note: str = "",
) -> Stored:
    """Write ``imported`` as studies/<ACCESSION>/; merge with the study there, if any."""
    acc = imported.accession
    folder = content / "studies" / acc
    new = imported.study
    existed = (folder / "study.yaml").is_file()
    old_copy: Path | None = None
    old: dict[str, Any] = {}
    kept: list[str] = []
    status = "new"
    if existed:
        _keep_unlisted_manifests(new, folder, imported)
        baseline = read_baseline(folder)
        loaded = yaml.safe_load((folder / "study.yaml").read_text(encoding="utf-8"))
        old = loaded if isinstance(loaded, dict) else {}
        was, now = (old.get("source") or {}), (new.get("source") or {})
        if not force and was.get("id") and now.get("id") and was.get("id") != now.get("id"):
            return Stored(
                acc,
                "refused",
                folder,
                message=(
                    f"{folder} holds the study imported from {was.get('name')} "
                    f"{was.get('id')}, not {now.get('id')}; give another --accession "
                    "(or --force to replace it)"
                ),
            )
        if baseline is None and not force:
            return Stored(
                acc,
                "refused",
                folder,
                message=(
                    f"{folder} exists and has no {BASELINE} (not imported, or imported "
                    "before baselines): edits cannot be told from the old import; "
                    "pass --force to replace it"
                ),
            )
        if force or baseline is None:
            study, status = new, "replaced"
        else:
            merged = merge(baseline, old, new)
            study, kept, status = merged.study, merged.kept, "updated"
        old_copy = snapshot(folder)
    else:
        study = new
    # every file is made before the first is written: a record that cannot be written
    # (text no file can hold) fails here, with nothing of the study changed
    files = {
        f"{m.dataset}.files.tsv": _manifest_text(m.columns, m.rows).encode("utf-8")
        for m in imported.manifests
    }
    files["study.yaml"] = dump_yaml(study).encode("utf-8")
    files[BASELINE] = dump_yaml(new).encode("utf-8")
    if not folder.exists():
        # a new study appears whole or not at all: written aside, then renamed into place
        staging = folder.with_name(f".{folder.name}.importing")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        try:
            for name, data in files.items():
                (staging / name).write_bytes(data)
            staging.rename(folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        files = {}
    folder.mkdir(parents=True, exist_ok=True)
    wanted = {f"{m.dataset}.files.tsv" for m in imported.manifests}
    for name in _manifest_names(old) | _manifest_names(read_baseline(folder)):
        # a manifest of the last import that the record no longer has goes; one that
        # belongs to a dataset a curator added stays
        if name not in wanted and name not in _manifest_names(study):
            (folder / name).unlink(missing_ok=True)
    for name, data in files.items():  # study.yaml after its manifests, the baseline last
        _write(folder / name, data)
    changes: list[str] = []
    if old_copy is not None:
        changes = study_changes(old, study, old_copy, folder, today)
        shutil.rmtree(old_copy.parent, ignore_errors=True)
        if not changes and status == "updated":
            status = "unchanged"
    ledger = None
    if not in_ledger(content, acc):
        ledger = append_ledger_row(content, acc, today, ledger_note)
    return Stored(acc, status, folder, changes=changes, kept=kept, ledger=ledger)
