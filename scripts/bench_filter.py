#!/usr/bin/env python3
"""Browser filter speed of the file table on a synthetic dataset (default 100,000 rows).

Builds a synthetic tree (scripts/synth.py), serves it on 127.0.0.1, opens the dataset's
file table in Debian's Chromium (Playwright) and measures, from the moment an input
changes to the moment the table shows the result:
  - a value filter (Channel = GFP), a substring filter (path contains "A07"),
    free text over all columns, and a sort by size,
  - against a reference in the same page: a naive main-thread filter over an array of
    row objects (the usual approach), doing the same substring test.
The first load (fetching the column chunks) is reported separately.

Usage: python scripts/bench_filter.py [--rows 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from catalogue.pipeline.builder import BuildOptions, run_build
from catalogue.publish.serve import make_server

HERE = Path(__file__).resolve().parent
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


# The usual approach, for reference: an array of row objects filtered on the main thread.
NAIVE = """async () => {
  const rows = [];
  for (let i = 0; i < %d; i++) {
    rows.push({path: `P${i >> 13}/A${i %% 24}/f_${i}.ome.tif`,
               channel: ["DAPI", "GFP", "mCherry", "Cy5"][i %% 4], size: i * 7});
  }
  const t = performance.now();
  const hit = rows.filter((r) => r.path.toLowerCase().includes("a07") && r.channel === "GFP");
  const total = hit.reduce((s, r) => s + r.size, 0);
  return [performance.now() - t, total];
}"""


def measure(browser, url: str, rows: int, results: dict[str, list[float]]) -> None:
    """One fresh page: first load, then each filter, then the naive reference."""
    # the waits below are JavaScript strings, which the site's CSP (no eval) would refuse
    page = browser.new_page(bypass_csp=True)
    t0 = time.perf_counter()
    page.goto(url)
    page.wait_for_function(
        "document.getElementById('browser').dataset.ready === '1'", timeout=60_000
    )
    results.setdefault("first load (fetch chunks, first page)", []).append(time.perf_counter() - t0)

    def timed(name: str, action, expect: str, debounce: bool = True) -> None:
        page.evaluate("document.getElementById('ff-status').textContent = ''")
        start = time.perf_counter()
        action()
        page.wait_for_function(
            f"document.getElementById('ff-status').textContent.includes({expect!r})",
            timeout=60_000,
        )
        # typing waits 150 ms after the last keystroke before filtering (debounce)
        delay = 0.15 if debounce else 0.0
        results.setdefault(name, []).append(time.perf_counter() - start - delay)

    timed(
        "value filter Channel = GFP",
        lambda: page.get_by_label("Channel", exact=True).select_option("GFP"),
        "files match",
    )
    timed(
        "substring filter path contains A07 (with Channel)",
        lambda: page.get_by_label("path contains").fill("A07"),
        "files match",
    )
    timed(
        "free text over all columns",
        lambda: page.get_by_label("Search all columns").fill("taxol"),
        "files match",
    )
    page.get_by_role("button", name="Clear filters").click()
    page.wait_for_function(
        f"document.getElementById('ff-status').textContent.startsWith('{rows:,}')"
    )
    timed(
        "sort by size (all rows)",
        lambda: page.locator("#ff-table th button", has_text="size").click(),
        "files match",
        debounce=False,
    )
    ref = page.evaluate(NAIVE % rows)
    results.setdefault("reference: naive main-thread filter (compute only)", []).append(
        ref[0] / 1000
    )
    page.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-filter-"))
    content, out = work / "content", work / "build"
    subprocess.run(
        [
            sys.executable,
            str(HERE / "synth.py"),
            "--studies",
            "1",
            "--files-per-study",
            "10",
            "--big-study-files",
            str(args.rows),
            "--out",
            str(content),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    assert run_build(
        BuildOptions(content=content, out=out, today=dt.date(2030, 1, 1)), echo=lambda m: None
    )
    server = make_server(out, "127.0.0.1", 0)
    import threading

    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/studies/S-BIAD2/files/screen/"
    results: dict[str, list[float]] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        for _ in range(args.repeat):
            measure(browser, url, args.rows, results)
        browser.close()
    server.shutdown()
    print(f"file table of {args.rows:,} rows, median of {args.repeat} (seconds)")
    for name, values in results.items():
        print(f"  {name:55s} {statistics.median(values):6.3f}")
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
