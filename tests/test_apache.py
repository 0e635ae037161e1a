"""The built site behind a real Apache, configured with the virtual host of
docs/deploy-apache.md and the .htaccess the build generates.

Apache is Debian's package (scripts/test installs it). Its absence is a failure, never
a skip: the URL contract is only proven against a real web server.

Apache runs in the foreground with a configuration of its own (server root, pid file,
logs and mutexes in a temporary folder; only the modules the site needs). Started as
root it drops to www-data, which cannot enter pytest's private temporary folder, so the
site is built in a folder of its own that everyone may read.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import ROOT, ROOTS, build_site, free_port
from .webserver import HeaderContract, UrlContract, assert_redirect, wait_until_serving

APACHE = Path(shutil.which("apache2") or "/usr/sbin/apache2")
MODULES = Path("/usr/lib/apache2/modules")
DOC = ROOT / "docs" / "deploy-apache.md"


def documented_config() -> str:
    """The apache block of docs/deploy-apache.md, the one users copy."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## A working virtual host", 1)[1]
    found = re.search(r"```apache\n(.*?)```", section, re.S)
    assert found, "docs/deploy-apache.md lost its virtual host"
    return found.group(1)


def apache_conf(prefix: Path, site: Path, port: int) -> str:
    block = documented_config()
    assert "/srv/catalogue/build" in block and "<VirtualHost *:80>" in block
    block = block.replace("/srv/catalogue/build", str(site)).replace(
        "<VirtualHost *:80>", f"<VirtualHost 127.0.0.1:{port}>"
    )
    modules = "".join(
        f"LoadModule {name}_module {MODULES / f'mod_{name}.so'}\n"
        for name in (
            "mpm_event",
            "authz_core",
            "dir",
            "mime",
            "rewrite",
            "headers",
            "filter",
            "deflate",
            "brotli",
        )
    )
    user = "User www-data\nGroup www-data\n" if os.geteuid() == 0 else ""
    return (
        f"ServerRoot {prefix}\n"
        f"DefaultRuntimeDir {prefix}\n"
        f"PidFile {prefix / 'apache2.pid'}\n"
        f"ErrorLog {prefix / 'error.log'}\n"
        "LogLevel warn\n"
        f"Mutex file:{prefix} default\n"
        f"{modules}"
        f"{user}"
        "ServerName 127.0.0.1\n"
        f"Listen 127.0.0.1:{port}\n"
        "TypesConfig /etc/mime.types\n"
        "StartServers 1\n"
        "ServerLimit 1\n"
        "ThreadsPerChild 8\n"
        "MaxRequestWorkers 8\n"
        f"{block}"
    )


@pytest.fixture(scope="module")
def site() -> Iterator[Path]:
    work = Path(tempfile.mkdtemp(prefix="catalogue-apache-"))
    try:
        work.chmod(0o755)  # the server's user must read it
        content = work / "content"
        shutil.copytree(ROOTS / "lifecycle" / "content", content)
        out = work / "build"
        build_site(content, out)
        yield out
    finally:
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="module")
def server(site: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    if not APACHE.is_file():
        pytest.fail(f"{APACHE} not found: run scripts/test, which installs Debian's apache2")
    prefix = tmp_path_factory.mktemp("apache")
    port = free_port()
    conf = prefix / "apache2.conf"
    conf.write_text(apache_conf(prefix, site, port), encoding="utf-8")
    log = prefix / "error.log"
    # Debian's apache2ctl reads /etc/apache2/envvars; the binary itself needs none of it
    env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"), "LANG": "C"}
    check = subprocess.run(
        [str(APACHE), "-t", "-f", str(conf)], capture_output=True, text=True, env=env
    )
    assert check.returncode == 0, check.stderr
    proc = subprocess.Popen(
        [str(APACHE), "-DFOREGROUND", "-f", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    wait_until_serving(proc, port, "apache2", log)
    yield port
    proc.terminate()
    proc.wait(timeout=10)
    # no request may have failed inside the server (an .htaccess it refused, say)
    assert "[core:alert]" not in log.read_text()


@pytest.mark.parametrize(
    ("path", "target"),
    [
        ("/s-biad5/", "/studies/S-BIAD1/"),
        ("/studies/S-BIAD5", "/studies/S-BIAD1/"),
        ("/studies/s-biad5/", "/studies/S-BIAD1/"),
    ],
)
def test_apache_also_redirects(server: int, path: str, target: str):
    assert_redirect(server, path, target)


class TestApacheUrlContract(UrlContract, HeaderContract):
    """The shared checks, against Apache (which may call the sitemap application/xml)."""
