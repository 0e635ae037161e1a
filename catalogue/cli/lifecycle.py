"""Commands of the study lifecycle and the URL contract: `preview`, `check-urls`.

Registered on the `catalogue` group by cli.py. Exit codes as everywhere: 0 success,
1 content errors (or a broken URL contract), 2 usage errors; never a traceback for bad
input.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import TextIO

import click

from catalogue.cli.options import content_option, today_option
from catalogue.clock import resolve_today

COMMANDS: list[click.Command] = []


def _echo(message: str) -> None:
    click.echo(message, err=True)


def _token(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    from catalogue.publish.preview import TOKEN_RE

    if value is not None and not TOKEN_RE.match(value):
        raise click.BadParameter("must be 16 to 128 letters, digits, '-' or '_' (unguessable)")
    return value


@click.command()
@click.argument("accession")
@content_option
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder for preview bundles (not inside the public site); each goes to DIR/<token>/.",
)
@today_option
@click.option(
    "--token",
    default=None,
    callback=_token,
    metavar="TOKEN",
    help="Reuse the address of an earlier preview (default: 128 new random bits).",
)
def preview(
    accession: str, content: Path, out: Path, today: dt.date | None, token: str | None
) -> None:
    """Make a private, self-contained bundle of one study, for reviewers.

    Example: catalogue preview S-BIAD123 --out /srv/previews

    Works for embargoed studies (that is its purpose). The bundle (study page, file
    tables, thumbnails, API record, styles) goes to DIR/<token>/ with relative links, so
    it works from any folder of any web server; it is never linked from the public site
    and tells search engines not to index it. Give the printed address to the reviewers
    only. Exits 1 if the study cannot be previewed.
    """
    from catalogue.publish.preview import PreviewError, make_preview

    try:
        result = make_preview(
            content, accession.strip(), out, resolve_today(today), token=token, echo=_echo
        )
    except PreviewError as exc:
        _echo(f"preview: {exc}")
        sys.exit(1)
    except OSError as exc:
        _echo(f"preview: cannot write to {out}: {exc.strerror or exc}")
        sys.exit(1)
    except Exception as exc:  # a bug, not bad input: say so in one line, like `build`
        _echo(f"preview: internal error {exc!r}")
        sys.exit(1)
    rel = result.page.relative_to(result.folder).parent.as_posix() + "/"
    _echo(f"preview: {accession} ({result.state.value}) → {result.folder}/")
    _echo(f"  serve {result.folder}/ at a private address and send reviewers to …/{rel}")
    click.echo(str(result.folder))


COMMANDS.append(preview)


@click.command("check-urls")
@click.argument("previous", type=click.File("r", encoding="utf-8", errors="replace"))
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("build"),
    show_default=True,
    help="Folder of the new build (its urls.txt is compared).",
)
def check_urls(previous: TextIO, out: Path) -> None:
    """Fail if a URL served before is not served by the new build.

    Example: curl -fsS https://images.example.org/urls.txt -o deployed.txt &&
    catalogue check-urls deployed.txt --out build

    PREVIOUS is the urls.txt of the site deployed now (or '-' for standard input).
    Each URL that is gone is printed; exits 1 if any is, 0 if all still answer
    (withdrawn studies answer with their tombstone, merged ones with a redirect).
    """
    from catalogue.publish.urlcheck import gone, parse
    from catalogue.steps.urllist import URLS_FILE

    current_file = out / URLS_FILE
    if not current_file.is_file():
        raise click.UsageError(f"{current_file} not found: run `catalogue build` first")
    before = parse(previous)
    if not before.paths and not before.prefixes:
        # an empty download (a failed curl, a wrong file) must not pass as "nothing gone"
        raise click.UsageError(f"{previous.name} lists no URL: is it the urls.txt of a site?")
    if any(not p.startswith("/") for p in before.paths):
        bad = next(p for p in sorted(before.paths) if not p.startswith("/"))
        raise click.UsageError(
            f"{previous.name}: {bad[:60]!r} is not a URL path: is it the urls.txt of a site?"
        )
    now = parse(current_file.read_text(encoding="utf-8", errors="replace").splitlines())
    lost = gone(before, now)
    for path in lost:
        click.echo(f"gone: {path}")
    total = len(before.paths) + len(before.prefixes)
    if lost:
        _echo(f"check-urls: {len(lost)} of {total} URLs served before are gone in {out}")
        sys.exit(1)
    _echo(f"check-urls: all {total} URLs served before still answer in {out}")


COMMANDS.append(check_urls)
