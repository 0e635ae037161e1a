"""Regenerate docs/screenshots/: every page type of the demo at phone and desktop width.

Builds the demo content (content/) into a temporary folder, serves it with `catalogue serve`
on 127.0.0.1 and photographs each page type with Debian's Chromium driven by Playwright:

    PYTHONPATH=. python3 scripts/screenshots.py            # light theme, phone + desktop
    PYTHONPATH=. python3 scripts/screenshots.py --dark     # also the dark theme
    PYTHONPATH=. python3 scripts/screenshots.py --out /tmp/shots --only study

Each picture is the first screen and a little more (the viewport, not the whole page), so
that what a reader sees before scrolling is what gets reviewed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
TODAY = dt.date(2026, 11, 25)

# page type -> path on the demo site
PAGES = {
    "home": "/",
    "browse": "/studies/",
    "study": "/studies/S-BIAD9001/",
    "study-images": "/studies/S-BIAD1492/",
    "study-zarr": "/studies/S-BIAD9009/",
    "files": "/studies/S-BIAD9001/files/screen-a/",
    "files-zarr": "/studies/S-BIAD9009/files/image/",
    "search": "/search/?q=cell",
    "stats": "/stats/",
    "tombstone": "/studies/S-BIAD3/",  # from tests/roots/lifecycle (the demo has none)
    "404": "/no-such-page/",
}
WIDTHS = {"phone": (390, 844), "desktop": (1280, 900)}


def build(content: Path, out: Path) -> None:
    from catalogue.pipeline.builder import BuildOptions, run_build

    ok = run_build(BuildOptions(content=content, out=out, today=TODAY), echo=print)
    if not ok:
        sys.exit(f"screenshots: {content} did not build")


def serve(site: Path, port: int) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "catalogue", "serve", "--out", str(site), "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).read()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    sys.exit("screenshots: catalogue serve did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--dark", action="store_true", help="also take the dark theme")
    parser.add_argument("--only", nargs="*", help="page types to take (default: all)")
    parser.add_argument("--full", action="store_true", help="whole page, not the first screen")
    args = parser.parse_args()
    import socket

    ports = []
    for _ in range(2):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            ports.append(int(s.getsockname()[1]))
    port, other = ports
    tmp = Path(tempfile.mkdtemp(prefix="catalogue-shots-"))
    try:
        build(ROOT / "content", tmp / "site")
        build(ROOT / "tests" / "roots" / "lifecycle" / "content", tmp / "lifecycle")
        proc = serve(tmp / "site", port)
        proc2 = serve(tmp / "lifecycle", other)
        args.out.mkdir(parents=True, exist_ok=True)
        schemes = ["light", "dark"] if args.dark else ["light"]
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=CHROMIUM, args=["--headless=new", "--no-sandbox"]
                )
                for scheme in schemes:
                    for device, (w, h) in WIDTHS.items():
                        context = browser.new_context(
                            viewport={"width": w, "height": h}, color_scheme=scheme
                        )
                        page = context.new_page()
                        for name, path in PAGES.items():
                            if args.only and name not in args.only:
                                continue
                            at = other if name == "tombstone" else port
                            page.goto(f"http://127.0.0.1:{at}{path}", wait_until="networkidle")
                            page.wait_for_timeout(300)
                            suffix = "" if scheme == "light" else "-dark"
                            target = args.out / f"{name}-{device}{suffix}.png"
                            page.screenshot(path=str(target), full_page=args.full)
                            print(
                                target.relative_to(ROOT) if target.is_relative_to(ROOT) else target
                            )
                        context.close()
                browser.close()
        finally:
            for p in (proc, proc2):
                p.terminate()
                p.wait(timeout=10)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
