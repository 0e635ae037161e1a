"""Every bulk download recipe printed on a study page, run as printed against real servers.

The site and the data are served by Debian's nginx (the documented server block), the rsync
recipe by a real rsync daemon, the S3 recipe by the AWS CLI against moto's S3 server. The
study has two files of the same name in different folders and a name with a space: each
recipe must reproduce the study's folders exactly, and the "check the files" step must
fetch the checksum list it verifies and pass.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import build_site, copy_root, free_port, tree_digest
from .webserver import nginx_serving

ACC = "S-BIAD1"
FILES = {
    "plate1/A01.tif": b"plate one, well A01\n",
    "plate2/A01.tif": b"plate two, well A01 (same name, other folder)\n",
    "notes/read me.txt": b"a name with a space\n",
    "top.txt": b"at the top of the study\n",
}


def _tools() -> None:
    for tool in ("wget", "curl", "aria2c", "rsync", "sha256sum"):
        if not shutil.which(tool):
            pytest.fail(f"{tool} not found: run scripts/test, which installs it from Debian")
    if not shutil.which("aws"):
        pytest.fail("the AWS CLI (aws) is not installed: pip install -e '.[test]'")


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    _tools()
    work = tmp_path_factory.mktemp("downloads")
    web, rsync_port, s3_port = free_port(), free_port(), free_port()
    content = copy_root(work, "minimal")
    site_yaml = content / "site.yaml"
    text = site_yaml.read_text()
    text = text.replace("base_url: http://localhost:8000", f"base_url: http://127.0.0.1:{web}")
    text = text.replace(
        "data_url: https://data.example.org/pub", f"data_url: http://127.0.0.1:{web}/pub"
    )
    text += (
        f"downloads:\n  rsync_url: rsync://127.0.0.1:{rsync_port}/pub\n"
        f"  s3: {{bucket: demo, endpoint: 'http://127.0.0.1:{s3_port}', prefix: pub,"
        " anonymous: true}\n"
    )
    site_yaml.write_text(text)
    study = content / "studies" / ACC / "study.yaml"
    study.write_text(study.read_text().replace("    representative: worm.tif\n", ""))
    rows = ["path\tsize\tsha256\tChannel"]
    for path, data in FILES.items():
        rows.append(f"{path}\t{len(data)}\t{hashlib.sha256(data).hexdigest()}\tFITC")
    (content / "studies" / ACC / "images.files.tsv").write_text("\n".join(rows) + "\n")
    out = work / "build"
    build_site(content, out)
    # the data host: the same nginx serves /pub/<ACC>/<path>
    for path, data in FILES.items():
        target = out / "pub" / ACC / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    rsyncd = _rsync_daemon(work, out / "pub", rsync_port)
    moto = _moto(s3_port)
    try:
        (work / "nginx").mkdir()
        with nginx_serving(out, work / "nginx", port=web):
            yield {"site": out, "web": web, "s3": f"http://127.0.0.1:{s3_port}"}
    finally:
        for proc in (rsyncd, moto):
            proc.terminate()
            proc.wait(timeout=10)


def _rsync_daemon(work: Path, root: Path, port: int) -> subprocess.Popen[bytes]:
    conf = work / "rsyncd.conf"
    conf.write_text(
        f"pid file = {work / 'rsyncd.pid'}\nuse chroot = no\n[pub]\n  path = {root}\n"
        "  read only = yes\n  uid = root\n  gid = root\n"
    )
    proc = subprocess.Popen(
        ["rsync", "--daemon", "--no-detach", f"--config={conf}", f"--port={port}",
         "--address=127.0.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while subprocess.run(["rsync", f"rsync://127.0.0.1:{port}/"], capture_output=True).returncode:
        assert time.monotonic() < deadline and proc.poll() is None, "rsync daemon did not start"
        time.sleep(0.1)
    return proc


def _moto(port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}", timeout=1)
            break
        except OSError as exc:
            if getattr(exc, "code", None):
                break
            assert time.monotonic() < deadline and proc.poll() is None, "moto did not start"
            time.sleep(0.2)
    import boto3

    s3 = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{port}",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name="us-east-1",
    )
    s3.create_bucket(Bucket="demo")
    # a public archive's bucket: anyone may read (what --no-sign-request relies on)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": ["s3:GetObject", "s3:ListBucket"],
                "Resource": ["arn:aws:s3:::demo", "arn:aws:s3:::demo/*"],
            }
        ],
    }
    s3.put_bucket_policy(Bucket="demo", Policy=json.dumps(policy))
    for path, data in FILES.items():
        s3.put_object(Bucket="demo", Key=f"pub/{ACC}/{path}", Body=data)
    return proc


def recipes(page: Path) -> dict[str, str]:
    """tool -> command, exactly as the study page prints them."""
    text = page.read_text(encoding="utf-8")
    block = re.search(r'<details class="commands".*?</details>', text, re.S)
    assert block, f"no download commands on {page}"
    found = re.findall(r"<dt>(.*?)</dt><dd><code>(.*?)</code></dd>", block.group(0), re.S)
    return {html.unescape(t): html.unescape(c) for t, c in found}


def run(cmd: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(cwd),
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    aws = shutil.which("aws")
    if aws:
        env["PATH"] = str(Path(aws).parent) + ":" + env["PATH"]
    return subprocess.run(
        ["bash", "-c", cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def expected_tree() -> dict[str, str]:
    return {f"{ACC}/{p}": hashlib.sha256(d).hexdigest() for p, d in FILES.items()}


@pytest.mark.parametrize("tool", ["wget", "aria2c", "curl", "rsync", "S3"])
def test_recipe_keeps_the_study_folders_and_verifies(servers, tool: str, tmp_path: Path):
    commands = recipes(servers["site"] / "studies" / ACC / "index.html")
    assert set(commands) == {"wget", "aria2c", "curl", "rsync", "S3", "Check the files"}
    done = run(commands[tool], tmp_path)
    assert done.returncode == 0, f"{commands[tool]}\n{done.stdout}\n{done.stderr}"
    got = {
        k: v
        for k, v in tree_digest(tmp_path).items()
        if k.startswith(f"{ACC}/")  # the recipe's own list (aria2.txt, curl.txt) sits beside
    }
    assert got == expected_tree(), commands[tool]
    check = run(commands["Check the files"], tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
    assert sorted(check.stdout.splitlines()) == sorted(f"{p}: OK" for p in FILES)


def test_dataset_page_recipes_fetch_that_dataset(servers, tmp_path: Path):
    page = servers["site"] / "studies" / ACC / "files" / "images" / "index.html"
    commands = recipes(page)
    done = run(commands["wget"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert {k for k in tree_digest(tmp_path) if k.startswith(ACC)} == set(expected_tree())
    check = run(commands["Check the files"], tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
