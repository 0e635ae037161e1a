"""Shared fixtures: paths to the real samples, a built demo site, a real HTTP server."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from catalogue.pipeline.builder import BuildOptions, run_build

# the manifest summary cache of the test run stays in a folder of its own
os.environ.setdefault("CATALOGUE_CACHE_DIR", tempfile.mkdtemp(prefix="catalogue-test-cache-"))
# every study group reused from a previous build is planned too and compared, so that a
# group key that misses an input fails the suite (catalogue/pipeline/groups.py)
os.environ.setdefault("CATALOGUE_CHECK_GROUPS", "1")

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "tests" / "data"
DEMO = ROOT / "content"
ROOTS = Path(__file__).resolve().parent / "roots"
TODAY = dt.date(2026, 11, 25)


def samples_dir() -> Path:
    """The real sample data kept in tests/data; its absence is an error, never a skip."""
    if not SAMPLES.is_dir():
        raise FileNotFoundError(f"test data not found at {SAMPLES}: the checkout is incomplete")
    return SAMPLES


def copy_root(tmp_path: Path, name: str) -> Path:
    """A writable copy of tests/roots/<name>/content, for a test that edits it."""
    content = tmp_path / "content"
    shutil.copytree(ROOTS / name / "content", content)
    return content


def build_site(content: Path, out: Path, today: dt.date = TODAY, **kw: object) -> list[str]:
    messages: list[str] = []
    ok = run_build(BuildOptions(content=content, out=out, today=today, **kw), echo=messages.append)
    assert ok, "\n".join(messages)
    return messages


@pytest.fixture(scope="session")
def demo_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "build"
    build_site(DEMO, out)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def demo_server(demo_site: Path) -> Iterator[str]:
    """`catalogue serve` over the demo build, as a user would start it."""
    port = free_port()
    exe = shutil.which("catalogue") or sys.executable
    cmd = [exe, "serve", "--out", str(demo_site), "--port", str(port)]
    if exe == sys.executable:
        cmd = [sys.executable, "-m", "catalogue", *cmd[1:]]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            urllib.request.urlopen(url + "/", timeout=1).read()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                out = proc.stdout.read().decode() if proc.stdout else ""
                raise RuntimeError(f"catalogue serve did not start:\n{out}") from None
            time.sleep(0.1)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def site_files(site: Path) -> Iterator[tuple[Path, bytes]]:
    """Every output file with its readable bytes (gzipped files decompressed, Parquet
    tables as their rows), so that a leak check also looks inside anything compressed and
    the bulk tables."""
    import gzip

    for path in sorted(site.rglob("*")):
        if not path.is_file():
            continue
        data = path.read_bytes()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        elif path.suffix == ".parquet":  # compressed columns: compare their values
            import json

            import pyarrow.parquet as pq

            rows = pq.read_table(path).to_pylist()
            data = json.dumps(rows, default=str, ensure_ascii=False).encode()
        yield path, data


def tree_digest(site: Path) -> dict[str, str]:
    import hashlib

    return {
        str(p.relative_to(site)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(site.rglob("*"))
        if p.is_file()
    }


# --- a real browser: Debian's Chromium driven by Playwright ---------------------------

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture()
def page(browser: Browser) -> Iterator[tuple[Page, list[str]]]:
    context = browser.new_context()
    pg = context.new_page()
    problems: list[str] = []

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type in ("error", "warning") and "favicon" not in msg.text:
            problems.append(f"{msg.type}: {msg.text}")

    pg.on("console", on_console)
    pg.on("pageerror", lambda exc: problems.append(f"pageerror: {exc}"))
    # a request cancelled because the page navigated away is not a fault a reader sees
    pg.on(
        "requestfailed",
        lambda req: (
            None
            if "ERR_ABORTED" in (req.failure or "")
            else problems.append(f"requestfailed: {req.url} {req.failure}")
        ),
    )
    pg.on(
        "response",
        lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None,
    )
    yield pg, problems
    context.close()
