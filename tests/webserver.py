"""The URL contract a real web server must keep over a built site, shared by the nginx
and Apache tests: each test module starts its server (module fixtures ``site`` and
``server``) and subclasses ``UrlContract`` to run every check against it.
``nginx_serving`` starts Debian's nginx with the documented server block over any folder
(the nginx tests, and the deploy test that polls a release symlink through it)."""

from __future__ import annotations

import contextlib
import gzip
import http.client
import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import brotli
import pytest

from catalogue import hosting
from catalogue.steps.redirects import SERVER_FILES

from .conftest import ROOT, free_port


def request(
    port: int, path: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        headers = {k.lower(): v for k, v in response.getheaders()}
        return response.status, headers, response.read()
    finally:
        conn.close()


def location(headers: dict[str, str]) -> str:
    return urlsplit(headers["location"]).path


def wait_until_serving(proc: subprocess.Popen, port: int, name: str, log: Path) -> None:
    """Return once the server answers; fail with its own words if it dies or hangs."""
    deadline = time.monotonic() + 20
    while True:
        try:
            request(port, "/")
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                errors = proc.stderr.read().decode() if proc.stderr else ""
                logged = log.read_text() if log.exists() else ""
                pytest.fail(f"{name} did not start:\n{errors}\n{logged}")
            time.sleep(0.1)


NGINX = Path("/usr/sbin/nginx")
BROTLI_MODULES = tuple(
    Path("/usr/lib/nginx/modules") / f"ngx_http_brotli_{kind}_module.so"
    for kind in ("filter", "static")
)
DOC = ROOT / "docs" / "deploy-nginx.md"


def documented_config() -> str:
    """The first nginx block of docs/deploy-nginx.md, the one users copy."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## A working server block", 1)[1]
    found = re.search(r"```nginx\n(.*?)```", section, re.S)
    assert found, "docs/deploy-nginx.md lost its server block"
    return found.group(1)


def nginx_conf(prefix: Path, site: Path, port: int) -> str:
    """The documented block with its brotli line enabled (the modules are loaded here)."""
    block = documented_config()
    brotli = "# include /srv/catalogue/build/nginx-brotli.conf;"
    assert brotli in block, "docs/deploy-nginx.md lost its brotli line"
    for module in BROTLI_MODULES:
        assert module.is_file(), f"{module} not found: scripts/test installs Debian's module"
    block = block.replace(brotli, brotli.lstrip("# "))
    assert "/srv/catalogue/build" in block and "listen 80;" in block
    block = block.replace("/srv/catalogue/build", str(site)).replace(
        "listen 80;", f"listen 127.0.0.1:{port};"
    )
    modules = "".join(f"load_module {m};\n" for m in BROTLI_MODULES)
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers must read tmp_path
    temp = "\n".join(
        f"    {name}_temp_path {prefix / name};"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"{modules}daemon off;\n{user}worker_processes 1;\npid {prefix / 'nginx.pid'};\n"
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


@contextlib.contextmanager
def nginx_serving(root: Path, prefix: Path, port: int | None = None) -> Iterator[int]:
    """Debian's nginx with the documented server block over ``root``; yields its port
    (*port* when the site was built for a known address)."""
    if not NGINX.is_file():
        pytest.fail(f"{NGINX} not found: run scripts/test, which installs Debian's nginx")
    port = port or free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(nginx_conf(prefix, root, port), encoding="utf-8")
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
    try:
        wait_until_serving(proc, port, "nginx", log)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def assert_redirect(server: int, path: str, target: str) -> None:
    status, headers, _ = request(server, path)
    assert status == 301, path
    assert location(headers) == target
    status, _, _ = request(server, target)
    assert status == 200


# short links every server must redirect (tests/roots/lifecycle: S-BIAD5 is merged into
# S-BIAD1, S-BIAD3 is withdrawn); server modules add the variants they also handle
SHORT_LINKS = [
    ("/S-BIAD1", "/studies/S-BIAD1/"),
    ("/S-BIAD1/", "/studies/S-BIAD1/"),
    ("/s-biad1", "/studies/S-BIAD1/"),
    ("/s-biad1/", "/studies/S-BIAD1/"),
    ("/studies/s-biad1/", "/studies/S-BIAD1/"),
    ("/studies/s-biad1", "/studies/S-BIAD1/"),
    ("/studies/S-BIAD1", "/studies/S-BIAD1/"),
    ("/S-BIAD5", "/studies/S-BIAD1/"),
    ("/studies/S-BIAD5/", "/studies/S-BIAD1/"),
    ("/studies/S-BIAD5/files/images/", "/studies/S-BIAD1/"),
    ("/api/v1/studies/S-BIAD5.json", "/api/v1/studies/S-BIAD1.json"),
    ("/S-BIAD3", "/studies/S-BIAD3/"),
    ("/studies/S-BIAD3/files/images/", "/studies/S-BIAD3/"),
]


class UrlContract:
    """Every check of the URL contract; ``SITEMAP_TYPES`` is what the server may call XML."""

    SITEMAP_TYPES: tuple[str, ...] = ("application/xml", "text/xml")

    def test_every_sitemap_url_answers_200(self, server: int, site: Path):
        text = (site / "sitemap.xml").read_text()
        locs = re.findall(r"<loc>([^<]+)</loc>", text)
        assert len(locs) >= 4
        for loc in locs:
            status, headers, _ = request(server, urlsplit(loc).path)
            assert status == 200, loc
            assert headers["content-type"].startswith("text/html"), loc

    def test_every_url_of_urls_txt_answers(self, server: int, site: Path):
        """What urls.txt promises, the server keeps: a page, or a redirect to one."""
        for url in (site / "urls.txt").read_text().split():
            path = url[:-1] + "files/a/" if url.endswith("*") else url
            status, headers, _ = request(server, path)
            if status == 301:
                status, _, _ = request(server, location(headers))
            assert status == 200, url

    @pytest.mark.parametrize(("path", "target"), SHORT_LINKS)
    def test_short_links_redirect_with_301(self, server: int, path: str, target: str):
        assert_redirect(server, path, target)

    def test_the_study_page_is_not_redirected_to_itself(self, server: int):
        status, headers, body = request(server, "/studies/S-BIAD1/")
        assert status == 200 and "location" not in headers
        assert b"Worm fluorescence in sixteen bits" in body

    def test_unknown_path_gets_the_404_page(self, server: int, site: Path):
        for path in ("/no/such/page", "/studies/S-BIAD99/", "/S-BIAD99"):
            status, headers, body = request(server, path)
            assert status == 404, path
            assert body == (site / "404.html").read_bytes()
            assert headers["content-type"].startswith("text/html")

    def test_withdrawn_study_shows_its_tombstone(self, server: int):
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
    def test_embargoed_and_reserved_accessions_are_not_found(self, server: int, path: str):
        status, _, body = request(server, path)
        assert status == 404, path
        assert b"Page not found" in body

    @pytest.mark.parametrize(
        "path",
        [
            "/nginx-redirects.conf",
            "/nginx-redirects-map.conf",
            "/nginx-headers.conf",
            "/nginx-brotli.conf",
            "/.htaccess",
            "/_redirects",
            "/.catalogue-state.json",
        ],
    )
    def test_deployment_files_are_not_served(self, server: int, site: Path, path: str):
        status, _, body = request(server, path)
        assert status == 404
        assert body == (site / "404.html").read_bytes()

    def test_content_types(self, server: int, site: Path):
        thumb = next((site / "thumbnails").glob("*.webp")).name
        for path, kinds in [
            ("/api/v1/studies.json", ("application/json",)),
            (f"/thumbnails/{thumb}", ("image/webp",)),
            ("/static/style.css", ("text/css",)),
            ("/sitemap.xml", self.SITEMAP_TYPES),
            ("/urls.txt", ("text/plain",)),
        ]:
            status, headers, _ = request(server, path)
            assert status == 200, path
            assert headers["content-type"].startswith(kinds), (path, headers["content-type"])


def probe_files(site: Path) -> None:
    """Files of the kinds a site may carry that this test build has none of."""
    (site / "static" / "probe.wasm").write_bytes(b"\0asm\1\0\0\0" + bytes(range(256)) * 4)
    (site / "studies" / "probe.jsonld").write_text(
        '{"@context": "https://schema.org/", "name": "%s"}' % ("probe " * 100)
    )


def one_file_of_each_kind(site: Path) -> dict[str, str]:
    """One served file (URL path → file) per (suffix, lifetime) of the site."""
    chosen: dict[tuple[str, str], str] = {}
    for file in sorted(site.rglob("*")):
        rel = file.relative_to(site).as_posix()
        if not file.is_file() or rel in SERVER_FILES or file.name.startswith("."):
            continue
        key = (file.suffix, hosting.cache_control(rel))
        # prefer a file big enough to be compressed
        if key not in chosen or (site / chosen[key]).stat().st_size < file.stat().st_size:
            chosen[key] = rel
    return {"/" + rel: rel for rel in chosen.values()}


class HeaderContract:
    """Every generated file type answers with its type, compression and lifetime
    (catalogue/hosting.py), through the server's generated configuration."""

    BROTLI = True  # the server can compress with brotli

    def test_every_file_type_the_build_writes_has_a_declared_type(self, site: Path):
        suffixes = {
            p.suffix
            for p in site.rglob("*")
            if p.is_file() and not p.name.startswith(".") and p.name not in SERVER_FILES
        }
        # no suffix (OME-Zarr chunks such as 0/0/0) is rightly the default binary type
        assert suffixes - set(hosting.TYPES) - {""} == set()

    def test_each_kind_of_file_has_its_type_lifetime_and_common_headers(
        self, server: int, site: Path
    ):
        probe_files(site)
        files = one_file_of_each_kind(site)
        kinds = {p.rsplit(".", 1)[-1] for p in files}
        assert {"html", "json", "jsonld", "bib", "ris", "tsv", "webp", "wasm"} <= kinds
        for path, rel in files.items():
            status, headers, body = request(server, path)
            assert status == 200, path
            assert headers["content-type"].replace(" ", "").lower() == hosting.content_type(
                rel
            ).replace(" ", ""), (path, headers["content-type"])
            assert headers.get("cache-control") == hosting.cache_control(rel), path
            for name, value in hosting.COMMON_HEADERS.items():
                assert headers.get(name.lower()) == value, (path, name)
            assert "content-encoding" not in headers, path
            assert body == (site / rel).read_bytes(), path

    def test_entry_points_are_never_cached_and_hashed_files_are_immutable(self, server: int):
        for path in (
            "/",
            "/studies/S-BIAD1/",
            "/api/v1/studies.json",
            "/search/index/meta.json",
        ):
            assert request(server, path)[1]["cache-control"] == "no-cache", path
        status, headers, _ = request(server, "/no/such/page")
        assert status == 404 and headers["cache-control"] == "no-cache"

    @pytest.mark.parametrize("encoding", ["gzip", "br"])
    def test_text_types_are_compressed_and_others_are_not(
        self, server: int, site: Path, encoding: str
    ):
        if encoding == "br" and not self.BROTLI:
            pytest.fail("this server must compress with brotli too")
        probe_files(site)
        decode = gzip.decompress if encoding == "gzip" else brotli.decompress
        compressed = 0
        for path, rel in one_file_of_each_kind(site).items():
            size = (site / rel).stat().st_size
            status, headers, body = request(server, path, {"Accept-Encoding": encoding})
            assert status == 200, path
            if hosting.compressible(rel) and size >= 256:
                assert headers.get("content-encoding") == encoding, (path, headers)
                assert "accept-encoding" in headers.get("vary", "").lower(), path
                assert decode(body) == (site / rel).read_bytes(), path
                compressed += 1
            elif not hosting.compressible(rel):
                assert "content-encoding" not in headers, (path, headers)
                assert body == (site / rel).read_bytes(), path
        assert compressed >= 8
