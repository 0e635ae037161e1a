"""Commands that read content and write or serve the site: `validate`, `build`, `serve`."""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path

import click

from catalogue import problems as problems_mod
from catalogue.cli.options import _executor, content_option, out_option, today_option
from catalogue.clock import resolve_today


@click.command()
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
    from catalogue.readers.tree import load

    # study folders the study cache does not hold are read by one process a CPU
    _, found = load(content, resolve_today(today), jobs=os.cpu_count() or 1)
    if found or fmt == "json":  # json always prints a list: [] when the tree is clean
        click.echo(
            problems_mod.render(found, fmt), file=sys.stdout if fmt == "json" else sys.stderr
        )
    failing = found if strict else problems_mod.errors(found)
    click.echo(f"validate: {problems_mod.summary(found)}", err=True)
    sys.exit(1 if failing else 0)


@click.command()
@content_option
@out_option
@today_option
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(1, 256),
    default=None,
    help="Worker processes for pages, file tables, API records and images "
    "(default: number of CPUs); the site is the same whatever the number.",
)
@click.option(
    "--executor",
    default="local",
    show_default=True,
    callback=_executor,
    metavar="SPEC",
    help="Where images and pages render: local (--jobs processes), dask://HOST:PORT "
    "(a Dask scheduler) or dask-local (a Dask cluster on this machine).",
)
@click.option("--base-url", default=None, help="Override site.yaml base_url (e.g. for a preview).")
@click.option("--clean", is_flag=True, help="Ignore the previous build and rebuild everything.")
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
@click.option(
    "--keep-going/--no-keep-going",
    default=None,
    help="Publish every valid study and list the ones left out with their errors "
    "(default: site.yaml keep_going, else off). CI for pull requests: --no-keep-going.",
)
def build(
    content: Path,
    out: Path,
    today: dt.date | None,
    jobs: int | None,
    executor: str,
    base_url: str | None,
    clean: bool,
    debug: bool,
    keep_going: bool | None,
) -> None:
    """Validate the content, then build the whole site into --out, atomically.

    Example: catalogue build --content content --out build --today 2026-01-01

    The previous site stays untouched if the build fails. Exits 1 on content errors;
    with --keep-going, studies with errors are left out (and listed) instead, and only
    errors outside study folders (site.yaml, the ledger) stop the build.
    """
    from catalogue.identifiers import base_url_problem

    why = None if base_url is None else base_url_problem(base_url)
    if why:
        raise click.BadParameter(f"{base_url!r} {why}", param_hint="--base-url")
    if not clean:
        # nothing changed since the last build: done before the heavy imports below
        import time

        from catalogue.pipeline import fingerprint

        day = resolve_today(today).isoformat()
        said = fingerprint.unchanged(
            content,
            out,
            day,
            base_url.rstrip("/") if base_url else None,
            fingerprint.default_templates(),
            lambda m: click.echo(m, err=True),
            time.perf_counter(),
            keep_going,
        )
        if said == "":
            sys.exit(0)
        known: tuple[str | None] | None = (said,)
    else:
        known = None
    from catalogue.pipeline.builder import BuildOptions, BuildRefused, run_build

    options = BuildOptions(
        progress=sys.stderr if sys.stderr.isatty() else None,
        content=content,
        out=out,
        today=resolve_today(today),
        jobs=jobs,
        executor=executor,
        base_url=base_url,
        clean=clean,
        keep_going=keep_going,
        fingerprint=known,
    )
    from catalogue.pipeline.executors import ExecutorError

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
    exit_now(0 if ok else 1)


# Set by ``catalogue.cli.run`` when the command line is the whole process.
PROCESS_OF_ITS_OWN = False


def exit_now(code: int) -> None:
    """End the build. In a process of its own, without freeing its objects one by one: at
    10,000 studies the interpreter's teardown of a build's millions of objects took 4 s
    after the last line was printed, a third of an edit's rebuild. Everything the build
    writes is written and closed by now (its executor, workers and caches included)."""
    if PROCESS_OF_ITS_OWN:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


@click.command()
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
    from catalogue.pipeline.builder import BuildOptions, BuildRefused, run_build
    from catalogue.publish.serve import serve_forever
    from catalogue.render import TEMPLATES

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


COMMANDS = [validate, build, serve]
