"""``catalogue add-files``: a folder of data files → a dataset's manifest, without typing TSV.

Three passes, none of which holds the folder in memory (a study can have 1.3 million
files): the walk lists files into an on-disk SQLite table (``walk``); files that the
resume state (``state``) does not know unchanged are hashed and their image headers read
in parallel (``hashing``); then the manifest is written row by row from SQLite: the rows
of an existing manifest first, in their order, with sizes and digests brought up to date
and curators' cells kept, then the new files sorted by path.

Nothing half-written ever replaces a file. The manifest and study.yaml are written to
temporary files beside them and renamed into place, and only if neither changed on disk
since it was read (someone editing the manifest by hand while hashing ran): then the run
is refused and nothing is replaced; the hashes are kept in the resume state, so running
it again costs only a walk.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import sqlite3
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import yaml

from catalogue.deposit import hashing, studyedit
from catalogue.deposit.progress import Progress, human_bytes
from catalogue.deposit.state import HashState
from catalogue.deposit.walk import entries, is_image
from catalogue.identifiers import ACCESSION_RE, DATASET_ID_RE
from catalogue.paths import escapes
from catalogue.readers.manifest import KNOWN, RESERVED, file_sha256, iter_cells, summarize

SHOW_SKIPPED = 50  # skipped files named one by one; the rest are counted by reason
Echo = Callable[[str], None]


class DepositError(Exception):
    """The request cannot be carried out; the message says why and what to do."""


class UsageProblem(DepositError):
    """A bad argument (exit status 2)."""


@dataclass(frozen=True)
class AddOptions:
    content: Path
    accession: str
    dataset: str
    folder: Path
    pattern: str | None = None
    place: str | None = None  # "copy" or "link": into <data_root>/<ACCESSION>/
    title: str | None = None
    headers: bool = True  # read image headers
    jobs: int = 1
    executor: str | None = None


@dataclass
class AddReport:
    manifest: Path
    study_yaml: Path
    created_dataset: bool = False
    files: int = 0
    bytes: int = 0
    hashed: int = 0
    reused: int = 0
    new_rows: int = 0
    updated_rows: int = 0
    absent_rows: int = 0  # rows of the old manifest whose file is not in the folder
    columns_added: list[str] = field(default_factory=list)
    unmatched: int = 0  # files the --pattern did not match
    skipped: Counter[str] = field(default_factory=Counter)
    header_warnings: int = 0
    written: bool = False
    placed: Path | None = None


# --- the path pattern ------------------------------------------------------------------

_FIELD = re.compile(r"\{([A-Za-z][A-Za-z0-9_]*)\}")


def column_name(name: str) -> str:
    """``plate`` → ``Plate``, ``compound_name`` → ``Compound name``."""
    text = name.replace("_", " ")
    return text[:1].upper() + text[1:]


def compile_pattern(pattern: str) -> tuple[re.Pattern[str], list[str]]:
    """A ``{name}/{other}_*.tif`` pattern as a regex and its column names.

    ``{name}`` matches one or more characters other than ``/``; ``*`` any run of them;
    everything else literally. The whole relative path must match.
    """
    names = _FIELD.findall(pattern)
    if not names:
        raise UsageProblem(f"--pattern {pattern!r} names no field, e.g. '{{plate}}/{{well}}.tif'")
    if len(set(names)) != len(names):
        raise UsageProblem(f"--pattern {pattern!r} names a field twice")
    columns = [column_name(n) for n in names]
    for col in columns:
        if col.lower() in (*RESERVED, *KNOWN):
            raise UsageProblem(
                f"--pattern field {{{col.lower()}}} would make the reserved column '{col}'"
            )
    regex = ""
    for i, piece in enumerate(_FIELD.split(pattern)):
        if i % 2:
            regex += f"(?P<{piece}>[^/]+?)"
        else:
            regex += "[^/]*?".join(re.escape(p) for p in piece.split("*"))
    return re.compile(f"^{regex}$"), columns


# --- checks before anything is read ------------------------------------------------------


@dataclass(frozen=True)
class Target:
    study_yaml: Path
    study_text: str
    manifest: Path
    manifest_digest: str | None  # None: no manifest yet
    new_dataset: bool
    data_dest: Path | None


def _target(options: AddOptions) -> Target:
    from catalogue.readers.tree import load_site

    content, acc, ds = options.content, options.accession, options.dataset
    folder = options.folder
    if not folder.exists():
        raise DepositError(f"{folder}: no such folder")
    if not folder.is_dir():
        raise DepositError(f"{folder}: is a file, not a folder of data files")
    if not (content / "site.yaml").is_file():
        raise UsageProblem(f"{content}/site.yaml not found: is --content the content folder?")
    site, _ = load_site(content)
    if site is None:
        raise DepositError(f"{content / 'site.yaml'} has errors; run catalogue validate")
    if not ACCESSION_RE.match(acc):
        raise UsageProblem(f"{acc!r} is not an accession of the form S-ABCD123")
    study_yaml = content / "studies" / acc / "study.yaml"
    _refuse_link_out(study_yaml, content / "studies" / acc)
    if not study_yaml.is_file():
        raise DepositError(
            f"unknown accession {acc}: {study_yaml} not found "
            '(catalogue new "Title" allocates an accession and writes its study.yaml)'
        )
    if not DATASET_ID_RE.match(ds):
        raise UsageProblem(
            f"dataset id {ds!r} must be 1 to 64 lower-case letters, digits, '-' or '_' "
            "(it is used in URLs)"
        )
    try:
        study_text = study_yaml.read_text(encoding="utf-8")
        study = yaml.safe_load(study_text)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise DepositError(f"{study_yaml} cannot be read ({exc}); run catalogue validate") from None
    datasets = study.get("datasets") if isinstance(study, dict) else None
    datasets = [d for d in datasets or [] if isinstance(d, dict)]
    same = [d for d in datasets if str(d.get("id")) == ds]
    if len(same) > 1:
        raise DepositError(f"{study_yaml}: dataset id '{ds}' is used twice; fix study.yaml first")
    if same:
        name = same[0].get("files")
        if not name:
            raise DepositError(
                f"{study_yaml}: dataset '{ds}' has no 'files:' manifest; add "
                f"'files: {ds}.files.tsv' to it, then run add-files again"
            )
        name = str(name)
        if "/" in name or name.startswith(".") or not name.endswith(".tsv"):
            raise DepositError(f"{study_yaml}: dataset '{ds}' files {name!r} is not a .tsv name")
    else:
        name = f"{ds}.files.tsv"
        owner = next((d for d in datasets if str(d.get("files")) == name), None)
        if owner is not None:
            raise DepositError(
                f"{study_yaml}: dataset id '{ds}' clashes with dataset '{owner.get('id')}', "
                f"whose manifest is already {name}; choose another dataset id"
            )
        if (study_yaml.parent / name).exists():
            raise DepositError(
                f"{study_yaml.parent / name} exists but no dataset of {acc} lists it; "
                f"add a dataset with 'files: {name}' to study.yaml or move the file away"
            )
    manifest = study_yaml.parent / name
    _refuse_link_out(manifest, study_yaml.parent)
    digest = None
    if manifest.exists():
        summary, problems = summarize(manifest, str(manifest))
        errors = [p for p in problems if not p.code.startswith("W")]
        if summary is None or errors:
            shown = "\n".join(p.format_text() for p in errors[:10])
            raise DepositError(f"{manifest} has errors; fix them first:\n{shown}")
        digest = file_sha256(manifest)
    dest = None
    if options.place:
        _refuse_link_out(content / site.data_root / acc, content)
        dest = (content / site.data_root / acc).resolve()
        source = folder.resolve()
        if dest == source:
            dest = None  # the folder already is the data folder
        elif dest.is_relative_to(source) or source.is_relative_to(dest):
            raise UsageProblem(
                f"--{options.place}: {folder} and the data folder {dest} contain one another"
            )
    return Target(study_yaml, study_text, manifest, digest, not same, dest)


def _refuse_link_out(path: Path, folder: Path) -> None:
    """The files add-files reads and replaces stay in their folder, as the build reads
    them (E043): a manifest linked to a file elsewhere would copy that file's lines into
    the study, a data folder linked elsewhere would receive the copies."""
    if escapes(path, folder):
        how = "is a symbolic link loop" if _loops(path) else f"is a symbolic link out of {folder}"
        raise DepositError(f"{path} {how}; refused (make it a real file or folder)")


def _loops(path: Path) -> bool:
    try:
        path.resolve(strict=True)
    except RuntimeError:
        return True
    except OSError as exc:
        return exc.errno == errno.ELOOP
    return False


# --- the passes -------------------------------------------------------------------------


def _db(folder: Path) -> sqlite3.Connection:
    db = sqlite3.connect(folder / "work.sqlite", isolation_level=None)
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-16000")  # 16 MB, whatever the folder size
    db.execute("CREATE TABLE found (path TEXT, size INTEGER, mtime_ns INTEGER, harvest INTEGER)")
    db.execute("CREATE TABLE result (path TEXT PRIMARY KEY, size INTEGER, sha256 TEXT, vals TEXT)")
    db.execute("CREATE TABLE existing (seq INTEGER PRIMARY KEY, path TEXT UNIQUE, cells TEXT)")
    db.execute("BEGIN")
    return db


def _skip(report: AddReport, echo: Echo, folder: Path, rel: str, reason: str) -> None:
    kind = reason.split(":")[0].split(" (")[0]
    report.skipped[kind] += 1
    if sum(report.skipped.values()) <= SHOW_SKIPPED:
        echo(f"warning: {folder / rel}: {reason}")


def add_files(
    options: AddOptions,
    echo: Echo = lambda _: None,
    progress: TextIO | None = None,
    tty: bool = False,
) -> AddReport:
    """Write or extend the dataset's manifest from the folder (see the module docstring)."""
    target = _target(options)
    report = AddReport(target.manifest, target.study_yaml, created_dataset=target.new_dataset)
    matcher = compile_pattern(options.pattern) if options.pattern else None
    folder = options.folder
    state = HashState(folder)
    with tempfile.TemporaryDirectory(prefix="catalogue-add-files-") as work:
        db = _db(Path(work))
        try:
            existing_header = _load_existing(db, target.manifest)
            _scan(db, folder, options, target, state, report, echo, progress, tty)
            _hash(db, folder, options, target, state, report, echo, progress, tty)
            state.flush()
            _write(db, options, target, existing_header, matcher, report, echo)
        finally:
            db.close()
            state.close()
    return report


def _load_existing(db: sqlite3.Connection, manifest: Path) -> list[str] | None:
    if not manifest.exists():
        return None
    header: list[str] | None = None
    rows = []
    for hdr, cells in iter_cells(manifest):
        header = hdr
        rows.append((cells[hdr.index("path")], json.dumps(cells)))
        if len(rows) >= 10_000:
            db.executemany("INSERT OR IGNORE INTO existing (path, cells) VALUES (?, ?)", rows)
            rows = []
    db.executemany("INSERT OR IGNORE INTO existing (path, cells) VALUES (?, ?)", rows)
    if header is None:  # a header and no rows
        for line in manifest.read_text(encoding="utf-8-sig").splitlines():
            if line.strip():
                header = [c.strip() for c in line.split("\t")]
                break
    return header


def _scan(
    db: sqlite3.Connection,
    folder: Path,
    options: AddOptions,
    target: Target,
    state: HashState,
    report: AddReport,
    echo: Echo,
    stream: TextIO | None,
    tty: bool,
) -> None:
    """The walk, with small files hashed on the way (``hashing.scan``); what is left for
    ``_hash`` (large files, images whose headers are read, files to place) goes to the
    ``found`` table."""
    state.flush()
    inline = target.data_dest is None and options.executor in (None, "local")
    known_rows = state.db.execute("SELECT 1 FROM hashed LIMIT 1").fetchone() is not None
    bar = Progress("reading", None, None, stream, tty)
    found: list[tuple[str, int, int]] = []
    rows: list[tuple[str, int, str, str]] = []  # hashed now, or known from the resume state
    items = hashing.scan(
        folder,
        entries(folder),
        options.jobs if inline else 1,
        str(state.path) if known_rows else None,
        inline,
        options.headers,
    )
    for item in items:
        kind = item[0]
        if kind == "hashed":
            result = item[1]
            if "error" in result:
                _skip(report, echo, folder, result["rel"], result["error"])
                continue
            state.record(result, False)
            report.hashed += 1
            size = result["size"]
            rows.append((result["rel"], size, result["sha256"], ""))
        elif kind == "found":
            size = item[2]
            found.append(item[1:])
        elif kind == "known":
            size = item[2]
            report.reused += 1
            rows.append(item[1:])
        else:
            _skip(report, echo, folder, item[1], item[2])
            continue
        report.files += 1
        report.bytes += size
        bar.add(1, size)
        if len(found) >= 10_000:
            db.executemany("INSERT INTO found (path, size, mtime_ns) VALUES (?, ?, ?)", found)
            found = []
        if len(rows) >= 10_000:
            db.executemany("INSERT INTO result VALUES (?, ?, ?, ?)", rows)
            rows = []
    db.executemany("INSERT INTO found (path, size, mtime_ns) VALUES (?, ?, ?)", found)
    db.executemany("INSERT INTO result VALUES (?, ?, ?, ?)", rows)
    bar.close()


def _hash(
    db: sqlite3.Connection,
    folder: Path,
    options: AddOptions,
    target: Target,
    state: HashState,
    report: AddReport,
    echo: Echo,
    stream: TextIO | None,
    tty: bool,
) -> None:
    root = str(folder.resolve())
    # first: what the resume state already knows (no file is read for those), sorted out
    # in SQL, so that an unchanged million-file folder costs no Python loop over its rows
    db.execute("ATTACH DATABASE ? AS state", (str(state.path),))
    db.create_function("is_image", 1, lambda p: 1 if is_image(p) else 0, deterministic=True)
    db.execute(f"UPDATE found SET harvest = {'is_image(path)' if options.headers else '0'}")
    db.execute(
        "CREATE TEMP TABLE todo (path TEXT, size INTEGER, mtime_ns INTEGER, harvest INTEGER)"
    )
    known = (
        "IFNULL(s.size = f.size AND s.mtime_ns = f.mtime_ns AND (s.harvest = 1 OR f.harvest = 0)"
        ", 0)"
    )
    join = "FROM found f LEFT JOIN state.hashed s ON s.path = f.path"
    if target.data_dest is None:
        db.execute(
            "INSERT INTO result SELECT f.path, f.size, s.sha256, IFNULL(s.harvested, '') "
            f"{join} WHERE {known}"
        )
        db.execute(
            f"INSERT INTO todo SELECT f.path, f.size, f.mtime_ns, f.harvest {join} "
            f"WHERE NOT {known}"
        )
    else:  # a file known but not yet in its place in data_root is read (and placed) again
        rows = db.execute(
            f"SELECT f.path, f.size, f.mtime_ns, f.harvest, s.sha256, s.harvested, {known} {join}"
        )
        reused: list[tuple[str, int, str, str]] = []
        pending: list[tuple[str, int, int, int]] = []
        for rel, size, mtime, harvest, sha, values, same in rows:
            if same and _placed(target.data_dest / rel, size, mtime):
                reused.append((rel, size, sha, values or ""))
            else:
                pending.append((rel, size, mtime, harvest))
        db.executemany("INSERT INTO result VALUES (?, ?, ?, ?)", reused)
        db.executemany("INSERT INTO todo VALUES (?, ?, ?, ?)", pending)
    todo_files, todo_bytes = db.execute("SELECT count(*), total(size) FROM todo").fetchone()
    todo_bytes = int(todo_bytes)
    found_files = db.execute("SELECT count(*) FROM found").fetchone()[0]
    report.reused += found_files - todo_files
    if report.reused:
        echo(f"add-files: {report.reused:,} files unchanged since the last run (not read again)")
    bar = Progress("hashing", todo_files, todo_bytes, stream, tty)

    def tasks() -> Iterator[hashing.Task]:
        rows = db.execute("SELECT path, size, mtime_ns, harvest FROM todo ORDER BY rowid")
        dest = str(target.data_dest) if target.data_dest is not None else None
        while chunk := rows.fetchmany(1000):
            for rel, size, mtime, harvest in chunk:
                place = None
                if dest is not None and options.place:
                    place = f"{options.place}:{dest}/{rel}"
                yield hashing.Task(f"{root}/{rel}", rel, size, mtime, bool(harvest), place)

    out: list[tuple[str, int, str, str]] = []
    for result in hashing.run(tasks(), options.jobs, bar.add, options.executor):
        rel = result["rel"]
        if "error" in result:
            _skip(report, echo, folder, rel, result["error"])
            continue
        if result.get("warning"):
            report.header_warnings += 1
        state.record(result, "values" in result)
        report.hashed += 1
        values = result.get("values")
        out.append((rel, result["size"], result["sha256"], json.dumps(values) if values else ""))
        if len(out) >= 10_000:
            db.executemany("INSERT OR REPLACE INTO result VALUES (?, ?, ?, ?)", out)
            out = []
    db.executemany("INSERT OR REPLACE INTO result VALUES (?, ?, ?, ?)", out)
    bar.close()
    if target.data_dest is not None:
        report.placed = target.data_dest


def _placed(dest: Path, size: int, mtime_ns: int) -> bool:
    try:
        st = dest.stat()
    except OSError:
        return False
    return st.st_size == size and st.st_mtime_ns == mtime_ns


def _columns(
    db: sqlite3.Connection, existing: list[str] | None, pattern_columns: list[str]
) -> tuple[list[str], list[str]]:
    """The manifest header: the old one (or path, size, sha256) plus what this run adds."""
    header = list(existing) if existing else ["path", "size", "sha256"]
    if "sha256" not in header:
        header.append("sha256")
    used: set[str] = set()
    for (vals,) in db.execute("SELECT DISTINCT vals FROM result WHERE vals != ''"):
        used.update(json.loads(vals))
    added = []
    if used:
        from catalogue.imaging.harvest import HARVEST_COLUMNS

        added = [c for c in HARVEST_COLUMNS if c in used and c not in header]
    added += [c for c in pattern_columns if c not in header]
    return header + added, added


def _write(
    db: sqlite3.Connection,
    options: AddOptions,
    target: Target,
    existing: list[str] | None,
    matcher: tuple[re.Pattern[str], list[str]] | None,
    report: AddReport,
    echo: Echo,
) -> None:
    regex, pattern_columns = matcher if matcher else (None, [])
    names = _FIELD.findall(options.pattern or "")
    columns, added = _columns(db, existing, pattern_columns)
    report.columns_added = [c for c in added if existing is not None or c not in KNOWN]
    old = existing or []
    index = {c: i for i, c in enumerate(columns)}

    def fill(cells: list[str], rel: str, size: int, sha: str, vals: str) -> bool:
        """Bring a row up to date with its file; curators' cells are kept. Changed?"""
        before = list(cells)
        cells[index["size"]] = str(size)
        cells[index["sha256"]] = sha
        values: dict[str, str] = json.loads(vals) if vals else {}
        if regex is not None:
            m = regex.match(rel)
            if m is None:
                report.unmatched += 1
            else:
                for name, col in zip(names, pattern_columns, strict=True):
                    values[col] = m.group(name)
        for col, value in values.items():
            if col in index and not cells[index[col]].strip():
                cells[index[col]] = value
        return cells != before

    def rows() -> Iterator[list[str]]:
        query = (
            "SELECT e.path, e.cells, r.size, r.sha256, r.vals FROM existing e "
            "LEFT JOIN result r ON r.path = e.path ORDER BY e.seq"
        )
        for rel, raw, size, sha, vals in db.execute(query):
            cells = json.loads(raw)
            cells = [cells[old.index(c)] if c in old else "" for c in columns]
            if sha is None:
                report.absent_rows += 1
            elif fill(cells, rel, size, sha, vals):
                report.updated_rows += 1
            yield cells
        query = (
            "SELECT r.path, r.size, r.sha256, r.vals FROM result r "
            "WHERE r.path NOT IN (SELECT path FROM existing) ORDER BY r.path"
        )
        for rel, size, sha, vals in db.execute(query):
            cells = [""] * len(columns)
            cells[index["path"]] = rel
            fill(cells, rel, size, sha, vals)
            report.new_rows += 1
            yield cells

    manifest = target.manifest
    temp = Path(
        tempfile.mkstemp(dir=manifest.parent, prefix=f".{manifest.name}.", suffix=".tmp")[1]
    )
    study_temp: Path | None = None
    try:
        digest = hashlib.sha256()
        with temp.open("w", encoding="utf-8", newline="\n") as fh:
            for cells in _with_header(columns, rows()):
                line = "\t".join(cells) + "\n"
                fh.write(line)
                digest.update(line.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        changed = digest.hexdigest() != target.manifest_digest
        new_study = None
        if target.new_dataset:
            title = options.title or options.folder.resolve().name or options.dataset
            entry = {"id": options.dataset, "title": title, "files": manifest.name}
            try:
                new_study = studyedit.add_dataset(target.study_text, entry)
            except studyedit.EditError as exc:
                raise DepositError(f"{target.study_yaml}: {exc}") from None
            study_temp = Path(
                tempfile.mkstemp(dir=manifest.parent, prefix=".study.yaml.", suffix=".tmp")[1]
            )
            study_temp.write_text(new_study, encoding="utf-8")
        _unchanged_since_read(target)
        if changed:
            if manifest.exists():
                os.chmod(temp, manifest.stat().st_mode & 0o777)
            else:
                os.chmod(temp, 0o644)
            os.replace(temp, manifest)
            report.written = True
        if study_temp is not None:
            os.chmod(study_temp, target.study_yaml.stat().st_mode & 0o777)
            os.replace(study_temp, target.study_yaml)
    finally:
        temp.unlink(missing_ok=True)
        if study_temp is not None:
            study_temp.unlink(missing_ok=True)


def _with_header(columns: list[str], rows: Iterator[list[str]]) -> Iterator[list[str]]:
    yield columns
    yield from rows


def _unchanged_since_read(target: Target) -> None:
    """Refuse to replace a file someone changed while this run was hashing."""
    now: str | None = file_sha256(target.manifest) if target.manifest.exists() else None
    if now != target.manifest_digest:
        raise DepositError(
            f"{target.manifest} changed while add-files was running (edited by hand?): "
            "nothing was written, your edit is kept. The hashes are remembered: run "
            "add-files again to merge the folder into the edited manifest."
        )
    try:
        study_now = target.study_yaml.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        study_now = None
    if study_now != target.study_text:
        raise DepositError(
            f"{target.study_yaml} changed while add-files was running: nothing was written, "
            "your edit is kept. Run add-files again (the hashes are remembered)."
        )


def summary_lines(report: AddReport, folder: Path) -> list[str]:
    out = []
    verb = "wrote" if report.written else "unchanged:"
    out.append(
        f"add-files: {verb} {report.manifest}: {report.new_rows:,} new rows, "
        f"{report.updated_rows:,} updated ({report.files:,} files, "
        f"{human_bytes(report.bytes)}; {report.hashed:,} read, {report.reused:,} unchanged)"
    )
    if report.columns_added:
        out.append(f"add-files: columns added: {', '.join(report.columns_added)}")
    if report.created_dataset:
        out.append(f"add-files: dataset added to {report.study_yaml} (give it a better title)")
    if report.placed is not None:
        out.append(f"add-files: files placed in {report.placed}")
    if report.unmatched:
        out.append(
            f"warning: {report.unmatched:,} files do not match --pattern (their columns are empty)"
        )
    if report.absent_rows:
        out.append(
            f"warning: {report.absent_rows:,} rows of the manifest have no file in {folder} "
            "(kept; catalogue check-data lists them)"
        )
    if report.header_warnings:
        out.append(f"warning: {report.header_warnings:,} image headers could not be read")
    if report.skipped:
        reasons = ", ".join(f"{n:,} {kind}" for kind, n in sorted(report.skipped.items()))
        out.append(
            f"warning: {sum(report.skipped.values()):,} entries of {folder} not included "
            f"({reasons})"
        )
    return out
