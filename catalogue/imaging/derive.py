"""``catalogue convert-study``: OME-Zarr copies of a study's images, as derived files.

A dataset opts in with ``convert: ome-zarr`` in study.yaml. For each row of its
manifest whose file is a local, convertible image (not already OME-Zarr), the image is
converted next to the original (``<path>.ome.zarr`` under ``content/<data_root>/<ACC>/``,
the tree published at ``data_url``) and the zarr's files are added to the same
manifest, each with its size, sha256 and a ``derived_from`` column naming the
original. The build then treats them like any OME-Zarr: thumbnail, viewer links and
the site's own viewer. A conversion newer than its source is kept; the manifest is
rewritten beside itself and swapped in, so an interrupted run loses nothing.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from catalogue.formats import thumbnail_candidate
from catalogue.imaging.convert import ConvertError, convert
from catalogue.imaging.ngff import is_zarr
from catalogue.readers.manifest import path_problem

DERIVED = "derived_from"


class DeriveError(Exception):
    pass


@dataclass
class DeriveReport:
    converted: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    rows_added: int = 0


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _rows(manifest: Path) -> tuple[list[str], list[list[str]]]:
    text = manifest.read_text(encoding="utf-8-sig")
    table = list(csv.reader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE))
    if not table or "path" not in table[0]:
        raise DeriveError(f"{manifest}:1:1: manifest has no header with a path column")
    return table[0], table[1:]


def convert_study(
    content: Path, accession: str, *, echo: Callable[[str], None] = lambda _: None
) -> DeriveReport:
    from catalogue.readers.tree import load_site

    site, _ = load_site(content)
    if site is None:
        raise DeriveError(f"{content / 'site.yaml'} is missing or invalid (run validate)")
    study_file = content / "studies" / accession / "study.yaml"
    try:
        study = yaml.safe_load(study_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise DeriveError(f"{study_file}: cannot be read ({exc}); run validate") from None
    datasets = [
        ds
        for ds in (study.get("datasets") or [] if isinstance(study, dict) else [])
        if isinstance(ds, dict) and ds.get("convert") == "ome-zarr" and ds.get("files")
    ]
    if not datasets:
        raise DeriveError(f"{study_file}: no dataset has 'convert: ome-zarr' and a manifest")
    data = content / site.data_root / accession
    report = DeriveReport()
    for ds in datasets:
        manifest = study_file.parent / str(ds["files"])
        if path_problem(str(ds["files"])) or not manifest.is_file():
            report.problems.append(f"{manifest}: manifest not found")
            continue
        _derive_manifest(manifest, data, report, echo)
    return report


def _derive_manifest(
    manifest: Path, data: Path, report: DeriveReport, echo: Callable[[str], None]
) -> None:
    header, rows = _rows(manifest)
    at = header.index("path")
    listed = {row[at] for row in rows if len(row) > at}
    new_rows: list[dict[str, str]] = []
    for row in rows:
        if len(row) <= at:
            continue
        rel = row[at]
        if path_problem(rel) or not thumbnail_candidate(rel) or ".zarr" in rel.lower():
            continue
        source = data / rel
        if not source.is_file() or source.is_symlink():
            continue
        target_rel = f"{rel}.ome.zarr"
        target = data / target_rel
        if is_zarr(target) and target.stat().st_mtime_ns >= source.stat().st_mtime_ns:
            report.kept.append(rel)
        else:
            try:
                convert(source, target, overwrite=True, echo=echo)
            except ConvertError as exc:
                report.problems.append(str(exc))
                continue
            report.converted.append(rel)
        for path in sorted(target.rglob("*")):
            if not path.is_file() or path.is_symlink():
                continue
            file_rel = f"{target_rel}/{path.relative_to(target).as_posix()}"
            if file_rel in listed:
                continue
            new_rows.append(
                {
                    "path": file_rel,
                    "size": str(path.stat().st_size),
                    "sha256": _sha256(path),
                    DERIVED: rel,
                }
            )
    if not new_rows:
        return
    columns = list(header)
    if DERIVED not in columns:
        columns.append(DERIVED)
    handle, temp = tempfile.mkstemp(dir=manifest.parent, prefix=f".{manifest.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write("\t".join(columns) + "\n")
            for row in rows:
                out.write("\t".join(row + [""] * (len(columns) - len(row))) + "\n")
            for extra in new_rows:
                out.write("\t".join(extra.get(c, "") for c in columns) + "\n")
        os.chmod(temp, manifest.stat().st_mode & 0o777)
        os.replace(temp, manifest)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)
    report.rows_added += len(new_rows)
    echo(f"convert-study: {manifest.name}: {len(new_rows)} derived file(s) listed")
