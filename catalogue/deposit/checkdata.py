"""``catalogue check-data``: does the data on disk match what the manifests promise?

Before a study is released (or after a transfer), every file its manifests list must be
in ``<root>/<ACCESSION>/`` with the listed size, and with ``--checksums`` the listed
sha256; files nobody listed are reported too, since they would be published without a
description or are left over from a mistake. Every problem names the file, and the
manifest line that lists it.

The manifests' paths go into an on-disk SQLite table, so memory does not grow with the
number of files; the data folder is walked once; checksums are computed in parallel
with the same workers and progress as ``add-files``.

A manifest row naming a folder (an OME-Zarr listed as one entry) is satisfied by the
folder, and the files inside it are not extra.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import yaml

from catalogue.deposit import hashing
from catalogue.deposit.progress import Progress
from catalogue.identifiers import ACCESSION_RE
from catalogue.readers.manifest import path_problem, summarize

Echo = Callable[[str], None]


class CheckError(Exception):
    """The check cannot run at all (unknown accession, bad --root...)."""


@dataclass
class CheckReport:
    accession: str
    folder: Path
    listed: int = 0
    found: int = 0
    checked: int = 0  # checksums compared
    problems: int = 0
    echo: Echo = field(default=lambda _: None, repr=False)

    def problem(self, text: str) -> None:
        """Problems are printed as found, never gathered: there may be millions."""
        self.problems += 1
        self.echo(text)


@dataclass(frozen=True)
class CheckOptions:
    content: Path
    accessions: tuple[str, ...]
    root: Path | None = None
    checksums: bool = False
    jobs: int = 1
    executor: str | None = None


def data_root(content: Path, root: Path | None) -> Path:
    if root is not None:
        if not root.is_dir():
            raise CheckError(f"--root {root}: no such folder")
        return root
    from catalogue.readers.tree import load_site

    site, _ = load_site(content)
    if site is None:
        raise CheckError(f"{content / 'site.yaml'} is missing or has errors (run validate)")
    return content / site.data_root


def _manifests(content: Path, accession: str) -> list[Path]:
    if not ACCESSION_RE.match(accession):
        raise CheckError(f"{accession!r} is not an accession of the form S-ABCD123")
    study_yaml = content / "studies" / accession / "study.yaml"
    try:
        study = yaml.safe_load(study_yaml.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckError(f"unknown accession {accession}: {study_yaml} not found") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise CheckError(f"{study_yaml} cannot be read ({exc}); run validate") from None
    datasets = study.get("datasets") if isinstance(study, dict) else None
    names = [
        str(d["files"])
        for d in datasets or []
        if isinstance(d, dict) and d.get("files") and not path_problem(str(d["files"]))
    ]
    return [study_yaml.parent / n for n in names]


def check_data(
    options: CheckOptions,
    echo: Echo = lambda _: None,
    progress: TextIO | None = None,
    tty: bool = False,
) -> list[CheckReport]:
    root = data_root(options.content, options.root)
    plans = [(acc, _manifests(options.content, acc)) for acc in options.accessions]
    reports = []
    for accession, manifests in plans:
        with tempfile.TemporaryDirectory(prefix="catalogue-check-data-") as work:
            db = sqlite3.connect(Path(work) / "listed.sqlite", isolation_level=None)
            db.execute("PRAGMA journal_mode=OFF")
            db.execute("PRAGMA synchronous=OFF")
            try:
                reports.append(
                    _check_one(db, options, root, accession, manifests, echo, progress, tty)
                )
            finally:
                db.close()
    return reports


def _check_one(
    db: sqlite3.Connection,
    options: CheckOptions,
    root: Path,
    accession: str,
    manifests: list[Path],
    echo: Echo,
    stream: TextIO | None,
    tty: bool,
) -> CheckReport:
    folder = root / accession
    report = CheckReport(accession, folder, echo=echo)
    db.execute(
        "CREATE TABLE listed (path TEXT PRIMARY KEY, size INTEGER, sha256 TEXT, "
        "source TEXT, seen INTEGER DEFAULT 0, fsize INTEGER, fmtime INTEGER)"
    )
    db.execute("BEGIN")
    for manifest in manifests:
        _load(db, manifest, options.content, report)
    if not folder.is_dir():
        count = db.execute("SELECT count(*) FROM listed").fetchone()[0]
        report.problem(f"{folder}: data folder not found ({count:,} listed files missing)")
        db.execute("COMMIT")
        return report
    hash_files = hash_bytes = 0
    for rel, is_link, size, mtime in _walk(folder, db):
        row = db.execute(
            "SELECT size, sha256, source FROM listed WHERE path = ?", (rel,)
        ).fetchone()
        if is_link is None:
            continue  # a listed folder (see the module docstring)
        report.found += 1
        if is_link:
            report.problem(f"{folder / rel}: symbolic link (data must be files, not links)")
            continue
        if row is None:
            report.problem(f"{folder / rel}: extra file, not listed in any manifest")
            continue
        listed_size, sha, source = row
        db.execute(
            "UPDATE listed SET seen = 1, fsize = ?, fmtime = ? WHERE path = ?", (size, mtime, rel)
        )
        if listed_size is not None and listed_size != size:
            report.problem(
                f"{source}: {rel}: size mismatch: listed {listed_size:,} bytes, "
                f"{folder / rel} has {size:,}"
            )
            continue
        if options.checksums and sha:
            db.execute("UPDATE listed SET seen = 2 WHERE path = ?", (rel,))
            hash_files += 1
            hash_bytes += size
    missing = db.execute("SELECT path, source FROM listed WHERE seen = 0 ORDER BY source, path")
    for rel, source in missing:
        report.problem(f"{source}: {rel}: missing: {folder / rel} not found")
    db.execute("COMMIT")
    if hash_files:
        _checksums(db, folder, hash_files, hash_bytes, options, report, stream, tty)
    return report


def _load(db: sqlite3.Connection, manifest: Path, content: Path, report: CheckReport) -> None:
    try:
        rel_manifest = manifest.relative_to(Path.cwd()).as_posix()
    except ValueError:
        rel_manifest = str(manifest)
    summary, problems = summarize(manifest, rel_manifest)
    errors = [p for p in problems if not p.code.startswith("W")]
    if summary is None or errors:
        for p in errors[:20]:
            report.problem(p.format_text())
        if summary is None:
            return
    rows = []
    for line, header, cells in _numbered_rows(manifest):
        row = dict(zip(header, cells, strict=True))
        size = row.get("size", "").strip()
        rows.append(
            (
                row["path"],
                int(size) if size.isdigit() else None,
                row.get("sha256", "").strip() or None,
                f"{rel_manifest}:{line}",
            )
        )
        if len(rows) >= 10_000:
            db.executemany(
                "INSERT OR IGNORE INTO listed (path, size, sha256, source) VALUES (?, ?, ?, ?)",
                rows,
            )
            report.listed += len(rows)
            rows = []
    db.executemany(
        "INSERT OR IGNORE INTO listed (path, size, sha256, source) VALUES (?, ?, ?, ?)", rows
    )
    report.listed += len(rows)


def _numbered_rows(manifest: Path) -> Iterator[tuple[int, list[str], list[str]]]:
    """(line number, header, cells) of each well-formed row, for messages naming the line."""
    header: list[str] | None = None
    with manifest.open("r", encoding="utf-8-sig", newline="") as fh:
        for number, raw in enumerate(fh, start=1):
            text = raw.rstrip("\r\n")
            if not text.strip():
                continue
            cells = text.split("\t")
            if header is None:
                header = [c.strip() for c in cells]
            elif len(cells) == len(header) and "path" in header:
                yield number, header, cells


def _walk(folder: Path, db: sqlite3.Connection) -> Iterator[tuple[str, bool | None, int, int]]:
    """(relative path, is a link, size, mtime_ns) of every file; a listed folder comes once
    with None and is not descended. Links are never followed."""
    stack: list[tuple[Path, str]] = [(folder, "")]
    while stack:
        directory, rel_dir = stack.pop()
        try:
            with os.scandir(directory) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            rel = rel_dir + entry.name
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISDIR(st.st_mode):
                listed = db.execute("SELECT 1 FROM listed WHERE path = ?", (rel,)).fetchone()
                if listed:
                    db.execute("UPDATE listed SET seen = 1 WHERE path = ?", (rel,))
                    yield rel, None, 0, 0
                else:
                    stack.append((Path(entry.path), rel + "/"))
                continue
            yield rel, stat.S_ISLNK(st.st_mode), st.st_size, st.st_mtime_ns


def _checksums(
    db: sqlite3.Connection,
    folder: Path,
    files: int,
    total: int,
    options: CheckOptions,
    report: CheckReport,
    stream: TextIO | None,
    tty: bool,
) -> None:
    def tasks() -> Iterator[hashing.Task]:
        rows = db.execute("SELECT path, fsize, fmtime FROM listed WHERE seen = 2 ORDER BY rowid")
        base = str(folder)
        while chunk := rows.fetchmany(1000):
            for rel, size, mtime in chunk:
                yield hashing.Task(f"{base}/{rel}", rel, size, mtime)

    bar = Progress(f"checksums {report.accession}", files, total, stream, tty)
    lookup = db.cursor()
    for result in hashing.run(tasks(), options.jobs, bar.add, options.executor):
        rel = result["rel"]
        sha, source = lookup.execute(
            "SELECT sha256, source FROM listed WHERE path = ?", (rel,)
        ).fetchone()
        if "error" in result:
            report.problem(f"{folder / rel}: {result['error'].split(':')[0]}")
            continue
        report.checked += 1
        if result["sha256"] != sha:
            report.problem(
                f"{source}: {rel}: sha256 mismatch: listed {sha}, {folder / rel} has "
                f"{result['sha256']}"
            )
    bar.close()
