"""Plate maps of screens and numbers with decimal commas: the build side, then a reader in
Chromium doing the IDR idr0094 "Fig 2" task on the demo screen (find a compound's wells,
read its inhibition, get the files)."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from catalogue.publish.serve import make_server
from catalogue.steps.files import ColumnStats
from catalogue.steps.plates import (
    PlateCollector,
    parse_well,
    plate_columns,
    shard_count,
    shard_of,
    well_label,
)

from .conftest import build_site
from .plate_screens import ACCESSION, DATASET, PAGE, measure, write_screen
from .test_browser_files import SCREEN, manifest_rows


def test_wells_are_read_in_the_usual_spellings():
    assert parse_well("C07") == parse_well("c7") == parse_well(" C 07 ") == (2, 6)
    assert parse_well("P24") == (15, 23) and parse_well("AF48") == (31, 47)
    assert parse_well("7C") is None and parse_well("C0") is None and parse_well("") is None
    assert well_label(2, 6) == "C07" and well_label(31, 47) == "AF48"
    assert plate_columns(["Plate", "Well", "Compound"]) == ("Plate", "Well")
    assert plate_columns(["plate_name", "Well Name"]) == ("plate_name", "Well Name")
    assert plate_columns(["Plate", "Compound"]) is None


def test_a_thousand_384_well_plates_are_split_into_small_shards():
    collector = PlateCollector(["Compound", "Inhibition"])
    plates = [f"P{n:04d}" for n in range(1000)]
    for name in plates:
        for r in "ABCDEFGHIJKLMNOP":
            for c in range(1, 25):
                collector.add(name, f"{r}{c}", [f"cpd-{c}", f"{c},5"], None)
    shards = shard_count(1000 * 384)
    index, docs = collector.outputs(shards)
    assert len(docs) == shards and len(index["plates"]) == 1000
    assert {(p["rows"], p["cols"]) for p in index["plates"]} == {(16, 24)}
    # every plate is in the shard the index names, and only there
    for entry in index["plates"]:
        assert entry["name"] in docs[entry["shard"]]["plates"]
    assert sum(len(d["plates"]) for d in docs) == 1000
    sizes = [len(json.dumps(d)) for d in docs]
    assert max(sizes) < 600_000, max(sizes)  # a reader opening one plate fetches this
    assert docs[index["plates"][0]["shard"]]["plates"]["P0000"]["wells"]["C07"]["v"] == [
        "cpd-7",
        "7,5",
    ]


def _screen_of_fields(tmp_path: Path, names: list[str]) -> Path:
    """A built screen of 96-well plates named *names*, 32 files a well: more shards than
    plates (a shard is ~4,096 rows, a plate here 3,072)."""
    write_screen(tmp_path / "content", plates=1)
    lines = ["path\tsize\tsha256\tPlate\tWell\tCompound"]
    for plate in names:
        for r in "ABCDEFGH":
            for c in range(1, 13):
                lines += [f"{plate}/{r}{c}/f{f}.tif\t9\t\t{plate}\t{r}{c}\tx" for f in range(32)]
    manifest = tmp_path / "content" / "studies" / ACCESSION / f"{DATASET}.files.tsv"
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    build_site(tmp_path / "content", tmp_path / "site")
    return tmp_path / "site" / "studies" / ACCESSION / "files" / DATASET / "data"


def test_a_shard_no_plate_falls_in_is_not_written(tmp_path: Path):
    names = ["P0001", "P0002", "P0003"]
    shards = shard_count(len(names) * 96 * 32)
    used = {shard_of(n, shards) for n in names}
    assert len(used) < shards == 3  # the names are chosen so that one shard is empty
    data = _screen_of_fields(tmp_path, names)
    assert {p.name for p in data.glob("plates-*.json")} == {f"plates-{k}.json" for k in used}
    index = json.loads((data / "plates.json").read_text())
    assert [p["name"] for p in index["plates"]] == names and "data" not in index
    for entry in index["plates"]:
        shard = json.loads((data / f"plates-{entry['shard']}.json").read_text())
        assert len(shard["plates"][entry["name"]]["wells"]) == 96


def test_numbered_plates_get_every_shard(tmp_path: Path):
    """Plate names that are only numbers are not in the manifest summary's values, so the
    build cannot know which shards stay empty and writes them all."""
    data = _screen_of_fields(tmp_path, ["1", "2", "3"])
    assert {p.name for p in data.glob("plates-*.json")} == {f"plates-{k}.json" for k in range(3)}
    index = json.loads((data / "plates.json").read_text())
    for entry in index["plates"]:
        shard = json.loads((data / f"plates-{entry['shard']}.json").read_text())
        assert entry["name"] in shard["plates"]


def test_decimal_commas_make_a_number_column_and_thousands_stay_text():
    readout = ColumnStats()
    for v in ["99,94", "112,22", "-8,07", "5"]:
        readout.add(v)
    described = readout.describe("Percentage Inhibition")
    assert described["kind"] == "number" and described["decimal"] == ","
    assert (described["min"], described["max"]) == (-8.07, 112.22)
    # a values list sorts by number, not text: 99,94 before 112,22
    assert described["values"] == ["-8,07", "5", "99,94", "112,22"]
    ambiguous = ColumnStats()
    for v in ["1,234", "2,500"]:
        ambiguous.add(v)
    assert ambiguous.describe("count")["kind"] != "number"


def _inhibition(v: str) -> float:
    return float(v.replace(",", "."))


def test_plate_map_by_keyboard_filters_the_file_table(demo_server: str, page):
    pg, problems = page
    rows = manifest_rows()
    plate = rows[0]["Plate"]
    pg.goto(demo_server + SCREEN, wait_until="networkidle")
    expect(pg.locator("#ff-status")).to_contain_text("2,000 of 2,000 files match")
    wells = pg.locator("#plate-grid button.well")
    expect(wells).to_have_count(sum(1 for r in rows if r["Plate"] == plate))
    c07 = [r for r in rows if r["Plate"] == plate and r["Well"] in ("C7", "C07")][0]
    well = pg.locator('#plate-grid button[aria-label^="C07 "]')
    expect(well).to_have_count(1)
    assert c07["Compound"] in well.get_attribute("aria-label")
    # one tab stop for the whole plate; arrows move from A01 to C07
    wells.first.focus()
    for key in ["ArrowRight"] * 6 + ["ArrowDown"] * 2:
        pg.keyboard.press(key)
    expect(well).to_be_focused()
    pg.keyboard.press("Enter")
    expect(pg.locator("#ff-status")).to_contain_text("1 of 2,000 files match")
    expect(pg.locator("#ff-table tbody tr")).to_have_count(1)
    assert c07["path"] in pg.locator("#ff-table tbody").inner_text()
    assert "f.Well=" in pg.url and f"f.Plate={plate}" in pg.url
    pg.keyboard.press("Enter")  # again: the well filter is cleared, the plate stays
    n_plate = sum(1 for r in rows if r["Plate"] == plate)
    expect(pg.locator("#ff-status")).to_contain_text(f"{n_plate} of 2,000 files match")
    assert problems == []


def test_fig2_task_find_a_compound_on_the_plate_map(demo_server: str, page):
    """Find where a compound sits, see its inhibition, list its files."""
    pg, problems = page
    rows = manifest_rows()
    plate = rows[0]["Plate"]
    target = next(r for r in rows if r["Plate"] == plate and r["Compound"] and r["Well"] != "A1")
    pg.goto(demo_server + SCREEN, wait_until="networkidle")
    expect(pg.locator("#plate-grid button.well").first).to_be_visible()
    # coloured by the numeric readout first (Percentage Inhibition), with a ramp key
    assert pg.locator("#plate-colour option:checked").inner_text() == "Percentage Inhibition"
    expect(pg.locator("#plate-legend .ramp")).to_have_count(1)
    pg.get_by_label("Find a value").fill(target["Compound"])
    pg.get_by_label("Find a value").press("Enter")
    pg.get_by_label("Find a value").dispatch_event("change")
    same = [r for r in rows if r["Plate"] == plate and r["Compound"] == target["Compound"]]
    expect(pg.locator("#ff-status")).to_contain_text(f"{len(same)} of 2,000 files match")
    expect(pg.locator("#plate-grid button.well:not(.dim)")).to_have_count(len(same))
    label = pg.locator("#plate-grid button.well:not(.dim)").first.get_attribute("aria-label")
    assert f"Percentage Inhibition: {target['Percentage Inhibition']}" in label
    assert problems == []


def test_comma_decimals_sort_numerically_and_filter_by_range(demo_server: str, page):
    pg, problems = page
    rows = manifest_rows()
    pg.goto(demo_server + SCREEN, wait_until="networkidle")
    expect(pg.locator("#ff-status")).to_contain_text("2,000 of 2,000 files match")
    pg.get_by_label("Percentage Inhibition min").fill("100")
    high = [
        r
        for r in rows
        if r["Percentage Inhibition"] and _inhibition(r["Percentage Inhibition"]) >= 100
    ]
    expect(pg.locator("#ff-status")).to_contain_text(f"{len(high)} of 2,000 files match")
    pg.get_by_role("button", name=re.compile(r"^Percentage Inhibition")).click()
    column = [h.inner_text() for h in pg.locator("#ff-table thead th").all()].index(
        "Percentage Inhibition ▲"
    )
    shown = pg.locator(f"#ff-table tbody tr td:nth-child({column + 1})").all_inner_texts()
    numbers = [_inhibition(v) for v in shown]
    assert numbers == sorted(numbers) and numbers[0] >= 100
    assert problems == []


@pytest.fixture(scope="module")
def thousand_plates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A built and served screen of 1,000 plates x 96 wells (96,000 files)."""
    tmp = tmp_path_factory.mktemp("plates")
    write_screen(tmp / "content", plates=1000)
    build_site(tmp / "content", tmp / "site")
    server = make_server(tmp / "site", "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_thousand_plates_stay_usable(thousand_plates: str, page):
    """Load, pick a plate, page on, choose a well, find a value: each within a bound a
    reader tolerates even on a loaded machine (figures: docs/performance.md, measured
    with scripts/bench_plates.py)."""
    pg, problems = page
    fetched: list[str] = []
    pg.on("request", lambda r: fetched.append(r.url) if "/data/" in r.url else None)
    started = time.perf_counter()
    timings = measure(pg, thousand_plates + PAGE, "P0700", "C07", 96_000)
    print({k: round(v, 2) for k, v in timings.items()}, f"{time.perf_counter() - started:.1f} s")
    expect(pg.locator("#plate-pick option")).to_have_count(1000)
    # a reader opening the page fetches the index and one shard, never all 1,000 plates
    assert timings["plate data fetched (KB)"] < 600, timings
    # 96,000 rows are two chunks of 65,536: the columns come as chunk files, both loaded
    # for the filters, and the wells as shards (the small-dataset inlining stops here)
    names = {u.rsplit("/", 1)[1] for u in fetched}
    assert {"meta.json", "plates.json", "c0-0.json", "c0-1.json"} <= names, sorted(names)
    assert any(n.startswith("plates-") for n in names), sorted(names)
    assert timings["load: first plate drawn"] < 10, timings
    assert timings["load: file table ready"] < 20, timings
    for action in (
        "show a plate from the picker",
        "next plate",
        "choose a well: file table filtered",
        "find a value on the plate",
    ):
        assert timings[action] < 5, (action, timings)
    # paging by keyboard: the next plate and back, the file table following the plate
    next_plate = pg.get_by_role("button", name="Next plate")
    next_plate.focus()
    pg.keyboard.press("Enter")
    expect(pg.locator("#plate-status")).to_contain_text("Plate P0701: 96 of 96 wells")
    expect(pg.locator("#ff-status")).to_contain_text("96 of 96,000 files match")
    assert "f.Plate=P0701" in pg.url
    expect(pg.locator('#plate-grid button[aria-label^="C07 · Compound: "]')).to_have_count(1)
    pg.locator("#plate-pick").select_option("P1000")
    expect(pg.locator("#plate-status")).to_contain_text("Plate P1000:")
    expect(next_plate).to_be_disabled()
    assert problems == []
