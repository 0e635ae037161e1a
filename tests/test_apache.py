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

import http.client
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from .conftest import ROOT, ROOTS, build_site, free_port

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
        for name in ("mpm_event", "authz_core", "dir", "mime", "rewrite")
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
    deadline = time.monotonic() + 20
    while True:
        try:
            request(port, "/")
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                errors = proc.stderr.read().decode() if proc.stderr else ""
                logged = log.read_text() if log.exists() else ""
                pytest.fail(f"apache2 did not start:\n{errors}\n{logged}")
            time.sleep(0.1)
    yield port
    proc.terminate()
    proc.wait(timeout=10)
    # no request may have failed inside the server (an .htaccess it refused, say)
    assert "[core:alert]" not in log.read_text()


def request(port: int, path: str) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        headers = {k.lower(): v for k, v in response.getheaders()}
        return response.status, headers, response.read()
    finally:
        conn.close()


def location(headers: dict[str, str]) -> str:
    return urlsplit(headers["location"]).path


def test_every_sitemap_url_answers_200(server: int, site: Path):
    text = (site / "sitemap.xml").read_text()
    locs = re.findall(r"<loc>([^<]+)</loc>", text)
    assert len(locs) >= 4
    for loc in locs:
        status, headers, _ = request(server, urlsplit(loc).path)
        assert status == 200, loc
        assert headers["content-type"].startswith("text/html"), loc


def test_every_url_of_urls_txt_answers(server: int, site: Path):
    """What urls.txt promises, the server keeps: a page, or a redirect to one."""
    for url in (site / "urls.txt").read_text().split():
        path = url[:-1] + "files/a/" if url.endswith("*") else url
        status, headers, _ = request(server, path)
        if status == 301:
            status, _, _ = request(server, location(headers))
        assert status == 200, url


@pytest.mark.parametrize(
    ("path", "target"),
    [
        ("/S-BIAD1", "/studies/S-BIAD1/"),
        ("/S-BIAD1/", "/studies/S-BIAD1/"),
        ("/s-biad1", "/studies/S-BIAD1/"),
        ("/s-biad1/", "/studies/S-BIAD1/"),
        ("/studies/s-biad1/", "/studies/S-BIAD1/"),
        ("/studies/s-biad1", "/studies/S-BIAD1/"),
        ("/studies/S-BIAD1", "/studies/S-BIAD1/"),
        ("/S-BIAD5", "/studies/S-BIAD1/"),  # merged into S-BIAD1
        ("/s-biad5/", "/studies/S-BIAD1/"),
        ("/studies/S-BIAD5", "/studies/S-BIAD1/"),
        ("/studies/S-BIAD5/", "/studies/S-BIAD1/"),
        ("/studies/s-biad5/", "/studies/S-BIAD1/"),
        ("/studies/S-BIAD5/files/images/", "/studies/S-BIAD1/"),
        ("/api/v1/studies/S-BIAD5.json", "/api/v1/studies/S-BIAD1.json"),
        ("/S-BIAD3", "/studies/S-BIAD3/"),  # withdrawn: to its tombstone
        ("/studies/S-BIAD3/files/images/", "/studies/S-BIAD3/"),
    ],
)
def test_short_links_redirect_with_301(server: int, path: str, target: str):
    status, headers, _ = request(server, path)
    assert status == 301, path
    assert location(headers) == target
    status, _, _ = request(server, target)
    assert status == 200


def test_the_study_page_is_not_redirected_to_itself(server: int):
    status, headers, body = request(server, "/studies/S-BIAD1/")
    assert status == 200 and "location" not in headers
    assert b"Worm fluorescence in sixteen bits" in body


def test_unknown_path_gets_the_404_page(server: int, site: Path):
    for path in ("/no/such/page", "/studies/S-BIAD99/", "/S-BIAD99"):
        status, headers, body = request(server, path)
        assert status == 404, path
        assert body == (site / "404.html").read_bytes()
        assert headers["content-type"].startswith("text/html")


def test_withdrawn_study_shows_its_tombstone(server: int):
    status, headers, body = request(server, "/studies/S-BIAD3/")
    assert status == 200 and "location" not in headers
    assert b"S-BIAD3: withdrawn" in body
    assert b"The depositors found that the samples were mislabelled." in body
    status, _, body = request(server, "/api/v1/studies/S-BIAD3.json")
    assert status == 200 and b'"status": "withdrawn"' in body


@pytest.mark.parametrize(
    "path",
    [
        "/S-BIAD2",
        "/s-biad2/",
        "/studies/S-BIAD2/",
        "/studies/s-biad2/",
        "/api/v1/studies/S-BIAD2.json",
        "/S-BIAD7",  # renamed to the embargoed study
        "/studies/S-BIAD7/",
        "/S-BIAD4",  # reserved
        "/S-BIAD6",  # due on 2026-12-01
    ],
)
def test_embargoed_and_reserved_accessions_are_not_found(server: int, path: str):
    status, _, body = request(server, path)
    assert status == 404, path
    assert b"Page not found" in body


@pytest.mark.parametrize(
    "path",
    [
        "/nginx-redirects.conf",
        "/nginx-redirects-map.conf",
        "/.htaccess",
        "/_redirects",
        "/.catalogue-state.json",
    ],
)
def test_deployment_files_are_not_served(server: int, site: Path, path: str):
    status, _, body = request(server, path)
    assert status == 404
    assert body == (site / "404.html").read_bytes()


def test_content_types(server: int, site: Path):
    thumb = next((site / "thumbnails").glob("*.webp")).name
    for path, kinds in [
        ("/api/v1/studies.json", ("application/json",)),
        (f"/thumbnails/{thumb}", ("image/webp",)),
        ("/static/style.css", ("text/css",)),
        ("/sitemap.xml", ("application/xml", "text/xml")),
        ("/urls.txt", ("text/plain",)),
    ]:
        status, headers, _ = request(server, path)
        assert status == 200, path
        assert headers["content-type"].startswith(kinds), (path, headers["content-type"])
