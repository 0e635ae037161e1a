"""`catalogue deploy` to a folder, to a real rsync daemon and to a real S3-protocol
endpoint (moto's server on 127.0.0.1), over a built test site."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from click.testing import CliRunner

from catalogue.cli import main
from catalogue.pipeline.state import STATE_FILE

from .conftest import ROOTS, build_site, free_port, tree_digest


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site") / "build"
    build_site(ROOTS / "minimal" / "content", out)
    return out


def deploy(*args: str):
    return CliRunner().invoke(main, ["deploy", *args])


def published(site: Path) -> dict[str, str]:
    return {k: v for k, v in tree_digest(site).items() if k != STATE_FILE}


def test_folder_deploy_is_complete_and_skips_the_state(site: Path, tmp_path: Path):
    dest = tmp_path / "www"
    result = deploy("--out", str(site), "--to", str(dest))
    assert result.exit_code == 0, result.output
    deployed = tree_digest(dest)
    assert deployed.pop(".catalogue-deploy")  # the marker that allows the next deploy
    assert deployed == published(site)
    n = len(published(site))
    assert f"{n} uploaded, 0 unchanged, 0 deleted" in result.output
    (dest / "stale.html").write_text("old")
    result = deploy("--out", str(site), "--to", str(dest))
    assert f"0 uploaded, {n} unchanged, 1 deleted" in result.output
    assert not (dest / "stale.html").exists()


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


def test_s3_deploy_uploads_changes_only_and_removes_stale(site, s3_endpoint, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    s3 = boto3.client("s3", endpoint_url=s3_endpoint)
    s3.create_bucket(Bucket="archive")
    s3.put_object(Bucket="archive", Key="site/old-page.html", Body=b"old")
    files = published(site)
    result = deploy("--out", str(site), "--to", "s3://archive/site", "--endpoint-url", s3_endpoint)
    assert result.exit_code == 0, result.output
    assert f"{len(files)} uploaded, 0 unchanged, 1 deleted" in result.output
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="archive", Prefix="site/")["Contents"]}
    assert keys == {f"site/{k}" for k in files}
    head = s3.head_object(Bucket="archive", Key="site/studies/S-BIAD1/index.html")
    assert head["ContentType"] == "text/html; charset=utf-8"
    thumb = next(k for k in files if k.startswith("thumbnails/"))
    assert "immutable" in s3.head_object(Bucket="archive", Key=f"site/{thumb}")["CacheControl"]
    body = s3.get_object(Bucket="archive", Key="site/index.html")["Body"].read()
    assert body == (site / "index.html").read_bytes()
    again = deploy("--out", str(site), "--to", "s3://archive/site", "--endpoint-url", s3_endpoint)
    assert f"0 uploaded, {len(files)} unchanged, 0 deleted" in again.output


def test_s3_errors_are_messages(site, s3_endpoint, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    result = deploy(
        "--out", str(site), "--to", "s3://no-such-bucket", "--endpoint-url", s3_endpoint
    )
    assert result.exit_code == 1
    assert "deploy: s3://no-such-bucket:" in result.output and "Traceback" not in result.output
