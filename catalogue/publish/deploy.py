"""``catalogue deploy``: publish a built site to a folder, an rsync target or S3.

Each target is updated so that readers never see a half-published site for long:

- a folder target ``DEST`` is a symlink to one complete release in ``DEST.releases/``;
  a deploy writes a new release there, then renames a new symlink over ``DEST`` (one
  atomic step: a reader never finds a page missing), keeps the last N releases, and
  ``catalogue rollback`` points ``DEST`` back at an earlier one;
- rsync uses ``--delay-updates`` (every changed file lands at the end, together) and
  ``--delete-after``;
- S3-compatible storage has no rename, so objects go up in dependency order: files named
  by content (thumbnails, search index, file-table chunks) and static assets first, then
  pages and API records, then the entry points (sitemap, feed, urls.txt, robots.txt);
  objects that the new site no longer has are deleted last. Unchanged objects (same MD5
  as the S3 ETag of a single-part upload) are not sent again.

The build-state file never leaves the machine, and S3 gets none of the server
configuration files. Types and cache lifetimes come from ``catalogue.hosting``.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import errno
import fcntl
import gzip
import hashlib
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from catalogue import hosting
from catalogue.pipeline.state import STATE_FILE
from catalogue.publish import s3_releases
from catalogue.steps.redirects import SERVER_FILES

Echo = Callable[[str], None]

RELEASE_RE = re.compile(r"^(\d{6,})-(\d{8}T\d{6}Z)$")  # <sequence>-<UTC time>
DEFAULT_KEEP = 5  # releases kept by a folder deploy: the current one and four to return to
MARKER = ".catalogue-deploy"  # beside the releases of a folder target: ours to replace
MARKER_TEXT = (
    "Written by catalogue deploy. The folder beside this one's name without '.releases'\n"
    "is a symlink to one of the releases here; `catalogue rollback` switches it back.\n"
)
ENTRY_POINTS = ("sitemap.xml", "feed.xml", "urls.txt", "robots.txt", "index.html")


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
    site: Path,
    target: str,
    echo: Echo,
    dry_run: bool = False,
    endpoint_url: str | None = None,
    keep: int = DEFAULT_KEEP,
    website: bool = True,
    precompress: bool = False,
) -> Report:
    remote = target.startswith("s3://") or is_rsync(target)
    if precompress and remote:
        raise DeployError(f"{target}: --precompress is for folder targets only")
    if target.startswith("s3://"):
        return deploy_s3(site, target, echo, dry_run, endpoint_url, website, keep)
    if is_rsync(target):
        return deploy_rsync(site, target, echo, dry_run)
    return deploy_folder(site, Path(target), echo, dry_run, keep, precompress)


def is_rsync(target: str) -> bool:
    return target.startswith("rsync://") or (
        ":" in target.split("/", 1)[0] and not Path(target).exists()
    )


# --- a folder: releases behind a symlink ------------------------------------------------


@dataclass(frozen=True)
class Releases:
    """Where the releases of a folder target live: ``<DEST>.releases/`` beside ``DEST``.

    Beside, not inside: the web server's root is ``DEST`` (the symlink), so neither the
    other releases nor the marker file can ever be served.
    """

    dest: Path

    @property
    def folder(self) -> Path:
        return self.dest.parent / f"{self.dest.name}.releases"

    @property
    def marker(self) -> Path:
        return self.folder / MARKER

    def names(self) -> list[str]:
        """Complete releases, oldest first (a half-written one has a temporary name)."""
        if not self.folder.is_dir():
            return []
        found = [p.name for p in self.folder.iterdir() if RELEASE_RE.match(p.name) and p.is_dir()]
        return sorted(found, key=lambda n: int(n.split("-", 1)[0]))

    def current(self) -> str | None:
        """The release ``DEST`` points to, or None when ``DEST`` is not our symlink."""
        if not self.dest.is_symlink():
            return None
        target = Path(os.readlink(self.dest))
        if target.parent != Path(self.folder.name) or not RELEASE_RE.match(target.name):
            return None
        return target.name if self.marker.is_file() else None

    def next_name(self, today: dt.datetime) -> str:
        names = self.names()
        seq = int(names[-1].split("-", 1)[0]) + 1 if names else 1
        return f"{seq:06d}-{today:%Y%m%dT%H%M%SZ}"


def _check_target(site: Path, dest: Path) -> None:
    real = dest.parent.resolve() / dest.name
    if real == site or real.is_relative_to(site) or site.is_relative_to(real):
        raise DeployError(f"{dest} overlaps the built site {site}")


def deploy_folder(
    site: Path,
    dest: Path,
    echo: Echo,
    dry_run: bool,
    keep: int = DEFAULT_KEEP,
    precompress: bool = False,
) -> Report:
    """Copy the site into a new release folder, then point ``DEST`` at it in one rename.

    A reader resolves ``DEST`` once per file it opens and finds either the whole old
    release or the whole new one. Files unchanged since the current release are hard
    links to it (releases are never written to once complete, so sharing is safe).
    """
    files = site_files(site)
    site = site.resolve()
    dest = Path(os.path.abspath(dest))
    _check_target(site, dest)
    releases = Releases(dest)
    current_dir = _current_folder(releases)
    report = Report(uploaded=len(files))
    if current_dir is not None:
        old = {p.relative_to(current_dir).as_posix() for p in current_dir.rglob("*") if p.is_file()}
        old -= {MARKER, *(f + ext for f in files for ext, _ in _packers())}
        same = {f for f in files if f in old and _same_file(site / f, current_dir / f)}
        report.deleted = len(old - set(files))
        report.unchanged, report.uploaded = len(same), len(files) - len(same)
    else:
        same = set()
    if dry_run:
        return report
    with _locked(releases):
        name = releases.next_name(dt.datetime.now(dt.UTC))
        staging = releases.folder / f".incomplete-{name}"
        shutil.rmtree(staging, ignore_errors=True)
        try:
            for rel in files:
                out = staging / rel
                out.parent.mkdir(parents=True, exist_ok=True)
                if rel in same and current_dir is not None and _link(current_dir / rel, out):
                    continue
                shutil.copy2(site / rel, out)
            if precompress:
                _precompress(staging, files, same, current_dir)
            os.rename(staging, releases.folder / name)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        _switch(releases, name)
        _prune(releases, keep)
    echo(f"deploy: {dest} -> {releases.folder.name}/{name}")
    return report


PRECOMPRESS_MIN = 256  # bytes; smaller files gain nothing


def _packers() -> list[tuple[str, Callable[[bytes], bytes]]]:
    """gzip always; brotli where the ``brotli`` module is installed."""
    packers: list[tuple[str, Callable[[bytes], bytes]]] = [
        (".gz", lambda data: gzip.compress(data, 9, mtime=0))  # mtime 0: same bytes each time
    ]
    try:
        import brotli
    except ImportError:
        return packers
    packers.append((".br", lambda data: bytes(brotli.compress(data))))
    return packers


def _precompress(staging: Path, files: list[str], same: set[str], current_dir: Path | None) -> None:
    """``file.gz`` (and ``file.br``) beside each compressible file, for servers that send
    them as they are (nginx ``gzip_static``/``brotli_static``). Unchanged files reuse
    the previous release's by a hard link."""
    for rel in files:
        src = staging / rel
        if not hosting.compressible(rel) or src.stat().st_size < PRECOMPRESS_MIN:
            continue
        data = None
        for ext, pack in _packers():
            out = staging / f"{rel}{ext}"
            previous = current_dir / f"{rel}{ext}" if current_dir else None
            reuse = rel in same and previous is not None and previous.is_file()
            if reuse and previous is not None and _link(previous, out):
                continue
            data = src.read_bytes() if data is None else data
            out.write_bytes(pack(data))


def _current_folder(releases: Releases) -> Path | None:
    """The folder now served at DEST, after checking that DEST is ours to replace."""
    dest = releases.dest
    current = releases.current()
    if current is not None:
        return releases.folder / current
    if dest.is_symlink():
        raise DeployError(
            f"refusing to replace {dest}: it is a symlink that catalogue deploy did not "
            f"make (expected one into {releases.folder.name}/ with {MARKER} there)"
        )
    if dest.exists() and not dest.is_dir():
        raise DeployError(f"{dest} is a file, not a folder")
    if dest.is_dir() and any(dest.iterdir()):
        if not (dest / MARKER).is_file():
            raise DeployError(
                f"refusing to replace {dest}: it is not empty and was not written by "
                f"catalogue deploy (no {MARKER}); deploy into a new or empty folder"
            )
        return dest  # the layout of earlier versions: one folder, the marker inside
    return None


@contextlib.contextmanager
def _locked(releases: Releases) -> Iterator[None]:
    """One deploy or rollback at a time per target (a lock beside the releases)."""
    releases.folder.mkdir(parents=True, exist_ok=True)
    if not releases.marker.is_file():
        _write_atomic(releases.marker, MARKER_TEXT)
    with open(releases.folder / ".lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DeployError(f"{releases.dest}: another deploy or rollback is running") from None
        yield


def _switch(releases: Releases, name: str) -> None:
    """Point DEST at ``<DEST>.releases/<name>`` atomically: a new symlink renamed over it."""
    dest = releases.dest
    link = dest.parent / f".{dest.name}.link-{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        link.unlink()
    os.symlink(f"{releases.folder.name}/{name}", link)  # relative: the pair can move
    try:
        if dest.is_symlink() or not dest.exists():
            os.replace(link, dest)
        else:
            _replace_folder(releases, link)
    finally:
        with contextlib.suppress(FileNotFoundError):
            link.unlink()
    _fsync_dir(dest.parent)


def _replace_folder(releases: Releases, link: Path) -> None:
    """DEST is still a real folder (empty, or the one-folder layout of earlier versions).

    rename() cannot put a symlink over a folder; Linux's renameat2(RENAME_EXCHANGE)
    swaps the two names in one step, so readers still never miss a page. The old folder
    then becomes the oldest release (a rollback target), without its marker.
    """
    dest = releases.dest
    if not _exchange(link, dest):  # no renameat2: a moment without DEST, once
        os.rename(dest, link.with_name(link.name + ".old"))
        os.replace(link, dest)
        os.rename(link.with_name(link.name + ".old"), link)
    # `link` now names the old folder
    if not any(link.iterdir()):
        link.rmdir()
        return
    with contextlib.suppress(FileNotFoundError):
        (link / MARKER).unlink()
    stamp = dt.datetime.fromtimestamp(link.stat().st_mtime, dt.UTC)
    os.rename(link, releases.folder / f"{0:06d}-{stamp:%Y%m%dT%H%M%SZ}")


def _exchange(a: Path, b: Path) -> bool:
    """Swap two names atomically (Linux renameat2); False where the system cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p]
    renameat2.argtypes += [ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _prune(releases: Releases, keep: int) -> None:
    """Remove the oldest releases beyond ``keep``, never the one being served."""
    current = releases.current()
    names = [n for n in releases.names() if n != current]
    for name in names[: max(0, len(names) - (keep - 1))]:
        shutil.rmtree(releases.folder / name)
    for stale in releases.folder.glob(".incomplete-*"):  # left by an interrupted deploy
        shutil.rmtree(stale, ignore_errors=True)


def rollback(dest: Path, release: str | None = None, dry_run: bool = False) -> str:
    """Serve an earlier release again: by default the newest one older than the current."""
    dest = Path(os.path.abspath(dest))
    releases = Releases(dest)
    current = releases.current()
    if current is None:
        raise DeployError(
            f"{dest} was not deployed as releases by catalogue deploy: nothing to roll back to"
        )
    names = releases.names()
    if release is not None:
        if release not in names:
            kept = ", ".join(names) or "none"
            raise DeployError(f"{dest}: no release {release!r} (kept: {kept})")
        target = release
    else:
        seq = int(current.split("-", 1)[0])
        older = [n for n in names if int(n.split("-", 1)[0]) < seq]
        if not older:
            raise DeployError(
                f"{dest}: no release older than {current} is kept (raise --keep on deploy)"
            )
        target = older[-1]
    if not dry_run and target != current:
        with _locked(releases):
            _switch(releases, target)
    return f"rollback: {dest} -> {releases.folder.name}/{target} (was {current})"


def _link(src: Path, out: Path) -> bool:
    try:
        os.link(src, out)
    except OSError:  # another file system, or links not allowed: copy instead
        return False
    return True


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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
    if (
        hosting.cache_control(rel) == hosting.IMMUTABLE
        or rel.startswith("static/")
        or "/data/" in rel
    ):
        return 0
    if rel in ENTRY_POINTS:
        return 2
    return 1


# Files of the site folder that configure a web server: S3 serves none of them, and as
# public objects they would only tell the world how the server is set up.
NOT_FOR_OBJECT_STORAGE = frozenset((*SERVER_FILES, MARKER, STATE_FILE))


def deploy_s3(
    site: Path,
    target: str,
    echo: Echo,
    dry_run: bool,
    endpoint_url: str | None,
    website: bool = True,
    keep: int = DEFAULT_KEEP,
) -> Report:
    """Upload changed objects in dependency order, delete stale ones last, and (unless
    ``website`` is false) configure the bucket's static-website hosting: ``index.html``
    as the index document of every folder, the site's ``404.html`` as the error page."""
    try:
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:
        raise DeployError("S3 needs boto3: pip install 'catalogue[s3]'") from None

    files = [f for f in site_files(site) if f not in NOT_FOR_OBJECT_STORAGE]
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
            client.put_object(
                Bucket=bucket,
                Key=key,
                Body=data,
                ContentType=hosting.content_type(rel),
                CacheControl=hosting.cache_control(rel),
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
        if website and not dry_run:
            client.put_bucket_website(
                Bucket=bucket,
                WebsiteConfiguration={
                    "IndexDocument": {"Suffix": "index.html"},
                    "ErrorDocument": {"Key": key_of("404.html")},
                },
            )
            echo(f"deploy: s3://{bucket}: static-website hosting, error page {key_of('404.html')}")
        if not dry_run:
            stamp = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}"
            recorded = s3_releases.record_release(client, bucket, prefix, stamp, keep, echo)
            if recorded:
                echo(f"deploy: release {recorded} recorded in {prefix}.releases/")
    except (BotoCoreError, ClientError) as exc:
        raise DeployError(f"{target}: {exc}") from None
    return report


def rollback_s3(target: str, endpoint_url: str | None, release: str | None, dry_run: bool) -> str:
    """Serve a recorded earlier release of an S3 target again (see ``s3_releases``)."""
    try:
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:
        raise DeployError("S3 needs boto3: pip install 'catalogue[s3]'") from None
    parsed = urlparse(target)
    bucket, prefix = parsed.netloc, parsed.path.strip("/")
    client = boto3.client("s3", endpoint_url=endpoint_url)
    try:
        restored, was = s3_releases.rollback_s3(client, bucket, prefix, _order, release, dry_run)
    except s3_releases.ReleaseError as exc:
        raise DeployError(f"{target}: {exc}") from None
    except (BotoCoreError, ClientError) as exc:
        raise DeployError(f"{target}: {exc}") from None
    return f"rollback: {target} -> release {restored} (was {was})"
