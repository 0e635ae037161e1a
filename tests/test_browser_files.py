"""The file table of a dataset in a real browser: filters, sorting, URL state, downloads."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import expect

from .conftest import DEMO

SCREEN = "/studies/S-BIAD9001/files/screen-a/"
MANIFEST = DEMO / "studies" / "S-BIAD9001" / "screen-a.files.tsv"
# the worker reads 2,000 rows of 13 columns: on a loaded 2-core machine that can take
# longer than Playwright's 5 s default
expect.set_options(timeout=15_000)


def manifest_rows() -> list[dict[str, str]]:
    lines = MANIFEST.read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:]]


def status(pg) -> str:
    return pg.locator("#ff-status").inner_text()


def test_filter_screen_by_compound_and_download_that_list(demo_server: str, page, tmp_path: Path):
    pg, problems = page
    rows = [r for r in manifest_rows() if "quine" in r["Compound"].lower()]
    assert len(rows) >= 2
    pg.goto(demo_server + SCREEN, wait_until="networkidle")
    expect(pg.locator("#ff-status")).to_contain_text("2,000 of 2,000 files match")
    pg.get_by_label("Compound", exact=True).fill("quine")
    expect(pg.locator("#ff-status")).to_contain_text(f"{len(rows)} of 2,000 files match")
    table = pg.locator("#ff-table tbody tr")
    expect(table).to_have_count(len(rows))
    text = pg.locator("#ff-table").inner_text()
    for r in rows:
        assert r["SMILES"] in text and r["Well"] in text
    assert "s.Compound=quine" in pg.url
    with pg.expect_download() as info:
        pg.get_by_role("button", name="Download URL list of these files").click()
    saved = tmp_path / "urls.txt"
    info.value.save_as(saved)
    expected = sorted(f"https://data.example.org/pub/S-BIAD9001/{r['path']}" for r in rows)
    assert sorted(saved.read_text().splitlines()) == expected
    assert problems == []


def test_filter_by_plate_value_and_free_text_and_link(demo_server: str, page):
    pg, problems = page
    rows = manifest_rows()
    plate = rows[100]["Plate"]
    n_plate = sum(1 for r in rows if r["Plate"] == plate)
    pg.goto(demo_server + SCREEN, wait_until="networkidle")
    pg.get_by_label("Plate", exact=True).select_option(plate)
    expect(pg.locator("#ff-status")).to_contain_text(f"{n_plate} of 2,000 files match")
    well = rows[100]["Well"]
    n_both = sum(1 for r in rows if r["Plate"] == plate and well in "\t".join(r.values()))
    pg.get_by_label("Search all columns").fill(well)
    expect(pg.locator("#ff-status")).to_contain_text(f"{n_both} of 2,000 files match")
    # the filtered view can be shared: opening the link restores it
    link = pg.url
    assert f"f.Plate={plate}" in link
    pg.goto("about:blank")
    pg.goto(link, wait_until="networkidle")
    expect(pg.locator("#ff-status")).to_contain_text(f"{n_both} of 2,000 files match")
    assert pg.get_by_label("Search all columns").input_value() == well
    assert problems == []


def test_table_by_keyboard_only(demo_server: str, page):
    pg, problems = page
    pg.goto(demo_server + SCREEN, wait_until="networkidle")
    expect(pg.locator("#ff-status")).to_contain_text("files match")
    pg.locator("#ff-text").focus()
    pg.keyboard.type("ESP0025770")
    expect(pg.locator("#ff-status")).to_contain_text("96 of 2,000 files match")
    sort_button = pg.locator("#ff-table th button", has_text="Well")
    for _ in range(60):
        pg.keyboard.press("Tab")
        if sort_button.evaluate("b => b === document.activeElement"):
            break
    else:
        raise AssertionError("the Well column header cannot be reached with Tab")
    pg.keyboard.press("Enter")
    header = pg.locator("#ff-table th", has=pg.locator("button", has_text="Well"))
    expect(header).to_have_attribute("aria-sort", "ascending")
    pg.keyboard.press("Enter")
    expect(header).to_have_attribute("aria-sort", "descending")
    wells = [c.strip() for c in pg.locator("#ff-table tbody tr td:nth-child(5)").all_inner_texts()]
    assert len(wells) == 96
    assert wells == sorted(wells, reverse=True)
    assert problems == []


def test_metadata_only_excludes_images(demo_server: str, page):
    pg, problems = page
    pg.goto(demo_server + "/studies/S-BSST592/files/files/", wait_until="networkidle")
    expect(pg.locator("#ff-status")).to_contain_text("files match")
    total = int(re.search(r"of ([\d,]+) files", status(pg)).group(1).replace(",", ""))
    pg.get_by_role("button", name="Metadata files only").click()
    expect(pg.locator("#ff-status")).not_to_contain_text(f"{total} of {total}")
    formats = pg.locator("#ff-table tbody tr td:nth-child(3)").all_inner_texts()
    assert all(f not in ("TIFF", "OME-TIFF", "PNG", "JPEG") for f in formats)
    assert "metadata=1" in pg.url
    assert problems == []


def test_page_without_javascript_lists_files(demo_server: str, browser):
    context = browser.new_context(java_script_enabled=False)
    pg = context.new_page()
    pg.goto(demo_server + SCREEN)
    # the interactive page carries no copy of the rows: it links to the plain table
    assert pg.locator("#static-files").count() == 0
    pg.get_by_role("link", name=re.compile(r"^plain table")).first.click()
    pg.wait_for_url(re.compile(r"/files/screen-a/page/1/$"))
    rows = pg.locator("#static-files tbody tr")
    expect(rows).to_have_count(500)
    expect(pg.locator("#static-files a[rel=next]")).to_have_attribute(
        "href", "/studies/S-BIAD9001/files/screen-a/page/2/"
    )
    context.close()


def test_ome_zarr_is_one_row_and_its_url_list_has_every_file(
    demo_server: str, page, tmp_path: Path
):
    pg, problems = page
    manifest = (DEMO / "studies" / "S-BIAD9009" / "image.files.tsv").read_text().splitlines()
    paths = [line.split("\t")[0] for line in manifest[1:]]
    pg.goto(demo_server + "/studies/S-BIAD9009/files/image/", wait_until="networkidle")
    expect(pg.locator("#ff-status")).to_contain_text(f"1 of 1 rows match ({len(paths)} files)")
    rows = pg.locator("#ff-table tbody tr")
    expect(rows).to_have_count(1)
    row = rows.first
    expect(row.locator("td.path")).to_have_text("human_D03_3ch.ome.zarr/")
    expect(row).to_contain_text(f"{len(paths)} files · 3 × 512 × 512 (c, y, x) · uint8")
    expect(row.get_by_role("link", name="Zoomable viewer")).to_have_attribute(
        "href", "/viewer/S-BIAD9009/human_D03_3ch.ome.zarr/"
    )
    headers = pg.locator("#ff-table thead th").all_inner_texts()
    assert [h.strip() for h in headers] == ["path", "size", "format", "Image", "Preview"]
    # the image is image data: "metadata files only" leaves it out, whole
    pg.get_by_role("button", name="Metadata files only").click()
    expect(pg.locator("#ff-status")).to_contain_text("0 of 1 rows match (0 files)")
    pg.get_by_role("button", name="Metadata files only").click()
    expect(pg.locator("#ff-status")).to_contain_text("1 of 1 rows match")
    with pg.expect_download() as info:
        pg.get_by_role("button", name="Download URL list of these files").click()
    saved = tmp_path / "urls.txt"
    info.value.save_as(saved)
    expected = [f"https://data.example.org/pub/S-BIAD9009/{p}" for p in paths]
    assert saved.read_text().splitlines() == expected
    assert problems == []


def test_value_picker_suggests_as_you_type_and_filters_to_the_exact_value(demo_server: str, page):
    """Compound has 1,835 distinct values: too many for a list, so a box suggests them."""
    pg, problems = page
    rows = manifest_rows()
    exact = sum(1 for r in rows if r["Compound"] == "Allopurinol")
    containing = sum(1 for r in rows if "allopuri" in r["Compound"].lower())
    assert 0 < exact < containing  # "Allopurinol riboside" also contains it
    pg.goto(demo_server + SCREEN, wait_until="networkidle")
    expect(pg.locator("#ff-status")).to_contain_text("2,000 of 2,000 files match")
    box = pg.get_by_label("Compound", exact=True)
    assert box.evaluate("b => b.list && b.list.tagName") == "DATALIST"
    box.focus()  # keyboard only from here
    pg.keyboard.type("allopuri")
    expect(pg.locator("#ff-status")).to_contain_text(f"{containing} of 2,000 files match")
    options = box.locator("xpath=following-sibling::datalist[1]/option")
    expect(options).to_have_count(containing)
    assert options.evaluate_all("os => os.map(o => o.value)") == [
        "Allopurinol",
        "Allopurinol riboside",
    ]
    how = pg.locator(f"#{box.get_attribute('aria-describedby')}")
    expect(how).to_contain_text("Contains “allopuri”")
    # the exact value, typed or chosen: only its files, not the riboside's
    pg.keyboard.press("Control+A")
    pg.keyboard.type("Allopurinol")
    expect(pg.locator("#ff-status")).to_contain_text(f"{exact} of 2,000 files match")
    expect(how).to_contain_text(f"Exactly “Allopurinol” ({exact} file")
    assert "f.Compound=Allopurinol" in pg.url and "s.Compound" not in pg.url
    compounds = pg.locator("#ff-table tbody tr td:nth-child(6)").all_inner_texts()
    assert compounds == ["Allopurinol"] * exact
    # the link to this view restores the exact value
    pg.goto(pg.url, wait_until="networkidle")
    expect(pg.locator("#ff-status")).to_contain_text(f"{exact} of 2,000 files match")
    assert pg.get_by_label("Compound", exact=True).input_value() == "Allopurinol"
    assert problems == []


def test_value_picker_is_axe_clean_with_its_suggestions(demo_server: str, browser):
    from .test_design import AXE

    # axe is injected by the test, which the site's CSP forbids: bypassed here only
    context = browser.new_context(bypass_csp=True)
    pg = context.new_page()
    pg.goto(demo_server + SCREEN, wait_until="networkidle")
    expect(pg.locator("#ff-status")).to_contain_text("2,000 of 2,000 files match")
    box = pg.get_by_label("Compound", exact=True)
    box.focus()
    pg.keyboard.type("adeno")
    expect(box.locator("xpath=following-sibling::datalist[1]/option").first).to_be_attached()
    expect(pg.locator(f"#{box.get_attribute('aria-describedby')}")).to_contain_text("Contains")
    pg.add_script_tag(path=str(AXE))
    found = pg.evaluate(
        """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
          .map(v => v.id + ": " + v.nodes.map(n => n.target.join(" ")).join(" | "))"""
    )
    context.close()
    assert found == []


def test_one_chunk_dataset_filters_sorts_and_pages_from_meta_json(demo_server: str, page):
    """2,000 rows fit in one chunk: the table's data is meta.json alone (and the plate
    map's plates.json), and filtering, sorting and paging work on it as on chunks."""
    pg, problems = page
    fetched: list[str] = []
    pg.on("request", lambda r: fetched.append(r.url) if "/data/" in r.url else None)
    rows = manifest_rows()
    pg.goto(demo_server + SCREEN, wait_until="networkidle")
    expect(pg.locator("#ff-status")).to_contain_text("2,000 of 2,000 files match")
    assert sorted(u.rsplit("/", 1)[1] for u in fetched) == ["meta.json", "plates.json"]
    # a filter, then a sort on another column, descending
    hits = [(i, r) for i, r in enumerate(rows) if "in" in r["Compound"].lower()]
    assert len(hits) > 200
    pg.get_by_label("Compound", exact=True).fill("in")
    expect(pg.locator("#ff-status")).to_contain_text(f"{len(hits):,} of 2,000 files match")
    sort = pg.locator("#ff-table th button", has_text="Well")
    sort.click()
    sort.click()
    header = pg.locator("#ff-table th", has=pg.locator("button", has_text="Well"))
    expect(header).to_have_attribute("aria-sort", "descending")
    # ties keep the manifest's order
    order = sorted(hits, key=lambda h: h[0])
    order.sort(key=lambda h: h[1]["Well"], reverse=True)
    pages = -(-len(hits) // 100)
    expect(pg.locator("#ff-page")).to_have_text(f"Page 1 of {pages}")
    pg.get_by_role("button", name="Next →").click()
    expect(pg.locator("#ff-page")).to_have_text(f"Page 2 of {pages}")
    shown = pg.locator("#ff-table tbody tr td.path").all_inner_texts()
    assert shown == [r["path"] for _, r in order[100:200]]
    assert sorted(u.rsplit("/", 1)[1] for u in fetched) == ["meta.json", "plates.json"]
    assert problems == []
