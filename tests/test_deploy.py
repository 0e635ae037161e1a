"""`catalogue deploy` to a folder, to a real rsync daemon and to a real S3-protocol
endpoint (moto's server on 127.0.0.1), over a built test site."""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import boto3
import brotli
import pytest
from botocore.exceptions import ClientError
from click.testing import CliRunner

from catalogue import hosting
from catalogue.cli import main
from catalogue.pipeline.state import STATE_FILE
from catalogue.publish.deploy import NOT_FOR_OBJECT_STORAGE

from .conftest import ROOTS, build_site, free_port, tree_digest
from .webserver import nginx_serving, request


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site") / "build"
    build_site(ROOTS / "minimal" / "content", out)
    return out


def deploy(*args: str):
    return CliRunner().invoke(main, ["deploy", *args])


def published(site: Path) -> dict[str, str]:
    return {k: v for k, v in tree_digest(site).items() if k != STATE_FILE}


def releases_of(dest: Path) -> list[str]:
    folder = dest.parent / f"{dest.name}.releases"
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def test_folder_deploy_is_a_symlink_to_a_complete_release(site: Path, tmp_path: Path):
    dest = tmp_path / "www"
    result = deploy("--out", str(site), "--to", str(dest))
    assert result.exit_code == 0, result.output
    assert dest.is_symlink()
    (first,) = releases_of(dest)
    assert os.readlink(dest) == f"www.releases/{first}"  # relative: the pair can move
    # the release holds the site and nothing else: no state file, no deploy marker
    assert tree_digest(dest) == published(site)
    assert (tmp_path / "www.releases" / ".catalogue-deploy").is_file()
    n = len(published(site))
    assert f"{n} uploaded, 0 unchanged, 0 deleted" in result.output
    (dest / "stale.html").write_text("old")
    result = deploy("--out", str(site), "--to", str(dest))
    assert f"0 uploaded, {n} unchanged, 1 deleted" in result.output
    assert not (dest / "stale.html").exists()
    assert len(releases_of(dest)) == 2
    # unchanged files are hard links into the previous release, not copies
    second = tmp_path / "www.releases" / releases_of(dest)[1]
    assert (second / "index.html").stat().st_nlink >= 2


def test_dry_run_changes_nothing(site: Path, tmp_path: Path):
    dest = tmp_path / "www"
    result = deploy("--out", str(site), "--to", str(dest), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "uploaded" in result.output and "(dry run)" in result.output
    assert not dest.exists() and not (tmp_path / "www.releases").exists()


def test_a_folder_of_the_earlier_one_folder_layout_becomes_the_first_release(
    site: Path, tmp_path: Path
):
    dest = tmp_path / "www"
    dest.mkdir()
    (dest / "index.html").write_text("the site deployed before releases")
    (dest / ".catalogue-deploy").write_text("written by catalogue deploy\n")
    result = deploy("--out", str(site), "--to", str(dest))
    assert result.exit_code == 0, result.output
    assert dest.is_symlink() and tree_digest(dest) == published(site)
    old, new = releases_of(dest)
    assert old.startswith("000000-")
    result = CliRunner().invoke(main, ["rollback", "--to", str(dest)])
    assert result.exit_code == 0, result.output
    assert (dest / "index.html").read_text() == "the site deployed before releases"
    assert not (dest / ".catalogue-deploy").exists()  # the marker left the served folder


def test_a_symlink_that_deploy_did_not_make_is_refused(site: Path, tmp_path: Path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "precious.txt").write_text("keep me")
    dest = tmp_path / "www"
    dest.symlink_to(elsewhere)
    result = deploy("--out", str(site), "--to", str(dest))
    assert result.exit_code == 1
    assert "symlink that catalogue deploy did not make" in result.output
    assert os.readlink(dest) == str(elsewhere)
    assert (elsewhere / "precious.txt").read_text() == "keep me"


def other_version(site: Path, tmp_path: Path) -> Path:
    """The same site with every HTML page changed, as a new build would change them."""
    other = tmp_path / "site-b"
    shutil.copytree(site, other)
    for page in other.rglob("*.html"):
        page.write_bytes(page.read_bytes() + b"<!-- version B -->\n")
    return other


def test_100_deploys_under_a_polling_nginx_never_miss_a_page(site: Path, tmp_path: Path):
    """Readers poll pages, API, assets and thumbnails through nginx (which follows the
    symlink) while the site is deployed 100 times, alternating two versions: every answer
    is a 200 with the complete old or new file, never a 404 or a mix."""
    site_b = other_version(site, tmp_path)
    thumb = next((site / "thumbnails").glob("*.webp")).relative_to(site).as_posix()
    paths = {
        "/": "index.html",
        "/studies/S-BIAD1/": "studies/S-BIAD1/index.html",
        "/api/v1/studies.json": "api/v1/studies.json",
        "/static/style.css": "static/style.css",
        f"/{thumb}": thumb,
        "/search/": "search/index.html",
    }
    versions = {p: {(site / f).read_bytes(), (site_b / f).read_bytes()} for p, f in paths.items()}
    dest = tmp_path / "www"
    assert deploy("--out", str(site), "--to", str(dest)).exit_code == 0
    failures: list[str] = []
    seen: set[bytes] = set()
    answered = 0
    done = threading.Event()

    def poll(port: int) -> None:
        nonlocal answered
        while not done.is_set():
            for path, bodies in versions.items():
                status, _, body = request(port, path)
                answered += 1
                if status != 200 or body not in bodies:
                    failures.append(f"{path}: {status}, {len(body)} bytes")
                if path == "/":
                    seen.add(body)

    (tmp_path / "nginx").mkdir()
    with nginx_serving(dest, tmp_path / "nginx") as port:
        readers = [threading.Thread(target=poll, args=(port,)) for _ in range(2)]
        for reader in readers:
            reader.start()
        try:
            for i in range(100):
                result = deploy(
                    "--out", str(site_b if i % 2 == 0 else site), "--to", str(dest), "--keep", "3"
                )
                assert result.exit_code == 0, result.output
        finally:
            done.set()
            for reader in readers:
                reader.join(timeout=30)
        assert not failures, failures[:10]
        assert answered >= 200, answered  # the readers really polled during the deploys
        assert len(seen) == 2  # and saw both versions come and go
        assert len(releases_of(dest)) == 3  # --keep 3
        # the last deploy was version A; rollback serves version B through nginx again
        result = CliRunner().invoke(main, ["rollback", "--to", str(dest)])
        assert result.exit_code == 0, result.output
        for path, file in paths.items():
            status, _, body = request(port, path)
            assert status == 200 and body == (site_b / file).read_bytes(), path
        # the marker and the other releases are beside the served folder, never in it
        for path in ("/.catalogue-deploy", "/.catalogue-state.json", "/../www.releases/"):
            assert request(port, path)[0] in (400, 404), path


def test_rollback_returns_to_the_previous_release_then_further(site: Path, tmp_path: Path):
    site_b = other_version(site, tmp_path)
    dest = tmp_path / "www"
    for version in (site, site_b, site):
        assert deploy("--out", str(version), "--to", str(dest)).exit_code == 0
    first, second, third = releases_of(dest)
    rollback = CliRunner().invoke(main, ["rollback", "--to", str(dest)])
    assert rollback.exit_code == 0, rollback.output
    assert f"-> www.releases/{second} (was {third})" in rollback.output
    assert tree_digest(dest) == published(site_b)
    rollback = CliRunner().invoke(main, ["rollback", "--to", str(dest)])
    assert tree_digest(dest) == published(site) and os.readlink(dest).endswith(first)
    rollback = CliRunner().invoke(main, ["rollback", "--to", str(dest)])
    assert rollback.exit_code == 1 and "no release older than" in rollback.output
    # a named release, e.g. forward again to the newest
    rollback = CliRunner().invoke(main, ["rollback", "--to", str(dest), "--release", third])
    assert rollback.exit_code == 0 and os.readlink(dest).endswith(third)
    rollback = CliRunner().invoke(main, ["rollback", "--to", str(dest), "--release", "nope"])
    assert rollback.exit_code == 1 and "no release 'nope'" in rollback.output
    # a deploy after a rollback is newer than every kept release
    assert deploy("--out", str(site), "--to", str(dest), "--keep", "2").exit_code == 0
    assert releases_of(dest) == [third, releases_of(dest)[-1]]


def test_rollback_of_what_deploy_did_not_make_is_a_message(tmp_path: Path):
    for target in (str(tmp_path / "nothing"), "rsync://host/module/"):
        result = CliRunner().invoke(main, ["rollback", "--to", target])
        assert result.exit_code == 1, target
        assert result.output.startswith("rollback: ") and "Traceback" not in result.output


def test_folder_deploy_never_replaces_a_strangers_folder(site: Path, tmp_path: Path):
    dest = tmp_path / "srv"
    dest.mkdir()
    (dest / "precious.txt").write_text("keep me")
    result = deploy("--out", str(site), "--to", str(dest))
    assert result.exit_code == 1
    assert "was not written by catalogue deploy" in result.output
    assert (dest / "precious.txt").read_text() == "keep me"


def test_deploy_refuses_an_unbuilt_site(tmp_path: Path):
    result = deploy("--out", str(tmp_path / "nothing"), "--to", str(tmp_path / "www"))
    assert result.exit_code == 1
    assert "run `catalogue build` first" in result.output


@pytest.fixture()
def rsync_daemon(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    rsync = shutil.which("rsync")
    assert rsync, "rsync is required (scripts/test installs it)"
    root = tmp_path / "module"
    root.mkdir()
    port = free_port()
    conf = tmp_path / "rsyncd.conf"
    conf.write_text(
        f"pid file = {tmp_path / 'rsyncd.pid'}\nuse chroot = no\n[site]\n  path = {root}\n"
        "  read only = no\n  uid = root\n  gid = root\n"
    )
    proc = subprocess.Popen(
        [
            rsync,
            "--daemon",
            "--no-detach",
            f"--config={conf}",
            f"--port={port}",
            "--address=127.0.0.1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while subprocess.run([rsync, f"rsync://127.0.0.1:{port}/"], capture_output=True).returncode:
        assert time.monotonic() < deadline and proc.poll() is None, "rsync daemon did not start"
        time.sleep(0.1)
    yield f"rsync://127.0.0.1:{port}/site/", root
    proc.terminate()
    proc.wait(timeout=10)


def test_rsync_deploy_to_a_real_daemon(site: Path, rsync_daemon):
    url, root = rsync_daemon
    (root / "stale.txt").write_text("old")
    result = deploy("--out", str(site), "--to", url, "--dry-run")
    assert result.exit_code == 0, result.output
    assert (root / "stale.txt").exists() and not (root / "index.html").exists()
    result = deploy("--out", str(site), "--to", url)
    assert result.exit_code == 0, result.output
    assert tree_digest(root) == published(site)
    assert "1 deleted" in result.output


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server: the real S3 protocol over HTTP, on loopback."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url, timeout=1)
            break
        except OSError as exc:
            if getattr(exc, "code", None):  # an HTTP answer, whatever the status
                break
            assert time.monotonic() < deadline and proc.poll() is None, "moto did not start"
            time.sleep(0.2)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def s3_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


def test_s3_deploy_uploads_changes_only_and_removes_stale(site, s3_endpoint, monkeypatch):
    s3_credentials(monkeypatch)
    s3 = boto3.client("s3", endpoint_url=s3_endpoint)
    s3.create_bucket(Bucket="archive")
    s3.put_object(Bucket="archive", Key="site/old-page.html", Body=b"old")
    # left by an older deploy that published server configuration: removed as stale
    s3.put_object(Bucket="archive", Key="site/.htaccess", Body=b"old rules")
    files = {k: v for k, v in published(site).items() if k not in NOT_FOR_OBJECT_STORAGE}
    assert set(published(site)) - set(files) >= {".htaccess", "nginx-headers.conf", "_redirects"}
    result = deploy("--out", str(site), "--to", "s3://archive/site", "--endpoint-url", s3_endpoint)
    assert result.exit_code == 0, result.output
    assert f"{len(files)} uploaded, 0 unchanged, 2 deleted" in result.output
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="archive", Prefix="site/")["Contents"]}
    assert keys == {f"site/{k}" for k in files}
    for rel in files:  # every object has the type and lifetime of the shared policy
        head = s3.head_object(Bucket="archive", Key=f"site/{rel}")
        assert head["ContentType"] == hosting.content_type(rel), rel
        assert head["CacheControl"] == hosting.cache_control(rel), rel
    head = s3.head_object(Bucket="archive", Key="site/studies/S-BIAD1/index.html")
    assert head["ContentType"] == "text/html; charset=utf-8"
    assert head["CacheControl"] == "no-cache"
    thumb = next(k for k in files if k.startswith("thumbnails/"))
    assert "immutable" in s3.head_object(Bucket="archive", Key=f"site/{thumb}")["CacheControl"]
    body = s3.get_object(Bucket="archive", Key="site/index.html")["Body"].read()
    assert body == (site / "index.html").read_bytes()
    website = s3.get_bucket_website(Bucket="archive")
    assert website["IndexDocument"] == {"Suffix": "index.html"}
    assert website["ErrorDocument"] == {"Key": "site/404.html"}
    again = deploy("--out", str(site), "--to", "s3://archive/site", "--endpoint-url", s3_endpoint)
    assert f"0 uploaded, {len(files)} unchanged, 0 deleted" in again.output


def test_s3_deploy_without_website_hosting(site, s3_endpoint, monkeypatch):
    s3_credentials(monkeypatch)
    s3 = boto3.client("s3", endpoint_url=s3_endpoint)
    s3.create_bucket(Bucket="behind-a-cdn")
    result = deploy(
        "--out",
        str(site),
        "--to",
        "s3://behind-a-cdn",
        "--endpoint-url",
        s3_endpoint,
        "--no-website",
    )
    assert result.exit_code == 0, result.output
    assert s3.head_object(Bucket="behind-a-cdn", Key="index.html")
    with pytest.raises(ClientError):
        s3.get_bucket_website(Bucket="behind-a-cdn")


def test_s3_errors_are_messages(site, s3_endpoint, monkeypatch):
    s3_credentials(monkeypatch)
    result = deploy(
        "--out", str(site), "--to", "s3://no-such-bucket", "--endpoint-url", s3_endpoint
    )
    assert result.exit_code == 1
    assert "deploy: s3://no-such-bucket:" in result.output and "Traceback" not in result.output


def test_precompressed_release_is_served_as_is_by_nginx(site: Path, tmp_path: Path):
    """--precompress writes file.gz and file.br beside text files; nginx's gzip_static and
    brotli_static send those bytes (level 9, not nginx's own level 5 on the fly)."""
    dest = tmp_path / "www"
    result = deploy("--out", str(site), "--to", str(dest), "--precompress")
    assert result.exit_code == 0, result.output
    css, thumb = dest / "static" / "style.css", next((dest / "thumbnails").glob("*.webp"))
    assert gzip.decompress((dest / "static" / "style.css.gz").read_bytes()) == css.read_bytes()
    assert brotli.decompress((dest / "static" / "style.css.br").read_bytes()) == css.read_bytes()
    assert not Path(f"{thumb}.gz").exists()  # images are not compressed
    # unchanged files keep their precompressed copies by hard link, and are not "deleted"
    again = deploy("--out", str(site), "--to", str(dest), "--precompress")
    assert ", 0 deleted" in again.output
    assert (dest / "static" / "style.css.gz").stat().st_nlink >= 2
    (tmp_path / "nginx").mkdir()
    with nginx_serving(dest, tmp_path / "nginx") as port:
        for encoding, suffix in (("gzip", ".gz"), ("br", ".br")):
            status, headers, body = request(
                port, "/static/style.css", {"Accept-Encoding": encoding}
            )
            assert status == 200 and headers["content-encoding"] == encoding
            assert body == (dest / "static" / f"style.css{suffix}").read_bytes()
            assert headers["content-type"] == "text/css; charset=utf-8"


def test_precompress_is_refused_for_remote_targets(site: Path):
    result = deploy("--out", str(site), "--to", "rsync://host/module/", "--precompress")
    assert result.exit_code == 1 and "for folder targets only" in result.output


def test_s3_rollback_restores_the_previous_release_in_a_versioned_bucket(
    site, s3_endpoint, monkeypatch, tmp_path
):
    s3_credentials(monkeypatch)
    s3 = boto3.client("s3", endpoint_url=s3_endpoint)
    s3.create_bucket(Bucket="versioned")
    s3.put_bucket_versioning(Bucket="versioned", VersioningConfiguration={"Status": "Enabled"})
    site_b = other_version(site, tmp_path)
    (site_b / "only-in-b.html").write_text("new page")
    target = ["--to", "s3://versioned/site", "--endpoint-url", s3_endpoint]
    for version in (site, site_b):
        result = deploy("--out", str(version), *target)
        assert result.exit_code == 0, result.output
        assert "recorded in site.releases/" in result.output

    def served() -> dict[str, bytes]:
        keys = [
            o["Key"] for o in s3.list_objects_v2(Bucket="versioned", Prefix="site/")["Contents"]
        ]
        return {k[5:]: s3.get_object(Bucket="versioned", Key=k)["Body"].read() for k in keys}

    def objects_of(folder: Path) -> dict[str, bytes]:
        return {
            rel: (folder / rel).read_bytes()
            for rel in published(folder)
            if rel not in NOT_FOR_OBJECT_STORAGE
        }

    assert served() == objects_of(site_b)
    result = CliRunner().invoke(main, ["rollback", *target])
    assert result.exit_code == 0, result.output
    assert served() == objects_of(site)  # the page only B had is gone again
    head = s3.head_object(Bucket="versioned", Key="site/index.html")
    assert head["ContentType"] == "text/html; charset=utf-8" and head["CacheControl"] == "no-cache"
    # the records are beside the site's prefix, not in it
    assert all(
        k["Key"].startswith("site.releases/")
        for k in s3.list_objects_v2(Bucket="versioned", Prefix="site.")["Contents"]
    )
    result = CliRunner().invoke(main, ["rollback", *target])
    assert result.exit_code == 1 and "no release older than" in result.output


def test_s3_rollback_without_versioning_is_a_message(site, s3_endpoint, monkeypatch):
    s3_credentials(monkeypatch)
    s3 = boto3.client("s3", endpoint_url=s3_endpoint)
    s3.create_bucket(Bucket="plain")
    target = ["--to", "s3://plain/site", "--endpoint-url", s3_endpoint]
    result = deploy("--out", str(site), *target)
    assert result.exit_code == 0 and "versioning is off" in result.output
    result = CliRunner().invoke(main, ["rollback", *target])
    assert result.exit_code == 1 and "no release recorded" in result.output
