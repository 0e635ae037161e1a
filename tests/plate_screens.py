"""A screen of many 96-well plates, for the plate map at archive scale: the content tree
and what a reader measures in Chromium. Used by tests/test_plates.py (1,000 plates, with
bounds) and scripts/bench_plates.py (the figures, against the demo's screen)."""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

ROWS = "ABCDEFGH"
ACCESSION = "S-BIAD1"
DATASET = "screen"
PAGE = f"/studies/{ACCESSION}/files/{DATASET}/"


def write_screen(content: Path, plates: int = 1000, seed: int = 1) -> int:
    """A content tree of one screen of ``plates`` 96-well plates; returns the row count.

    Compounds are drawn from 2,000 names, so the Compound column has too many values for
    a list (it gets the value picker); columns 1 and 12 are controls, as on most screens.
    """
    rng = random.Random(seed)
    (content / "studies" / ACCESSION).mkdir(parents=True, exist_ok=True)
    (content / "site.yaml").write_text(
        "format: 1\ntitle: Plate trial\nbase_url: http://localhost:8000\n"
        "data_url: https://data.example.org/pub\nlicenses: [CC0-1.0]\n"
        "collections:\n  direct: {title: Direct submissions}\n",
        encoding="utf-8",
    )
    (content / "accessions.tsv").write_text(
        f"accession\tcreated\tnote\n{ACCESSION}\t2024-01-01\t\n", encoding="utf-8"
    )
    (content / "studies" / ACCESSION / "study.yaml").write_text(
        f"format: 1\naccession: {ACCESSION}\ntitle: A screen of {plates:,} plates\n"
        "release_date: 2024-01-01\nlicense: CC0-1.0\n"
        "description: Synthetic 96-well screen for the plate map trial.\n"
        "authors: [{name: A. Tester}]\n"
        f"datasets:\n  - {{id: {DATASET}, title: Screen, files: {DATASET}.files.tsv}}\n",
        encoding="utf-8",
    )
    compounds = [f"CPD-{n:05d}" for n in range(2000)]
    lines = ["path\tsize\tsha256\tPlate\tWell\tCompound\tControl Type\tPercentage Inhibition"]
    for p in range(plates):
        plate = f"P{p + 1:04d}"
        for r in ROWS:
            for c in range(1, 13):
                control = "negative" if c == 1 else "positive" if c == 12 else ""
                compound = (
                    "DMSO" if c == 1 else "staurosporine" if c == 12 else rng.choice(compounds)
                )
                inhibition = f"{rng.uniform(-20, 120):.2f}".replace(".", ",")
                size = 1_000_000 + rng.randrange(1_000_000)
                lines.append(
                    f"{plate}/{r}{c:02d}.tif\t{size}\t\t{plate}\t{r}{c:02d}\t{compound}\t"
                    f"{control}\t{inhibition}"
                )
    manifest = content / "studies" / ACCESSION / f"{DATASET}.files.tsv"
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines) - 1


def measure(page: Any, url: str, plate: str, well: str, files: int) -> dict[str, float]:
    """Seconds from each action to what a reader sees; ``plate`` is one to jump to."""
    from playwright.sync_api import expect

    out: dict[str, float] = {}
    data_bytes = 0

    def on_response(response: Any) -> None:
        nonlocal data_bytes
        if "/data/plates" in response.url:
            data_bytes += len(response.body())

    page.on("response", on_response)
    start = time.perf_counter()
    page.goto(url, wait_until="commit")
    wells = page.locator("#plate-grid button.well")
    expect(wells.first).to_be_visible(timeout=60_000)
    out["load: first plate drawn"] = time.perf_counter() - start
    expect(page.locator("#ff-status")).to_contain_text(
        f"{files:,} of {files:,} files match", timeout=60_000
    )
    out["load: file table ready"] = time.perf_counter() - start
    out["plate data fetched (KB)"] = data_bytes / 1000

    start = time.perf_counter()
    page.locator("#plate-pick").select_option(plate)
    expect(page.locator("#plate-status")).to_contain_text(f"Plate {plate}:")
    expect(page.locator("#ff-status")).to_contain_text(" of ")  # table filtered to it
    expect(page.locator("#ff-status")).not_to_contain_text(f"{files:,} of")
    out["show a plate from the picker"] = time.perf_counter() - start

    start = time.perf_counter()
    page.get_by_role("button", name="Next plate").click()
    expect(page.locator("#plate-status")).not_to_contain_text(f"Plate {plate}:")
    out["next plate"] = time.perf_counter() - start
    page.get_by_role("button", name="Previous plate").click()
    expect(page.locator("#plate-status")).to_contain_text(f"Plate {plate}:")

    start = time.perf_counter()
    page.locator(f'#plate-grid button[data-well="{well}"]').click()
    expect(page.locator("#ff-status")).to_contain_text(f"1 of {files:,} files match")
    out["choose a well: file table filtered"] = time.perf_counter() - start

    value = page.locator(f'#plate-grid button[data-well="{well}"]').get_attribute("aria-label")
    compound = value.split("Compound: ", 1)[1].split(" · ", 1)[0]
    find = page.get_by_label("Find a value")
    start = time.perf_counter()
    find.fill(compound)
    find.dispatch_event("change")
    expect(page.locator("#plate-grid button.well:not(.dim)").first).to_be_visible()
    expect(page.locator("#ff-status")).not_to_contain_text(f"{files:,} of")
    out["find a value on the plate"] = time.perf_counter() - start
    page.remove_listener("response", on_response)
    return out
