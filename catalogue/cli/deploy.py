"""``catalogue deploy``: registered on the ``catalogue`` group (see ``cli/__init__.py``)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from catalogue.cli.options import out_option


@click.command()
@out_option
@click.option(
    "--to",
    "target",
    required=True,
    metavar="DEST",
    help="A folder, an rsync target (host:path or rsync://…) or s3://bucket/prefix.",
)
@click.option(
    "--endpoint-url",
    default=None,
    metavar="URL",
    help="S3-compatible endpoint (default: AWS, or $AWS_ENDPOINT_URL).",
)
@click.option("--dry-run", is_flag=True, help="Say what would change; change nothing.")
def deploy(out: Path, target: str, endpoint_url: str | None, dry_run: bool) -> None:
    """Publish the built site to a folder, an rsync target or S3-compatible storage.

    Example: catalogue deploy --to s3://my-archive/site --endpoint-url https://s3.example.org

    Unchanged files are not sent again; the build-state file is never published. Exits 1
    when the target cannot be written.
    """
    from catalogue.publish.deploy import DeployError
    from catalogue.publish.deploy import deploy as run

    try:
        report = run(
            out,
            target,
            echo=lambda m: click.echo(m, err=True),
            dry_run=dry_run,
            endpoint_url=endpoint_url,
        )
    except DeployError as exc:
        click.echo(f"deploy: {exc}", err=True)
        sys.exit(1)
    click.echo(report.line(target) + (" (dry run)" if dry_run else ""), err=True)


COMMANDS: list[click.Command] = [deploy]
