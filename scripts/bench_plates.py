#!/usr/bin/env python3
"""The plate map of a screen of 1,000 plates x 96 wells, in Chromium.

Writes a content tree with one study whose manifest has 1,000 plates of 96 wells (one
file a well: Plate, Well, Compound, Control Type and a Percentage Inhibition readout
with decimal commas, as plate readers write it), builds it, serves it on 127.0.0.1 and
opens the file page in Debian's Chromium (Playwright). Measured, as a reader meets them:

  - build time of the study;
  - load: from navigation to the first plate drawn (96 wells), and to the file table
    ready; the bytes of plate data fetched (index + one shard);
  - interactions, from the action to what the reader sees: show plate 700 from the
    picker, the next plate, a well chosen (the file table filtered to its file), a
    value typed in "Find a value";

and, as the reference in the same invocation, the same load and interactions on the
demo's screen (21 plates). ``python scripts/bench_plates.py [--plates 1000] [--repeat 3]``

The screen and the measurements are tests/plate_screens.py, shared with
tests/test_plates.py, which asserts bounds on the same figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.plate_screens import PAGE, measure, write_screen  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plates", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from catalogue.pipeline.builder import BuildOptions, run_build
    from catalogue.publish.serve import make_server

    with tempfile.TemporaryDirectory(prefix="bench-plates-") as tmp:
        content = Path(tmp) / "content"
        files = write_screen(content, args.plates)
        out = Path(tmp) / "site"
        start = time.perf_counter()
        messages: list[str] = []
        ok = run_build(
            BuildOptions(content=content, out=out, today=dt.date(2026, 1, 1)),
            echo=messages.append,
        )
        if not ok:
            sys.exit("\n".join(messages))
        took = time.perf_counter() - start
        print(f"build of {args.plates:,} plates ({files:,} files): {took:.1f} s")
        demo = Path(tmp) / "demo"
        run_build(
            BuildOptions(content=ROOT / "content", out=demo, today=dt.date(2026, 11, 25)),
            echo=lambda _m: None,
        )
        servers = [make_server(root, "127.0.0.1", 0) for root in (out, demo)]
        for server in servers:
            threading.Thread(target=server.serve_forever, daemon=True).start()
        big = f"http://127.0.0.1:{servers[0].server_address[1]}{PAGE}"
        ref = f"http://127.0.0.1:{servers[1].server_address[1]}/studies/S-BIAD9001/files/screen-a/"
        results: dict[str, dict[str, list[float]]] = {"trial": {}, "reference": {}}
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path="/usr/bin/chromium", args=["--headless=new", "--no-sandbox"]
            )
            for _ in range(args.repeat):
                for name, url, plate, n in (
                    ("trial", big, f"P{min(700, args.plates):04d}", files),
                    ("reference", ref, "ESP0025775", 2000),
                ):
                    context = browser.new_context()
                    page = context.new_page()
                    for k, v in measure(page, url, plate, "C07", n).items():
                        results[name].setdefault(k, []).append(v)
                    context.close()
            browser.close()
        for server in servers:
            server.shutdown()
        print(f"{'median of ' + str(args.repeat):38} {args.plates:>6,} plates   demo (21 plates)")
        for key, values in results["trial"].items():
            ref_values = results["reference"].get(key, [float("nan")])
            unit = "" if "KB" in key else " s"
            mine, theirs = statistics.median(values), statistics.median(ref_values)
            print(f"{key:38} {mine:>9.2f}{unit}   {theirs:>9.2f}{unit}")


if __name__ == "__main__":
    main()
