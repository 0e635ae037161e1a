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
@click.argument("study_json", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--files",
    "file_lists",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILELIST.json",
    help="A file list the submission names (repeatable); also looked for beside STUDY_JSON.",
)
@click.option(
    "--accession",
    default=None,
    help="Accession to file the study under (default: the submission's accno); "
    "'new' allocates the next one.",
)
@click.option("--collection", default=None, help="Collection of the study (default: direct).")
@click.option("--force", is_flag=True, help="Replace an existing study folder.")
@content_option
@today_option
def import_pagetab_command(
    study_json: Path,
    file_lists: tuple[Path, ...],
    accession: str | None,
    collection: str | None,
    force: bool,
    content: Path,
    today: dt.date | None,
) -> None:
    """Convert a BioStudies / BioImage Archive PageTab study into the content format.

    Example: catalogue import-pagetab S-BIAD1492.json --files bbc024_images.json
    --files bbc024_masks.json

    Writes studies/<ACCESSION>/study.yaml and one <dataset>.files.tsv per file list,
    records the accession in the ledger, then prints what it normalised, what it kept in
    `extra:` (no field in the format; exported back by export-pagetab) and what a human
    must still fill in before `catalogue validate` passes.
    """
    from catalogue.identifiers import ACCESSION_RE
    from catalogue.maintainers.accessions import append_ledger_row, next_accession, used_accessions
    from catalogue.pagetab.importer import import_pagetab, write_imported
    from catalogue.pagetab.vocabulary import PageTabError

    site = _load_site(content)
    if collection is not None and collection not in site.collections:
        raise click.BadParameter(
            f"{collection!r} is not a collection of site.yaml "
            f"(known: {', '.join(sorted(site.collections))})",
            param_hint="--collection",
        )
    if accession == "new":
        accession = next_accession(site.accession_prefix, used_accessions(content))
    elif accession is not None and not ACCESSION_RE.match(accession):
        raise click.BadParameter(
            f"{accession!r} is not an accession of the form S-ABCD123", param_hint="--accession"
        )
    try:
        imported = import_pagetab(study_json, list(file_lists), accession)
    except PageTabError as exc:
        _fail(str(exc))
        return
    if collection is not None:
        imported.study["collection"] = collection
    acc = imported.accession
    folder = content / "studies" / acc
    if folder.exists() and not force:
        _fail(f"{folder} already exists; pass --force to replace it", 2)
    if folder.exists():
        for old in [folder / "study.yaml", *folder.glob("*.files.tsv")]:
            old.unlink(missing_ok=True)
    day = resolve_today(today)
    written = write_imported(imported, folder)
    _echo(f"imported {study_json} as {acc}:")
    for manifest in imported.manifests:
        _echo(f"  {folder / (manifest.dataset + '.files.tsv')}: {len(manifest.rows)} files")
    _echo(f"  {written[0]}")
    if not _in_ledger(content, acc):
        ledger = append_ledger_row(content, acc, day, f"imported from {study_json.name}")
        _echo(f"  {ledger}: {acc} recorded")
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
    _report_todo(content, acc, day)


def _in_ledger(content: Path, accession: str) -> bool:
    path = content / "accessions.tsv"
    if not path.is_file():
        return False
    lines = path.read_text(encoding="utf-8").splitlines()[1:]
    return any(line.split("\t", 1)[0].strip() == accession for line in lines)


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
