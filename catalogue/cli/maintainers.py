"""Commands for maintainers: `new`, `import-pagetab`, `export-pagetab`, `diff`.

Registered on the `catalogue` group by cli.py. Each command parses its options, calls one
function of accessions.py, pagetab.py or diff.py, and turns the outcome into messages and
an exit code: 0 success, 1 content errors, 2 usage errors. Bad input is reported as
``path:line: CODE message``, never as a traceback.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

from catalogue import problems as problems_mod
from catalogue.cli.options import content_option, today_option
from catalogue.clock import resolve_today

COMMANDS: list[click.Command] = []


def _echo(message: str = "") -> None:
    click.echo(message, err=True)


def _fail(message: str, code: int = 1) -> None:
    _echo(message)
    sys.exit(code)


def _study_problems(content: Path, accession: str, today: dt.date) -> list[problems_mod.Problem]:
    """Problems of one study folder (plus ledger lines naming it), from a full validation."""
    from catalogue.readers.tree import load

    _, found = load(content, today)
    folder = f"studies/{accession}/"
    return [p for p in found if folder in p.path or accession in p.message]


def _report_todo(content: Path, accession: str, today: dt.date) -> int:
    """Print what `validate` says about the study; return the number of errors."""
    found = _study_problems(content, accession, today)
    if not found:
        _echo(f"validate: {accession} is valid.")
        return 0
    if not problems_mod.errors(found):
        _echo(f"validate: {accession} is valid, with warnings:")
        _echo(problems_mod.render(found))
        return 0
    _echo(f"Before {accession} validates, a human must fix or fill in:")
    _echo(problems_mod.render(found))
    return len(problems_mod.errors(found))


def _load_site(content: Path):  # -> Site
    from catalogue.readers.tree import load_site

    if not (content / "site.yaml").is_file():
        _fail(f"{content}/site.yaml not found: is --content the content folder?", 2)
    site, found = load_site(content)
    if site is None:
        _echo(problems_mod.render(found))
        _fail("site.yaml has errors; fix them first (catalogue validate)")
    return site


@click.command("new")
@click.argument("title")
@click.option(
    "--collection",
    default="direct",
    show_default=True,
    help="Collection of the study (a key of site.yaml collections).",
)
@content_option
@today_option
def new(title: str, collection: str, content: Path, today: dt.date | None) -> None:
    """Allocate the next accession and write a study skeleton to fill in.

    Example: catalogue new "Time-lapse imaging of zebrafish heart regeneration"

    The accession (site.yaml accession_prefix + the next number ever used) is appended to
    accessions.tsv and studies/<ACCESSION>/study.yaml is written with "TODO:" placeholders,
    which `catalogue validate` then lists (E080) until they are filled in.
    """
    from catalogue.maintainers.accessions import AllocationError, allocate

    if not title.strip():
        raise click.BadParameter("the title must not be empty", param_hint="TITLE")
    site = _load_site(content)
    if collection not in site.collections:
        raise click.BadParameter(
            f"{collection!r} is not a collection of site.yaml "
            f"(known: {', '.join(sorted(site.collections))})",
            param_hint="--collection",
        )
    day = resolve_today(today)
    try:
        allocation = allocate(
            content, site.accession_prefix, title.strip(), collection, site.licenses, day
        )
    except AllocationError as exc:
        _fail(str(exc))
        return
    click.echo(allocation.accession)
    _echo(f"allocated {allocation.accession} (recorded in {allocation.ledger})")
    _echo(f"wrote {allocation.study_yaml}")
    _report_todo(content, allocation.accession, day)
    _echo("Then: catalogue validate && catalogue build && catalogue serve, and open a PR.")


COMMANDS.append(new)


@click.command("import-pagetab")
@click.argument(
    "sources", nargs=-1, type=click.Path(exists=True, path_type=Path), metavar="SOURCE..."
)
@click.option(
    "--list",
    "list_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="A text file naming one submission JSON (or folder) per line; '#' starts a comment.",
)
@click.option(
    "--files",
    "file_lists",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILELIST",
    help="A file list (JSON or TSV) a submission names (repeatable); matched by the name the "
    "submission gives it. File lists beside each submission are found without this.",
)
@click.option(
    "--accession",
    default=None,
    help="Accession to file the study under (default: the submission's accno); "
    "'new' allocates the next one. Only with one submission.",
)
@click.option("--collection", default=None, help="Collection of the study (default: direct).")
@click.option(
    "--force",
    is_flag=True,
    help="Replace an existing study whole (default: merge, keeping a curator's edits).",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(1, 64),
    default=None,
    help="Submissions converted in parallel (default: the number of CPUs).",
)
@content_option
@today_option
def import_pagetab_command(
    sources: tuple[Path, ...],
    list_file: Path | None,
    file_lists: tuple[Path, ...],
    accession: str | None,
    collection: str | None,
    force: bool,
    jobs: int | None,
    content: Path,
    today: dt.date | None,
) -> None:
    """Convert BioStudies / BioImage Archive PageTab submissions into the content format.

    Examples: catalogue import-pagetab S-BIAD1492.json --files bbc024_images.json
    --files bbc024_masks.json; catalogue import-pagetab mirror/ (every submission in the
    folder and its subfolders); catalogue import-pagetab --list submissions.txt

    Writes studies/<ACCESSION>/study.yaml, one <dataset>.files.tsv per file list and
    import-baseline.yaml (what the importer made), and records the accession in the ledger.
    Importing a submission again updates the study and says what changed on the site,
    keeping every field a curator edited since the last import (docs/maintainers.md).
    With one submission it prints what it normalised, kept in `extra:` and what validate
    still asks; with several, a table with one line per submission.
    """
    from catalogue.identifiers import ACCESSION_RE
    from catalogue.maintainers.accessions import next_accession, used_accessions
    from catalogue.pagetab.vocabulary import PageTabError

    site = _load_site(content)
    if collection is not None and collection not in site.collections:
        raise click.BadParameter(
            f"{collection!r} is not a collection of site.yaml "
            f"(known: {', '.join(sorted(site.collections))})",
            param_hint="--collection",
        )
    try:
        submissions = _submissions(sources, list_file)
    except PageTabError as exc:
        _fail(str(exc), 2)
        return
    if not submissions:
        raise click.UsageError("give at least one submission JSON, folder or --list file")
    if accession is not None and len(submissions) > 1:
        raise click.BadParameter("only with one submission", param_hint="--accession")
    if accession == "new":
        accession = next_accession(site.accession_prefix, used_accessions(content))
    elif accession is not None and not ACCESSION_RE.match(accession):
        raise click.BadParameter(
            f"{accession!r} is not an accession of the form S-ABCD123", param_hint="--accession"
        )
    for path in file_lists:
        if not path.is_file():
            _fail(f"{path}: E040 file list not found", 2)
    day = resolve_today(today)
    results = _convert_all(submissions, list(file_lists), accession, jobs)
    if len(submissions) == 1:
        outcome = results[0]
        if isinstance(outcome, str):
            _fail(outcome)
            return
        _store_one(outcome, submissions[0], content, day, site, collection, force)
        return
    _store_many(results, submissions, content, day, site, collection, force)


def _submissions(sources: tuple[Path, ...], list_file: Path | None) -> list[Path]:
    """The submission JSON files named: files as given, folders searched, list files read."""
    from catalogue.pagetab.vocabulary import PageTabError

    named = list(sources)
    if list_file is not None:
        for n, line in enumerate(list_file.read_text(encoding="utf-8").splitlines(), 1):
            text = line.split("#", 1)[0].strip()
            if not text:
                continue
            path = Path(text)
            if not path.is_absolute():
                path = list_file.parent / path
            if not path.exists():
                raise PageTabError(f"{list_file}:{n}: E040 {text} not found")
            named.append(path)
    out: list[Path] = []
    for path in named:
        if path.is_dir():
            out += [p for p in sorted(path.rglob("*.json")) if _looks_like_submission(p)]
        else:
            out.append(path)
    unique: dict[Path, Path] = {}
    for p in out:
        unique.setdefault(p.resolve(), p)
    return list(unique.values())


def _looks_like_submission(path: Path) -> bool:
    """A submission names its accession near the top; a file list (a list of files,
    possibly huge) does not. Only the first 4 kB are read."""
    with path.open("rb") as fh:
        head = fh.read(4096)
    return b'"accno"' in head and b'"section"' in head or b'"accno"' in head[:512]


def _convert_one(args: tuple[Path, list[Path], str | None]) -> object:
    from catalogue.pagetab.importer import import_pagetab
    from catalogue.pagetab.vocabulary import PageTabError

    path, lists, accession = args
    try:
        return import_pagetab(path, lists, accession)
    except PageTabError as exc:
        return str(exc)
    except (OSError, UnicodeDecodeError) as exc:
        return f"{path}:1: E040 cannot read: {exc}"


def _convert_all(
    submissions: list[Path], lists: list[Path], accession: str | None, jobs: int | None
) -> list[object]:
    """Convert in a process pool (conversion is pure); writing stays in this process, in
    the order given, so the ledger and the output do not depend on --jobs."""
    import os
    from concurrent.futures import ProcessPoolExecutor

    work = [(p, lists, accession) for p in submissions]
    workers = min(jobs or os.cpu_count() or 1, len(work))
    if workers <= 1:
        return [_convert_one(w) for w in work]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(_convert_one, work))


def _prepare(imported, site, collection: str | None):  # Imported -> Imported
    if collection is not None:
        imported.study["collection"] = collection
    if "license" not in imported.study and site.default_license is None:
        from catalogue.pagetab.importer import with_license_placeholder

        imported.study = with_license_placeholder(imported.study)
    return imported


def _store_one(imported, study_json: Path, content: Path, day, site, collection, force) -> None:
    from catalogue.maintainers.importing import store

    imported = _prepare(imported, site, collection)
    stored = store(
        imported, content, day, force=force, ledger_note=f"imported from {study_json.name}"
    )
    if stored.status == "refused":
        _fail(stored.message or "refused", 2)
    acc, folder = stored.accession, stored.folder
    verb = {"new": "imported", "replaced": "replaced"}.get(stored.status, "re-imported")
    _echo(f"{verb} {study_json} as {acc}:")
    for manifest in imported.manifests:
        _echo(f"  {folder / (manifest.dataset + '.files.tsv')}: {len(manifest.rows)} files")
    _echo(f"  {folder / 'study.yaml'}")
    if stored.ledger is not None:
        _echo(f"  {stored.ledger}: {acc} recorded")
    _report_import(imported)
    _report_changes(stored)
    _report_todo(content, acc, day)


def _report_import(imported) -> None:
    if imported.notes:
        _echo("Normalised or inferred (check them):")
        for note in imported.notes:
            _echo(f"  {note}")
    if imported.kept:
        _echo("Kept in extra: (no field in the content format; export-pagetab writes it back):")
        for line in imported.kept:
            _echo(f"  {line}")
    if imported.missing:
        _echo("Not imported:")
        for line in imported.missing:
            _echo(f"  {line}")


def _report_changes(stored) -> None:
    if stored.status in ("updated", "replaced", "unchanged"):
        if stored.changes:
            _echo(f"Changed on the site ({stored.status}):")
            for line in stored.changes:
                _echo(f"  {line}")
        else:
            _echo("No change on the site: the record is as last imported.")
    if stored.kept:
        _echo("Edited here and changed at the source too (the edit was kept; decide):")
        for line in stored.kept:
            _echo(f"  {line}")


def _store_many(results, submissions, content, day, site, collection, force) -> None:
    from catalogue.maintainers.importing import store
    from catalogue.readers.tree import load

    rows: list[tuple[str, str, str, str, str, str]] = []
    counts: dict[str, int] = {}
    failures: list[str] = []
    stored_accessions: list[str] = []
    for path, outcome in zip(submissions, results, strict=True):
        if isinstance(outcome, str):
            rows.append(("-", "failed", "-", "-", "-", str(path)))
            failures.append(outcome)
            counts["failed"] = counts.get("failed", 0) + 1
            continue
        imported = _prepare(outcome, site, collection)
        stored = store(
            imported, content, day, force=force, ledger_note=f"imported from {path.name}"
        )
        counts[stored.status] = counts.get(stored.status, 0) + 1
        if stored.status == "refused":
            failures.append(stored.message or "")
        else:
            stored_accessions.append(stored.accession)
        file_count = sum(len(m.rows) for m in imported.manifests)
        rows.append(
            (
                stored.accession,
                stored.status,
                str(len(imported.study.get("datasets") or [])),
                str(file_count),
                str(len(stored.changes)) if stored.status != "new" else "-",
                str(path),
            )
        )
    _, found = load(content, day)
    by_study: dict[str, list[problems_mod.Problem]] = {}
    for p in found:
        for acc in stored_accessions:
            if f"studies/{acc}/" in p.path:
                by_study.setdefault(acc, []).append(p)
    header = ("accession", "status", "datasets", "files", "changes", "problems", "submission")
    table: list[tuple[str, ...]] = [header]
    for acc, status, datasets, files, changes, src in rows:
        probs = by_study.get(acc, [])
        errs = len(problems_mod.errors(probs))
        text = f"{errs} errors, {len(probs) - errs} warnings" if probs else "-"
        table.append((acc, status, datasets, files, changes, text, src))  # fmt: skip
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for row in table:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    if failures:
        _echo("Not imported:")
        for line in failures:
            _echo(f"  {line}")
    invalid = [acc for acc, probs in by_study.items() if problems_mod.errors(probs)]
    if invalid:
        _echo("Problems of the imported studies (fix them or build with --keep-going):")
        _echo(problems_mod.render([p for acc in invalid for p in by_study[acc]]))
    order = ("new", "updated", "replaced", "unchanged", "refused", "failed")
    summary = ", ".join(f"{counts[k]} {k}" for k in order if counts.get(k))
    click.echo(f"import-pagetab: {len(submissions)} submissions: {summary}")
    if failures or invalid:
        sys.exit(1)


def find_by_source(content: Path, name: str, source_id: str) -> str | None:
    """The accession of the study imported from ``source_id`` of archive ``name``, if
    any: re-importing an EMPIAR or IDR record updates that study."""
    import yaml

    studies = content / "studies"
    needle = source_id.encode()
    for path in sorted(studies.glob("*/study.yaml")) if studies.is_dir() else []:
        raw = path.read_bytes()
        if needle not in raw:  # cheap test before parsing
            continue
        try:
            data = yaml.safe_load(raw)
        except yaml.YAMLError:
            continue
        source = data.get("source") if isinstance(data, dict) else None
        if isinstance(source, dict) and (source.get("id"), source.get("name")) == (source_id, name):
            return str(data.get("accession") or path.parent.name)
    return None


def _store_records(
    label: str,
    items: list[tuple[Path, object]],  # (file or folder, Imported or error text)
    content: Path,
    day: dt.date,
    site,
    collection: str | None,
    force: bool,
) -> None:
    """Write imported EMPIAR/IDR records, report each, validate them; exit 1 on errors."""
    from catalogue.maintainers.importing import store

    failed = 0
    stored_accs: list[str] = []
    for path, outcome in items:
        if isinstance(outcome, str):
            _echo(outcome)
            failed += 1
            continue
        imported = outcome
        if collection is not None:
            imported.study["collection"] = collection  # type: ignore[attr-defined]
        elif imported.study.get("collection") not in site.collections:  # type: ignore[attr-defined]
            imported.study["collection"] = "direct"  # type: ignore[attr-defined]
        imported = _prepare(imported, site, None)
        stored = store(
            imported, content, day, force=force, ledger_note=f"imported from {path.name}"
        )
        if stored.status == "refused":
            _echo(stored.message or "refused")
            failed += 1
            continue
        source = imported.study.get("source") or {}
        verb = {"new": "imported", "replaced": "replaced"}.get(stored.status, "re-imported")
        _echo(f"{verb} {path} ({source.get('id', '?')}) as {stored.accession}:")
        _echo(f"  {stored.folder / 'study.yaml'}")
        for manifest in imported.manifests:
            rows = len(manifest.rows)
            _echo(f"  {stored.folder / (manifest.dataset + '.files.tsv')}: {rows} rows")
        if stored.ledger is not None:
            _echo(f"  {stored.ledger}: {stored.accession} recorded")
        _report_import(imported)
        _report_changes(stored)
        stored_accs.append(stored.accession)
    errors = 0
    for acc in stored_accs:
        errors += _report_todo(content, acc, day)
    total = len(items)
    click.echo(f"{label}: {total} record(s): {len(stored_accs)} stored, {failed} failed")
    if failed or errors:
        sys.exit(1)


def _allocate(
    content: Path, site, accession: str | None, name: str, source_id: str, taken: list[str]
) -> str:
    """The accession for a record: as given, else the study imported from it before,
    else the next one (``taken``: allocated earlier in this run, not yet written)."""
    from catalogue.maintainers.accessions import next_accession, used_accessions

    if accession not in (None, "new"):
        return str(accession)
    found = find_by_source(content, name, source_id) if accession is None else None
    acc = found or next_accession(site.accession_prefix, used_accessions(content) + taken)
    taken.append(acc)
    return acc


@click.command("import-empiar")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--empiar-id",
    default=None,
    help="EMPIAR accession of a deposition JSON (which has none of its own); one file only.",
)
@click.option(
    "--accession",
    default=None,
    help="Accession to file the entry under (default: the study already imported from it, "
    "else the next one); one file only.",
)
@click.option(
    "--collection", default=None, help="Collection (default: EMPIAR if site.yaml has it)."
)
@click.option("--force", is_flag=True, help="Replace an existing study whole.")
@content_option
@today_option
def import_empiar_command(
    files: tuple[Path, ...],
    empiar_id: str | None,
    accession: str | None,
    collection: str | None,
    force: bool,
    content: Path,
    today: dt.date | None,
) -> None:
    """Index EMPIAR entries: metadata here, files at EMPIAR.

    Example: catalogue import-empiar EMPIAR-10934.xml EMPIAR-10002.json

    Reads the XML header of an entry, the JSON EMPIAR's REST API returns for an entry, or a
    deposition JSON (EMPIAR's deposition schema). Each entry becomes one study: title,
    authors, citation, release date, one dataset per image set (category, formats, image
    count, size, a link to the files at EMPIAR), cross-references (EMDB, PDB, BioImage
    Archive, IDR) as links, and its EMPIAR page as the source. Importing an entry again
    updates the same study, keeping a curator's edits (docs/maintainers.md).
    """
    import re

    from catalogue.identifiers import ACCESSION_RE
    from catalogue.importers.empiar import EmpiarError, read_entry, to_study

    site = _load_site(content)
    if (empiar_id or accession) and len(files) > 1:
        raise click.UsageError("--empiar-id and --accession take one file")
    if empiar_id is not None and not re.match(r"^EMPIAR-\d+$", empiar_id):
        raise click.BadParameter("must be of the form EMPIAR-12345", param_hint="--empiar-id")
    if accession not in (None, "new") and not ACCESSION_RE.match(str(accession)):
        raise click.BadParameter(
            f"{accession!r} is not an accession of the form S-ABCD123", param_hint="--accession"
        )
    if collection is not None and collection not in site.collections:
        raise click.BadParameter(
            f"{collection!r} is not a collection of site.yaml", param_hint="--collection"
        )
    day = resolve_today(today)
    items: list[tuple[Path, object]] = []
    taken: list[str] = []
    for path in files:
        try:
            entry = read_entry(path)
            if empiar_id:
                entry.accession = empiar_id
            acc = _allocate(content, site, accession, "EMPIAR", entry.accession or "", taken)
            items.append((path, to_study(entry, acc, path)))
        except EmpiarError as exc:
            items.append((path, str(exc)))
    _store_records("import-empiar", items, content, day, site, collection, force)


COMMANDS.append(import_empiar_command)


@click.command("import-idr")
@click.argument(
    "folders",
    nargs=-1,
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
)
@click.option(
    "--accession",
    default=None,
    help="Accession to file the study under (default: the study already imported from it, "
    "else the next one); one folder only.",
)
@click.option("--collection", default=None, help="Collection (default: IDR if site.yaml has it).")
@click.option("--force", is_flag=True, help="Replace an existing study whole.")
@content_option
@today_option
def import_idr_command(
    folders: tuple[Path, ...],
    accession: str | None,
    collection: str | None,
    force: bool,
    content: Path,
    today: dt.date | None,
) -> None:
    """Import IDR study folders (as the IDR publishes them on GitHub) as studies.

    Example: catalogue import-idr idr0094-ellinger-sarscov2/

    Reads idrNNNN-study.txt and each screenX/ or experimentX/ folder: one study, one
    dataset per screen or experiment whose manifest is its annotation table (Plate, Well,
    Compound, Gene, … as columns), organisms and imaging methods with their NCBI Taxonomy
    and FBbi ids, the publication, the data DOI and links to the IDR. Importing a folder
    again updates the same study, keeping a curator's edits (docs/maintainers.md).
    """
    from catalogue.identifiers import ACCESSION_RE
    from catalogue.importers.idr import IdrError, import_idr, read_study_file

    site = _load_site(content)
    if accession and len(folders) > 1:
        raise click.UsageError("--accession takes one folder")
    if accession not in (None, "new") and not ACCESSION_RE.match(str(accession)):
        raise click.BadParameter(
            f"{accession!r} is not an accession of the form S-ABCD123", param_hint="--accession"
        )
    if collection is not None and collection not in site.collections:
        raise click.BadParameter(
            f"{collection!r} is not a collection of site.yaml", param_hint="--collection"
        )
    day = resolve_today(today)
    items: list[tuple[Path, object]] = []
    taken: list[str] = []
    for folder in folders:
        try:
            files = sorted(folder.glob("idr*-study.txt"))
            if not files:
                raise IdrError(f"{folder}: E040 no idrNNNN-study.txt in the folder")
            idr_id = read_study_file(files[0])[0].one("Comment[IDR Study Accession]") or ""
            acc = _allocate(content, site, accession, "IDR", idr_id, taken)
            items.append((folder, import_idr(folder, acc)))
        except IdrError as exc:
            items.append((folder, str(exc)))
        except (OSError, UnicodeDecodeError) as exc:
            items.append((folder, f"{folder}: E040 cannot read: {exc}"))
    _store_records("import-idr", items, content, day, site, collection, force)


COMMANDS.append(import_idr_command)


@click.command("export-pagetab")
@click.argument("accession")
@click.option(
    "-o",
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the submission here (file lists beside it); default: stdout, files inline.",
)
@content_option
def export_pagetab_command(accession: str, out: Path | None, content: Path) -> None:
    """Write a study as a PageTab submission for BioStudies-compatible tools.

    Example: catalogue export-pagetab S-BIAD1492 -o export/S-BIAD1492.json

    Everything `import-pagetab` kept in `extra:` goes back where it came from, so that
    import -> export -> import gives the same study.
    """
    from catalogue.pagetab.exporter import export_study, write_exported
    from catalogue.readers.yamlmarks import YamlSyntaxError, load_marked

    folder = content / "studies" / accession
    path = folder / "study.yaml"
    if not path.is_file():
        _fail(f"{path}: E040 no study {accession} in {content}", 2)
    try:
        marked = load_marked(path.read_text(encoding="utf-8"))
    except YamlSyntaxError as exc:
        _fail(f"{path}:{exc.line}:{exc.column}: E001 {exc.message}")
        return
    except UnicodeDecodeError:
        _fail(f"{path}:1: E048 file is not valid UTF-8")
        return
    if not isinstance(marked.data, dict):
        _fail(f"{path}:1: E012 expected a mapping of fields at the top level")
        return
    exported = export_study(marked.data, folder, inline_files=out is None)
    for warning in exported.warnings:
        _echo(f"export-pagetab: {warning}")
    if out is None:
        import json

        click.echo(json.dumps(exported.submission, indent=2, ensure_ascii=False))
        return
    for written in write_exported(exported, out):
        _echo(f"wrote {written}")


COMMANDS += [import_pagetab_command, export_pagetab_command]


@click.command("diff")
@click.argument("base_ref")
@content_option
@today_option
def diff_command(base_ref: str, content: Path, today: dt.date | None) -> None:
    """Say what the working tree changes on the site compared with BASE_REF.

    Example: catalogue diff origin/main

    Lists studies added (and when they become public), changed (which fields, which
    datasets, files and bytes added or removed), withdrawn, and deleted folders, for a
    reviewer to read the consequence of a pull request rather than its YAML.
    """
    from catalogue.maintainers.diff import DiffError, diff

    try:
        lines = diff(base_ref, content, resolve_today(today))
    except DiffError as exc:
        _fail(f"diff: {exc}", 2)
        return
    click.echo("\n".join(lines) if lines else f"No change to the site's content since {base_ref}.")


COMMANDS.append(diff_command)
