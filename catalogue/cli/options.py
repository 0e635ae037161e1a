"""Options and parameter callbacks shared by the commands (one definition each)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from catalogue.clock import ClockError, resolve_today

HELP_CONTENT = "Content tree to read."
HELP_OUT = "Folder of the built site."
HELP_TODAY = "Build as if today were DATE (YYYY-MM-DD); default: today or SOURCE_DATE_EPOCH."


def _date(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.date | None:
    """--today as a date; without it, SOURCE_DATE_EPOCH or the clock (checked here, so a
    bad SOURCE_DATE_EPOCH is a usage error of every command, never a traceback)."""
    if value is None:
        try:
            return resolve_today(None)
        except ClockError as exc:
            raise click.UsageError(str(exc)) from None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date of the form YYYY-MM-DD") from None


def _executor(ctx: click.Context, param: click.Parameter, value: str) -> str:
    from catalogue.pipeline.executors import ExecutorError, scheduler_address

    if value not in ("local", "dask-local"):
        try:
            scheduler_address(value)
        except ExecutorError as exc:
            raise click.BadParameter(str(exc)) from None
    return value


content_option = click.option(
    "--content",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("content"),
    show_default=True,
    help=HELP_CONTENT,
)
out_option = click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("build"),
    show_default=True,
    help=HELP_OUT,
)
today_option = click.option("--today", callback=_date, metavar="DATE", help=HELP_TODAY)
