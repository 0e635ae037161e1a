"""The built site behind a real nginx, configured with the server block of
docs/deploy-nginx.md and the rules the build generates.

nginx is Debian's package (scripts/test installs it). Its absence is a failure, never
a skip: the URL contract is only proven against a real web server.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import ROOT, ROOTS, build_site, free_port
from .webserver import UrlContract, assert_redirect, wait_until_serving

NGINX = Path("/usr/sbin/nginx")
DOC = ROOT / "docs" / "deploy-nginx.md"


def documented_config() -> str:
    """The first nginx block of docs/deploy-nginx.md, the one users copy."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## A working server block", 1)[1]
    found = re.search(r"```nginx\n(.*?)```", section, re.S)
    assert found, "docs/deploy-nginx.md lost its server block"
    return found.group(1)


def nginx_conf(prefix: Path, site: Path, port: int) -> str:
    block = documented_config()
    assert "/srv/catalogue/build" in block and "listen 80;" in block
    block = block.replace("/srv/catalogue/build", str(site)).replace(
        "listen 80;", f"listen 127.0.0.1:{port};"
    )
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers must read tmp_path
    temp = "\n".join(
        f"    {name}_temp_path {prefix / name};"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"daemon off;\n{user}worker_processes 1;\npid {prefix / 'nginx.pid'};\n"
        f"error_log {prefix / 'error.log'};\n"
        "events { worker_connections 64; }\n"
        "http {\n"
        "    include /etc/nginx/mime.types;\n"
        "    default_type application/octet-stream;\n"
        "    access_log off;\n"
        f"{temp}\n"
        f"{block}\n"
        "}\n"
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("nginx-site")
    content = work / "content"
    shutil.copytree(ROOTS / "lifecycle" / "content", content)
    out = work / "build"
    build_site(content, out)
    return out


@pytest.fixture(scope="module")
def server(site: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    if not NGINX.is_file():
        pytest.fail(f"{NGINX} not found: run scripts/test, which installs Debian's nginx")
    prefix = tmp_path_factory.mktemp("nginx")
    port = free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(nginx_conf(prefix, site, port), encoding="utf-8")
    log = prefix / "error.log"
    check = subprocess.run(
        [str(NGINX), "-t", "-p", str(prefix), "-c", str(conf), "-e", str(log)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stderr
    proc = subprocess.Popen(
        [str(NGINX), "-p", str(prefix), "-c", str(conf), "-e", str(log)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    wait_until_serving(proc, port, "nginx", log)
    yield port
    proc.terminate()
    proc.wait(timeout=10)


@pytest.mark.parametrize(
    ("path", "target"),
    [
        ("/S-Biad1", "/studies/S-BIAD1/"),  # mixed case: nginx maps case-insensitively
    ],
)
def test_nginx_also_redirects(server: int, path: str, target: str):
    assert_redirect(server, path, target)


class TestNginxUrlContract(UrlContract):
    SITEMAP_TYPES = ("text/xml",)
