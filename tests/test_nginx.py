"""The built site behind a real nginx, configured with the server block of
docs/deploy-nginx.md and the rules the build generates.

nginx is Debian's package (scripts/test installs it). Its absence is a failure, never
a skip: the URL contract is only proven against a real web server.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import ROOTS, build_site
from .webserver import HeaderContract, UrlContract, assert_redirect, nginx_serving


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
    with nginx_serving(site, tmp_path_factory.mktemp("nginx")) as port:
        yield port


@pytest.mark.parametrize(
    ("path", "target"),
    [
        ("/S-Biad1", "/studies/S-BIAD1/"),  # mixed case: nginx maps case-insensitively
    ],
)
def test_nginx_also_redirects(server: int, path: str, target: str):
    assert_redirect(server, path, target)


class TestNginxUrlContract(UrlContract, HeaderContract):
    """Every shared check, against nginx."""
