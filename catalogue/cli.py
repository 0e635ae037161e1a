"""The ``catalogue`` command: parse options, call one function, map the result to an exit code.

Exit codes: 0 success, 1 content errors (or a failed build), 2 usage errors.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

from . import problems as problems_mod
from .clock import ClockError, resolve_today

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
    from .executors import ExecutorError, scheduler_address

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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="catalogue")
def main() -> None:
    """Build a static website for an archive of bioimaging studies.

    Example: catalogue validate && catalogue build && catalogue serve
    """


@main.command()
@content_option
@today_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "github", "json"]),
    default="text",
    show_default=True,
    help="text for people, github for Actions annotations, json for tools.",
)
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
def validate(content: Path, today: dt.date | None, fmt: str, strict: bool) -> None:
    """Check the whole content tree and print every problem as path:line: message.

    Example: catalogue validate --content content

    Exits 1 when any error is found (or any warning, with --strict), 0 otherwise.
    """
    from .readers.tree import load

    _, found = load(content, resolve_today(today))
    if found or fmt == "json":  # json always prints a list: [] when the tree is clean
        click.echo(
            problems_mod.render(found, fmt), file=sys.stdout if fmt == "json" else sys.stderr
        )
    failing = found if strict else problems_mod.errors(found)
    click.echo(f"validate: {problems_mod.summary(found)}", err=True)
    sys.exit(1 if failing else 0)


@main.command()
@content_option
@out_option
@today_option
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(1, 256),
    default=None,
    help="Parallel workers for image work (default: number of CPUs).",
)
@click.option(
    "--executor",
    default="local",
    show_default=True,
    callback=_executor,
    metavar="SPEC",
    help="Where thumbnails render: local (--jobs processes), dask://HOST:PORT "
    "(a Dask scheduler) or dask-local (a Dask cluster on this machine).",
)
@click.option("--base-url", default=None, help="Override site.yaml base_url (e.g. for a preview).")
@click.option("--clean", is_flag=True, help="Ignore the previous build and rebuild everything.")
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
def build(
    content: Path,
    out: Path,
    today: dt.date | None,
    jobs: int | None,
    executor: str,
    base_url: str | None,
    clean: bool,
    debug: bool,
) -> None:
    """Validate the content, then build the whole site into --out, atomically.

    Example: catalogue build --content content --out build --today 2026-01-01

    The previous site stays untouched if the build fails. Exits 1 on content errors.
    """
    from .builder import BuildOptions, BuildRefused, run_build

    if base_url is not None and not base_url.startswith(("http://", "https://")):
        raise click.BadParameter(
            f"{base_url!r} must be an absolute http(s) URL", param_hint="--base-url"
        )
    options = BuildOptions(
        progress=sys.stderr if sys.stderr.isatty() else None,
        content=content,
        out=out,
        today=resolve_today(today),
        jobs=jobs,
        executor=executor,
        base_url=base_url,
        clean=clean,
    )
    from .executors import ExecutorError

    try:
        ok = run_build(options, echo=lambda m: click.echo(m, err=True))
    except BuildRefused as exc:
        raise click.UsageError(str(exc)) from None
    except ExecutorError as exc:
        click.echo(f"build: {exc}; the previous site is unchanged", err=True)
        sys.exit(1)
    except Exception:
        if debug:
            raise
        click.echo("build: internal error (run with --debug for the traceback)", err=True)
        click.echo(f"  {sys.exc_info()[1]!r}", err=True)
        sys.exit(1)
    sys.exit(0 if ok else 1)


@main.command()
@content_option
@out_option
@today_option
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--watch", is_flag=True, help="Rebuild the site when --content or templates change.")
def serve(
    content: Path, out: Path, today: dt.date | None, port: int, host: str, watch: bool
) -> None:
    """Serve the built site on localhost, with the site's 404 page.

    Example: catalogue serve --out build --port 8000 --watch
    """
    from .builder import BuildOptions, BuildRefused, run_build
    from .render import TEMPLATES
    from .serve import serve_forever

    def echo(message: str) -> None:
        click.echo(message, err=True)

    rebuild = None
    if watch:
        options = BuildOptions(content=content, out=out, today=resolve_today(today))

        def rebuild() -> None:
            try:
                run_build(options, echo=echo)
            except BuildRefused as exc:
                echo(f"build: {exc}")
            except Exception as exc:  # keep serving the last good site
                echo(f"build: internal error {exc!r}; still serving the previous site")

        if not (out / "index.html").is_file():
            rebuild()  # --watch builds what it serves
    if not (out / "index.html").is_file():
        raise click.UsageError(f"{out}/index.html not found: run `catalogue build` first")
    try:
        serve_forever(
            out,
            host,
            port,
            echo=echo,
            watch_folders=(content, TEMPLATES) if watch else (),
            rebuild=rebuild,
        )
    except OSError as exc:
        raise click.ClickException(
            f"cannot serve on {host}:{port}: {exc.strerror or exc} (try another --port or --host)"
        ) from None


def _register() -> None:
    """Commands live in topic modules so that cli.py stays a thin index of the CLI."""
    from . import cli_deploy, cli_images, cli_lifecycle, cli_maintainers

    for module in (cli_maintainers, cli_images, cli_lifecycle, cli_deploy):
        for command in module.COMMANDS:
            main.add_command(command)


if __name__ == "__main__":  # pragma: no cover
    # `python -m catalogue.cli`: run the importable module, not this __main__ copy, because
    # command modules import their options from catalogue.cli (a second copy would register
    # them while they are still half imported).
    from catalogue.cli import main as _main

    _main()
else:
    _register()
