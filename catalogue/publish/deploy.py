"""``catalogue deploy``: publish a built site to a folder, an rsync target or S3.

Each target is updated so that readers never see a half-published site for long:

- a folder is replaced by a complete copy in one rename (the old copy is kept until the
  new one is in place);
- rsync uses ``--delay-updates`` (every changed file lands at the end, together) and
  ``--delete-after``;
- S3-compatible storage has no rename, so objects go up in dependency order: files named
  by content (thumbnails, search index, file-table chunks) and static assets first, then
  pages and API records, then the entry points (sitemap, feed, urls.txt, robots.txt);
  objects that the new site no longer has are deleted last. Unchanged objects (same MD5
  as the S3 ETag of a single-part upload) are not sent again.

The build-state file never leaves the machine.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from catalogue.pipeline.state import STATE_FILE

Echo = Callable[[str], None]

MARKER = ".catalogue-deploy"  # in a deployed folder: the next deploy may replace it
ENTRY_POINTS = ("sitemap.xml", "feed.xml", "urls.txt", "robots.txt", "index.html")
IMMUTABLE = ("thumbnails/", "pagefind/fragment/", "pagefind/index/", "pagefind/filter/")
TYPES = {
    ".webp": "image/webp",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".tsv": "text/tab-separated-values; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".xml": "application/xml",
    ".svg": "image/svg+xml",
    ".wasm": "application/wasm",
    ".bib": "application/x-bibtex; charset=utf-8",
    ".ris": "application/x-research-info-systems; charset=utf-8",
}


class DeployError(Exception):
    pass


@dataclass
class Report:
    uploaded: int = 0
    unchanged: int = 0
    deleted: int = 0

    def line(self, target: str) -> str:
        return (
            f"deploy: {target}: {self.uploaded} uploaded, {self.unchanged} unchanged, "
            f"{self.deleted} deleted"
        )


def site_files(site: Path) -> list[str]:
    if not (site / "index.html").is_file():
        raise DeployError(f"{site}/index.html not found: run `catalogue build` first")
    return sorted(
        p.relative_to(site).as_posix()
        for p in site.rglob("*")
        if p.is_file() and p.name != STATE_FILE
    )


def deploy(
    site: Path, target: str, echo: Echo, dry_run: bool = False, endpoint_url: str | None = None
) -> Report:
    if target.startswith("s3://"):
        return deploy_s3(site, target, echo, dry_run, endpoint_url)
    if target.startswith("rsync://") or (
        ":" in target.split("/", 1)[0] and not Path(target).exists()
    ):
        return deploy_rsync(site, target, echo, dry_run)
    return deploy_folder(site, Path(target), echo, dry_run)


# --- a folder -----------------------------------------------------------------------------


def deploy_folder(site: Path, dest: Path, echo: Echo, dry_run: bool) -> Report:
    files = site_files(site)
    site, dest = site.resolve(), dest.resolve()
    if dest == site or dest.is_relative_to(site) or site.is_relative_to(dest):
        raise DeployError(f"{dest} overlaps the built site {site}")
    report = Report(uploaded=len(files))
    if dest.exists() and not dest.is_dir():
        raise DeployError(f"{dest} is a file, not a folder")
    if dest.is_dir() and any(dest.iterdir()) and not (dest / MARKER).is_file():
        raise DeployError(
            f"refusing to replace {dest}: it is not empty and was not written by catalogue "
            f"deploy (no {MARKER}); deploy into a new or empty folder"
        )
    if dest.exists():
        old = {p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file()} - {MARKER}
        report.deleted = len(old - set(files))
        same = [f for f in files if f in old and _same_file(site / f, dest / f)]
        report.unchanged, report.uploaded = len(same), len(files) - len(same)
    if dry_run:
        return report
    staging = dest.parent / f".{dest.name}.deploy-{os.getpid()}"
    previous = dest.parent / f".{dest.name}.previous-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        for rel in files:
            target = staging / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(site / rel, target)
        (staging / MARKER).write_text("written by catalogue deploy; replaced on each deploy\n")
        if dest.exists():
            os.rename(dest, previous)
        os.rename(staging, dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    shutil.rmtree(previous, ignore_errors=True)
    return report


def _same_file(a: Path, b: Path) -> bool:
    return a.stat().st_size == b.stat().st_size and a.read_bytes() == b.read_bytes()


# --- rsync ----------------------------------------------------------------------------------


def deploy_rsync(site: Path, target: str, echo: Echo, dry_run: bool) -> Report:
    site_files(site)
    rsync = shutil.which("rsync")
    if rsync is None:
        raise DeployError("rsync is not installed (apt-get install rsync)")
    cmd = [
        rsync,
        "--recursive",
        "--links",
        "--times",
        "--checksum",
        "--delete-after",
        "--delay-updates",
        f"--exclude=/{STATE_FILE}",
        "--itemize-changes",
    ]
    if dry_run:
        cmd.append("--dry-run")
    cmd += [f"{site}/", target.rstrip("/") + "/"]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise DeployError(f"rsync failed (exit {result.returncode}): {result.stderr.strip()}")
    report = Report()
    for line in result.stdout.splitlines():
        if line.startswith("*deleting"):
            report.deleted += 1
        elif line[:2] in ("<f", ">f", "cf"):
            report.uploaded += 1
    report.unchanged = len(site_files(site)) - report.uploaded
    return report


# --- S3-compatible storage ------------------------------------------------------------------


def _order(rel: str) -> int:
    if rel.startswith(IMMUTABLE) or rel.startswith("static/") or "/data/" in rel:
        return 0
    if rel in ENTRY_POINTS:
        return 2
    return 1


def content_type(rel: str) -> str:
    suffix = Path(rel).suffix.lower()
    if suffix in TYPES:
        return TYPES[suffix]
    if rel.startswith("pagefind/"):
        return "application/octet-stream"
    return mimetypes.guess_type(rel)[0] or "application/octet-stream"


def deploy_s3(
    site: Path, target: str, echo: Echo, dry_run: bool, endpoint_url: str | None
) -> Report:
    try:
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:
        raise DeployError("S3 needs boto3: pip install 'catalogue[s3]'") from None

    files = site_files(site)
    parsed = urlparse(target)
    bucket, prefix = parsed.netloc, parsed.path.strip("/")
    if not bucket:
        raise DeployError(f"{target}: expected s3://BUCKET[/PREFIX]")
    key_of = (lambda rel: f"{prefix}/{rel}") if prefix else (lambda rel: rel)
    client = boto3.client("s3", endpoint_url=endpoint_url)
    report = Report()
    try:
        existing: dict[str, str] = {}
        pages = client.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=f"{prefix}/" if prefix else ""
        )
        for page in pages:
            for obj in page.get("Contents", []):
                existing[obj["Key"]] = obj["ETag"].strip('"')
        for rel in sorted(files, key=lambda r: (_order(r), r)):
            path = site / rel
            data = path.read_bytes()
            md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
            key = key_of(rel)
            if existing.get(key) == md5:
                report.unchanged += 1
                continue
            report.uploaded += 1
            if dry_run:
                continue
            immutable = rel.startswith(IMMUTABLE)
            client.put_object(
                Bucket=bucket,
                Key=key,
                Body=data,
                ContentType=content_type(rel),
                CacheControl="public, max-age=31536000, immutable"
                if immutable
                else "public, max-age=300",
            )
        wanted = {key_of(rel) for rel in files}
        stale = sorted(k for k in existing if k not in wanted)
        report.deleted = len(stale)
        if not dry_run:
            for start in range(0, len(stale), 1000):
                batch = stale[start : start + 1000]
                client.delete_objects(
                    Bucket=bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True}
                )
    except (BotoCoreError, ClientError) as exc:
        raise DeployError(f"{target}: {exc}") from None
    return report
