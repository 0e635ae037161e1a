"""``catalogue deploy`` and ``catalogue rollback``, registered on the ``catalogue`` group
(see ``cli/__init__.py``)."""

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
@click.option(
    "--keep",
    type=click.IntRange(min=2),
    default=5,
    show_default=True,
    metavar="N",
    help="Releases kept (the one served and N-1 to roll back to): folders, and S3 "
    "prefixes of versioned buckets.",
)
@click.option(
    "--website/--no-website",
    default=True,
    show_default=True,
    help="S3: configure the bucket's static-website hosting (index and error documents).",
)
@click.option(
    "--precompress",
    is_flag=True,
    help="Folder targets: write file.gz (and file.br with the brotli module) beside each "
    "text file, for nginx's gzip_static/brotli_static.",
)
@click.option("--dry-run", is_flag=True, help="Say what would change; change nothing.")
def deploy(
    out: Path,
    target: str,
    endpoint_url: str | None,
    keep: int,
    website: bool,
    precompress: bool,
    dry_run: bool,
) -> None:
    """Publish the built site to a folder, an rsync target or S3-compatible storage.

    Example: catalogue deploy --to /srv/www/archive --keep 5

    A folder target becomes a symlink to a release in DEST.releases/, switched in one
    atomic rename; `catalogue rollback --to DEST` returns to the previous release.
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
            keep=keep,
            website=website,
            precompress=precompress,
        )
    except DeployError as exc:
        click.echo(f"deploy: {exc}", err=True)
        sys.exit(1)
    click.echo(report.line(target) + (" (dry run)" if dry_run else ""), err=True)


@click.command()
@click.option(
    "--to",
    "target",
    required=True,
    metavar="DEST",
    help="The target of earlier deploys: the folder (the symlink) or s3://bucket/prefix.",
)
@click.option(
    "--release",
    default=None,
    metavar="NAME",
    help="A release of DEST.releases/ to serve (default: the one before the current).",
)
@click.option(
    "--endpoint-url",
    default=None,
    metavar="URL",
    help="S3-compatible endpoint (default: AWS, or $AWS_ENDPOINT_URL).",
)
@click.option("--dry-run", is_flag=True, help="Say which release would be served; change nothing.")
def rollback(target: str, release: str | None, endpoint_url: str | None, dry_run: bool) -> None:
    """Serve the previous release of a folder target again, in one atomic switch.

    Example: catalogue rollback --to /srv/www/archive

    Run it again to go one more release back; `--release NAME` picks one (they are
    listed in DEST.releases/). The release rolled back from is kept until pruned. An S3
    prefix has releases when its bucket has versioning on (earlier object versions are
    copied back); rsync targets keep none (docs/deploy.md). Exits 1 when there is
    nothing to return to.
    """
    from catalogue.publish.deploy import DeployError, is_rsync, rollback_s3
    from catalogue.publish.deploy import rollback as run

    if not target.startswith("s3://") and is_rsync(target):
        click.echo(
            f"rollback: {target}: rsync targets keep no releases; deploy the earlier "
            "build again (see docs/deploy.md)",
            err=True,
        )
        sys.exit(1)
    try:
        if target.startswith("s3://"):
            line = rollback_s3(target, endpoint_url, release, dry_run)
        else:
            line = run(Path(target), release=release, dry_run=dry_run)
    except DeployError as exc:
        click.echo(f"rollback: {exc}", err=True)
        sys.exit(1)
    click.echo(line + (" (dry run)" if dry_run else ""), err=True)


COMMANDS: list[click.Command] = [deploy, rollback]
