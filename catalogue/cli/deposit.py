"""Deposition commands registered on the `catalogue` group: add-files, check-data.

Each parses its options, calls one function of ``catalogue.deposit`` and maps the outcome
to an exit code: 0 success, 1 a problem with the content or the data, 2 a usage error.
Progress goes to stderr: a bar on a terminal, a line every few seconds otherwise.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from catalogue.cli.options import content_option

COMMANDS: list[click.Command] = []


def _stderr_tty() -> bool:
    return click.get_text_stream("stderr").isatty()


def _echo(message: str) -> None:
    click.echo(message, err=True)


jobs_option = click.option(
    "--jobs",
    "-j",
    type=click.IntRange(1, 256),
    default=None,
    help="Worker processes for hashing (default: one per core).",
)
executor_option = click.option(
    "--executor",
    default="local",
    show_default=True,
    metavar="SPEC",
    help="Where files are hashed: local, dask-local or dask://HOST:PORT "
    "(workers must see the folder at the same path).",
)
quiet_option = click.option("--quiet", "-q", is_flag=True, help="No progress output.")


@click.command("add-files")
@click.argument("accession")
@click.argument("dataset")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option(
    "--pattern",
    default=None,
    metavar="PATTERN",
    help="Columns from the path, e.g. '{plate}/{well}/{field}.tif' → Plate, Well, Field "
    "('*' matches any part of a name).",
)
@click.option("--copy", "place", flag_value="copy", help="Copy the files into data_root.")
@click.option(
    "--link", "place", flag_value="link", help="Hard-link the files into data_root (same disk)."
)
@click.option("--title", default=None, help="Title of a new dataset (default: the folder name).")
@click.option("--no-headers", is_flag=True, help="Do not read image headers (faster).")
@jobs_option
@executor_option
@quiet_option
@content_option
def add_files_command(
    accession: str,
    dataset: str,
    folder: Path,
    pattern: str | None,
    place: str | None,
    title: str | None,
    no_headers: bool,
    jobs: int | None,
    executor: str,
    quiet: bool,
    content: Path,
) -> None:
    """Write or extend a dataset's manifest from a folder of data files.

    Example: catalogue add-files S-BIAD1234 images ~/deposit/plates --pattern
    '{plate}/{well}/{field}.tif'

    Every file below FOLDER becomes a row of studies/ACCESSION/DATASET.files.tsv with its
    path (relative to FOLDER), size, sha256 and, for images, the dimensions, pixel type
    and pixel sizes of its header. The dataset is added to study.yaml when it is new.
    Running it again reads only files that are new or changed (size and modification
    time). Hidden files, links and unreadable files are reported and left out.
    """
    from catalogue.deposit.addfiles import (
        AddOptions,
        DepositError,
        UsageProblem,
        add_files,
        summary_lines,
    )

    options = AddOptions(
        content=content,
        accession=accession,
        dataset=dataset,
        folder=folder,
        pattern=pattern,
        place=place,
        title=title,
        headers=not no_headers,
        jobs=jobs or os.cpu_count() or 1,
        executor=executor,
    )
    stream = None if quiet else click.get_text_stream("stderr")
    try:
        report = add_files(options, _echo, stream, _stderr_tty())
    except UsageProblem as exc:
        _echo(f"add-files: {exc}")
        sys.exit(2)
    except DepositError as exc:
        _echo(f"add-files: {exc}")
        sys.exit(1)
    for line in summary_lines(report, folder):
        _echo(line)
    _echo(f"Then: catalogue validate, and catalogue check-data {accession}.")


COMMANDS.append(add_files_command)


@click.command("check-data")
@click.argument("accessions", nargs=-1, required=True, metavar="ACCESSION...")
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder holding <ACCESSION>/ data folders (default: site.yaml data_root).",
)
@click.option("--checksums", is_flag=True, help="Also compare every file's sha256 (reads all).")
@jobs_option
@executor_option
@quiet_option
@content_option
def check_data_command(
    accessions: tuple[str, ...],
    root: Path | None,
    checksums: bool,
    jobs: int | None,
    executor: str,
    quiet: bool,
    content: Path,
) -> None:
    """Compare the data files on disk with the studies' manifests.

    Example: catalogue check-data S-BIAD1234 --root /srv/data --checksums

    Reports, each naming the file (and the manifest line that lists it): files listed
    but missing, files present but listed nowhere, size mismatches and, with
    --checksums, sha256 mismatches. Exits 1 if there is any problem.
    """
    from catalogue.deposit.checkdata import CheckError, CheckOptions, check_data

    options = CheckOptions(
        content=content,
        accessions=accessions,
        root=root,
        checksums=checksums,
        jobs=jobs or os.cpu_count() or 1,
        executor=executor,
    )
    stream = None if quiet else click.get_text_stream("stderr")
    try:
        reports = check_data(options, click.echo, stream, _stderr_tty())
    except CheckError as exc:
        _echo(f"check-data: {exc}")
        sys.exit(2)
    total = 0
    for report in reports:
        total += report.problems
        what = f"{report.listed:,} listed, {report.found:,} on disk"
        if checksums:
            what += f", {report.checked:,} checksums compared"
        verdict = "OK" if not report.problems else f"{report.problems:,} problem(s)"
        _echo(f"check-data: {report.accession} ({report.folder}): {what}: {verdict}")
    sys.exit(1 if total else 0)


COMMANDS.append(check_data_command)
