"""Walk a content tree (sorted, so output order never depends on the file system)."""

from __future__ import annotations

import datetime as dt
import hashlib
import multiprocessing
import os
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from catalogue.identifiers import accession_number
from catalogue.model import (
    Catalogue,
    LedgerRow,
    LeftOut,
    ManifestSummary,
    Site,
    Study,
    StudyEntry,
)
from catalogue.paths import escapes
from catalogue.problems import Problem, errors, problem
from catalogue.readers import checks, manifest, study_cache
from catalogue.readers.defaults import (
    apply_site_defaults,
    check_site_defaults,
    leave_out_failing,
)
from catalogue.readers.defaults import (
    in_left_out as _in_left_out,
)
from catalogue.readers.records import salvage, validate_marked
from catalogue.readers.redirects import REDIRECTS_FILE, read_redirects
from catalogue.readers.yamlmarks import Marked, YamlSyntaxError, load_marked

LEDGER_HEADER = ["accession", "created", "note"]

# stand-ins for invalid required fields, so the rest of a broken study can still be checked
PLACEHOLDERS = {
    "format": 1,
    "accession": "S-INVALID0",
    "title": "?",
    "release_date": "1970-01-01",
    "license": "?",
    "description": "?",
    "authors": [{"name": "?"}],
    "collection": "direct",
}


def _of(folder: Path) -> str:
    return "the study's folder" if folder.parent.name == "studies" else "the content tree"


def _under(path: str, folder: str) -> str | None:
    """``path`` relative to ``folder`` when it lies under it (lexically, as
    ``PurePath.relative_to``), else None; string operations, called once a file."""
    if path == folder:
        return "."
    prefix = folder if folder.endswith("/") else folder + "/"
    return path[len(prefix) :] if path.startswith(prefix) else None


def _rel(path: Path, content: Path) -> str:
    """Paths in messages are as the maintainer would type them from the project root."""
    text = str(path)
    found = _under(text, os.getcwd())
    if found is not None:
        return found
    inside = _under(text, str(content))
    if inside is None:
        return text
    if inside == ".":
        return content.name or "."
    return f"{content.name}/{inside}" if content.name else inside


def read_yaml(
    path: Path, rel: str, folder: Path | None = None
) -> tuple[Marked | None, list[Problem]]:
    if folder is not None and escapes(path, folder):
        return None, [
            problem(rel, 0, "E043", f"{path.name} is a link to a file outside {_of(folder)}")
        ]
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, [problem(rel, 0, "E040", "file not found")]
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        return None, [problem(rel, line, "E048", "file is not valid UTF-8")]
    try:
        return load_marked(text), []
    except YamlSyntaxError as exc:
        return None, [problem(rel, exc.line, "E001", exc.message, exc.column)]


def read_ledger(path: Path, rel: str) -> tuple[list[LedgerRow], list[Problem]]:
    rows: list[LedgerRow] = []
    out: list[Problem] = []
    if escapes(path, path.parent):
        return rows, [
            problem(rel, 0, "E043", "the ledger is a link to a file outside the content tree")
        ]
    if not path.is_file():
        return rows, [problem(rel, 0, "E040", "accession ledger not found")]
    raw = path.read_bytes()
    try:
        lines = raw.decode("utf-8").splitlines()
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return rows, [problem(rel, line, "E048", "ledger line is not valid UTF-8")]
    if not lines or lines[0].split("\t")[:2] != LEDGER_HEADER[:2]:
        out.append(problem(rel, 1, "E032", "ledger header must be: accession<TAB>created<TAB>note"))
        return rows, out
    for number, text in enumerate(lines[1:], start=2):
        if not text.strip():
            continue
        cells = text.split("\t")
        if len(cells) < 2 or len(cells) > 3:
            out.append(
                problem(rel, number, "E032", f"ledger row has {len(cells)} cells; expected 2 or 3")
            )
            continue
        try:
            created = dt.date.fromisoformat(cells[1].strip())
        except ValueError:
            out.append(problem(rel, number, "E013", f"invalid date {cells[1]!r} in ledger"))
            continue
        rows.append(
            LedgerRow(
                accession=cells[0].strip(),
                created=created,
                note=cells[2].strip() if len(cells) > 2 else "",
                line=number,
            )
        )
    return rows, out


def load_site(content: Path) -> tuple[Site | None, list[Problem]]:
    path = content / "site.yaml"
    rel = _rel(path, content)
    marked, problems = read_yaml(path, rel, content)
    if marked is None:
        return None, problems
    site, more = validate_marked(Site, marked, rel)
    problems += more
    if site is not None:
        problems += checks.check_site_paths(site, content, rel, marked)
        problems += checks.check_site_licenses(site, rel, marked)
        problems += check_site_defaults(site, rel, marked)
    return site, problems


def _digest(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.name.encode() + b"\0")
        if p.is_file():
            with p.open("rb") as fh:
                while chunk := fh.read(1 << 20):
                    h.update(chunk)
        h.update(b"\0")
    return h.hexdigest()


def load_study(
    folder: Path,
    content: Path,
    site: Site | None,
    today: dt.date | None = None,
    read: list[Path] | None = None,
) -> tuple[StudyEntry | None, Marked | None, list[Problem]]:
    """``read``, when given, receives every path whose content or existence the result
    depends on (the study cache fingerprints them)."""
    read = read if read is not None else []
    path = folder / "study.yaml"
    read.append(path)
    rel = _rel(path, content)
    marked, problems = read_yaml(path, rel, folder)
    if marked is None:
        return None, None, problems
    problems += apply_site_defaults(marked, site, rel)
    study, more = validate_marked(Study, marked, rel)
    more += checks.check_placeholders(marked, rel)
    problems += more
    broken: frozenset[str] = frozenset()
    index_map: dict[str, list[int]] = {}
    salvaged = False
    if study is None and isinstance(marked.data, dict) and marked.errors:
        study, fields, index_map = salvage(Study, marked.data, marked.errors, PLACEHOLDERS)
        broken = frozenset(fields)
        salvaged = True
    if study is None:
        return None, marked, problems
    if site is not None:
        problems += checks.check_study(study, marked, rel, folder.name, site, broken, index_map)
    if today is not None and "withdrawn" not in broken:
        problems += checks.check_withdrawal(study, marked, rel, today)
    summaries: dict[str, ManifestSummary] = {}
    inputs = [path]
    for i, ds in enumerate(study.datasets):
        if ds.files is None or "/" in ds.files:
            continue
        mpath = folder / ds.files
        read.append(mpath)
        mrel = _rel(mpath, content)
        line, col = checks.salvaged_position(marked, index_map, "datasets", i, "files")
        if escapes(mpath, folder):
            outside = f"manifest {ds.files} is a link to a file outside the study's folder"
            problems.append(problem(rel, line, "E043", outside, col))
            continue
        if not mpath.is_file():
            problems.append(problem(rel, line, "E040", f"manifest {ds.files} not found", col))
            continue
        summary, mprobs = manifest.summarize(mpath, mrel)
        problems += mprobs
        inputs.append(mpath)
        if summary is not None:
            summaries[ds.id] = summary
    if site is not None:
        data = content / site.data_root / study.accession
        read.append(data)
        if escapes(data, content):
            outside = (
                f"data folder {_rel(data, content)} is a link to a folder outside the content tree"
            )
            problems.append(problem(rel, 1, "E043", outside))
        for i, ds in enumerate(study.datasets):
            rep = ds.representative
            if rep and manifest.path_problem(rep) is None:
                read.append(data / rep)
            if rep and manifest.path_problem(rep) is None and escapes(data / rep, data):
                line, col = checks.salvaged_position(
                    marked, index_map, "datasets", i, "representative"
                )
                problems.append(
                    problem(
                        rel,
                        line,
                        "E043",
                        f"representative {rep} is a link to a file outside the study's data "
                        f"folder {_rel(data, content)}",
                        col,
                    )
                )
            elif rep and manifest.path_problem(rep) is None and not (data / rep).exists():
                line, col = checks.salvaged_position(
                    marked, index_map, "datasets", i, "representative"
                )
                problems.append(
                    problem(
                        rel,
                        line,
                        "W001",
                        f"representative {rep} is not in the local data folder "
                        f"{_rel(data, content)}; the page will show a placeholder",
                        col,
                    )
                )
    if salvaged:
        return None, marked, problems
    entry = StudyEntry(
        study=study,
        folder=str(folder.relative_to(content)),
        source_digest=_digest(inputs),
        manifests=summaries,
    )
    return entry, marked, problems


def _read_fresh(
    folder: Path, content: Path, site: Site | None, today: dt.date
) -> study_cache.Cached:
    """``load_study`` as the study cache keeps it (stamps + pickled result): a pure
    function of the folder's files, run here or in a loading worker."""
    read: list[Path] = []
    entry, marked, problems = load_study(folder, content, site, today, read)
    acc_line = None
    if marked is not None and isinstance(marked.data, dict):
        acc = marked.data.get("accession")
        if isinstance(acc, str):
            acc_line = (acc, marked.position(("accession",))[0])
    contents = [p for p in read if p.name == "study.yaml" or p.parent == folder]
    checked = [p for p in read if p not in contents] + contents  # links matter too
    return study_cache.cached(contents, checked, (entry, tuple(problems), acc_line))


# study folders to load from their files before loading spreads over --jobs processes
MIN_FORKED_LOAD = 64
_LOADING: tuple[Path, Site | None, dt.date] | None = None  # set just before the pool forks


def _read_in_worker(folder: Path) -> study_cache.Cached:
    assert _LOADING is not None, "the loading worker was not forked by load()"
    return _read_fresh(folder, *_LOADING)


def _read_all(
    folders: list[Path], content: Path, site: Site | None, today: dt.date, jobs: int
) -> Iterator[study_cache.Cached]:
    """Load these study folders from their files, in order. Parsing and validating is
    about 6 ms a study (10 minutes for 100,000), all of it in this process until the
    pages spread over the cores: so many folders are loaded by forked workers, which
    send back what the cache keeps (the pickled result); the order, hence every message
    and the catalogue, is the same whatever the number of processes."""
    global _LOADING
    forks = "fork" in multiprocessing.get_all_start_methods()
    if jobs < 2 or len(folders) < MIN_FORKED_LOAD or not forks:
        for folder in folders:
            yield _read_fresh(folder, content, site, today)
        return
    _LOADING = (content, site, today)
    try:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            yield from pool.imap(_read_in_worker, folders, chunksize=16)
    finally:
        _LOADING = None


def load(
    content: Path,
    today: dt.date,
    keep_going: bool | None = None,
    jobs: int = 1,
    walked: study_cache.Walked | None = None,
) -> tuple[Catalogue | None, list[Problem]]:
    """Load and check the whole tree. The catalogue is None when any error was found,
    unless ``keep_going`` (default: site.yaml ``keep_going``): then the studies with errors
    are left out (``Catalogue.left_out``) and only errors outside them stop it. Studies
    not in the study cache are read by ``jobs`` processes; ``walked``: the file stamps of
    the fingerprint walk just before (``fingerprint.take_walk``)."""
    content = content.resolve()
    problems: list[Problem] = []
    if not content.is_dir():
        return None, [problem(str(content), 0, "E040", "content folder not found")]
    site, more = load_site(content)
    problems += more
    ledger_path = content / "accessions.tsv"
    ledger, more = read_ledger(ledger_path, _rel(ledger_path, content))
    problems += more
    entries: list[StudyEntry] = []
    declared: dict[str, list[tuple[str, int]]] = {}
    studies_dir = content / "studies"
    # sorted by name, which for one folder's children is the order of their paths
    # (comparing 10,000 Path objects was a tenth of loading them from the cache)
    names = (
        sorted(e.name for e in os.scandir(studies_dir) if e.is_dir())
        if studies_dir.is_dir()
        else []
    )
    folders = [studies_dir / name for name in names]
    studies_rel = _rel(studies_dir, content)
    prefix = "" if studies_rel == "." else studies_rel + "/"
    cache = study_cache.open_cache(
        content,
        "\0".join([site.model_dump_json() if site else "", today.isoformat(), str(Path.cwd())]),
        walked,
    )
    loaded: list[Any] = []  # per folder: (entry, problems, declared) or the E043 problem
    misses: list[int] = []
    for folder in folders:
        # a folder that is not itself a link lies where studies/ does: one lstat, not a
        # resolve of both (a third of loading 10,000 cached studies)
        if os.path.islink(folder) and escapes(folder, studies_dir):
            rel = _rel(folder, content)
            outside = "study folder is a link to a folder outside the content tree's studies/"
            loaded.append(problem(rel, 0, "E043", outside))
            continue
        hit = cache.get(folder.name)
        if hit is None:
            misses.append(len(loaded))
        loaded.append(hit)
    fresh = _read_all([folders[i] for i in misses], content, site, today, jobs)
    for i, item in zip(misses, fresh, strict=True):
        cache.keep(folders[i].name, item)
        loaded[i] = pickle.loads(item.blob)
    for folder, result in zip(folders, loaded, strict=True):
        if isinstance(result, Problem):
            problems.append(result)
            continue
        entry, more, acc_line = result
        problems += more
        if acc_line is not None:
            declared.setdefault(acc_line[0], []).append(
                (f"{prefix}{folder.name}/study.yaml", acc_line[1])
            )
        if entry is not None:
            entries.append(entry)
    cache.keep_only({f.name for f in folders})
    cache.save()
    problems += checks.check_ledger(ledger, _rel(ledger_path, content), declared)
    redirects_path = content / REDIRECTS_FILE
    redirects, more = read_redirects(redirects_path, _rel(redirects_path, content), set(declared))
    problems += more
    left_out: tuple[LeftOut, ...] = ()
    if site is not None and (site.keep_going if keep_going is None else keep_going):
        entries, left_out = leave_out_failing(entries, [f.name for f in folders], problems)
        blocking = [p for p in errors(problems) if not _in_left_out(p, left_out)]
    else:
        blocking = errors(problems)
    if site is None or blocking:
        return None, problems
    entries.sort(key=lambda e: (accession_number(e.accession), e.accession))
    catalogue = Catalogue(
        site=site,
        ledger=tuple(ledger),
        studies=tuple(entries),
        today=today,
        redirects=tuple(redirects),
        left_out=left_out,
    )
    return catalogue, problems
