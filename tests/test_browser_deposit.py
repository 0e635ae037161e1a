"""The deposit form (/deposit/) in Debian's Chromium: a depositor fills it in, builds a
file list from a folder, and gets a study.yaml that `catalogue validate` accepts."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import tifffile
from click.testing import CliRunner
from PIL import Image
from playwright.sync_api import Page, Route, expect

from catalogue.cli import main
from catalogue.imaging.harvest import harvest_file

from .conftest import ROOT, SAMPLES, TODAY, build_site, copy_root, free_port

REPOSITORY = "https://github.com/example/catalogue-archive"
# what a deployment would send: the site's own scripts and workers only, nothing inline
CSP = (
    "default-src 'self'; script-src 'self'; worker-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'"
)


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A small archive whose site.yaml names a repository, built and served; the accession
    S-BIAD3 allocated by `catalogue new` as a curator would for the depositor."""
    tmp = tmp_path_factory.mktemp("deposit")
    content = copy_root(tmp, "minimal")
    site = content / "site.yaml"
    site.write_text(
        site.read_text(encoding="utf-8") + f"deposit: {{repository: {REPOSITORY}}}\n",
        encoding="utf-8",
    )
    out = tmp / "build"
    build_site(content, out)
    new = CliRunner().invoke(main, ["new", "Placeholder", "--content", str(content)])
    assert new.stdout.strip() == "S-BIAD3", new.output
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "catalogue", "serve", "--out", str(out), "--port", str(port)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url + "/deposit/", timeout=1).read()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("catalogue serve did not start") from None
            time.sleep(0.1)
    yield url, content
    proc.terminate()
    proc.wait(timeout=10)


def with_csp(pg: Page) -> None:
    def handle(route: Route) -> None:
        response = route.fetch()
        route.fulfill(
            response=response, headers={**response.headers, "content-security-policy": CSP}
        )

    pg.route("**/*", handle)


def fill(pg: Page, path: str, value: str) -> None:
    pg.locator(f'[data-path="{path}"]').fill(value)


def test_filling_the_form_yields_a_study_that_validates(archive, page, tmp_path: Path):
    url, content = archive
    pg, problems = page
    with_csp(pg)
    pg.goto(f"{url}/deposit/")
    expect(pg.locator("#template-choice")).to_be_visible(timeout=15_000)
    # the page carries no inline script: only the site's own files
    assert pg.locator("script:not([src])").count() == 0

    pg.select_option("#template-choice", "screen")
    pg.click("#template-apply")
    fill(pg, "accession", "S-BIAD3")
    fill(pg, "title", "Compound screen of HeLa cells: nuclear size")
    fill(pg, "release_date", "2026-01-15")
    pg.select_option('[data-path="license"]', "CC-BY-4.0")
    fill(pg, "keywords", "high-content screening, nucleus")
    fill(pg, "description", "Cells in 384-well plates.\nImaged after 24 h with *Hoechst*.")
    fill(pg, "authors.0.name", "Ada Lovelace")
    fill(pg, "authors.0.orcid", "0000-0002-1825-0098")  # wrong check digit, for now
    fill(pg, "authors.0.affiliations", "lab")
    pg.get_by_role("button", name="Add author").click()
    fill(pg, "authors.1.name", "Grace Hopper")
    pg.get_by_role("button", name="Add affiliation").click()
    fill(pg, "affiliations.*name", "lab")
    fill(pg, "affiliations.*.name", "Example Institute")
    fill(pg, "affiliations.*.ror", "https://ror.org/02catss52")
    pg.get_by_role("button", name="Add publication").click()
    fill(pg, "publications.0.title", "A screen for nuclear size")
    fill(pg, "publications.0.doi", "https://doi.org/10.1083/jcb.202207048")
    fill(pg, "publications.0.year", "2023")
    fill(pg, "biosamples.cells.organism.0.scientific_name", "Homo sapiens")
    fill(pg, "biosamples.cells.organism.0.ncbi_taxon", "9606")
    fill(pg, "biosamples.cells.biological_entity", "HeLa cells")
    fill(pg, "specimens.plates.preparation", "Fixed, stained with Hoechst 33342")
    fill(pg, "image_acquisitions.screening.instrument", "Widefield high-content imager")
    fill(pg, "analyses.features.description", "Nuclei segmented, area measured")

    # the checks of catalogue validate run in the page, with its codes
    pg.click("#deposit-check")
    problems_list = pg.locator("#deposit-problems li")
    expect(problems_list.first).to_be_visible()
    texts = problems_list.all_inner_texts()
    assert 'E015 authors.0.orcid: ORCID "0000-0002-1825-0098" has a wrong check digit' in texts
    assert "E010 datasets.0.title: field required" in texts
    assert pg.locator("#deposit-output").is_hidden()
    fill(pg, "authors.0.orcid", "0000-0002-1825-0097")
    fill(pg, "datasets.0.title", "Plate images")

    # a file list from a folder, hashed in the worker
    folder = tmp_path / "plate-folder" / "plates"
    (folder / "P1/A01").mkdir(parents=True)
    (folder / "P1/B02").mkdir(parents=True)
    images = SAMPLES / "images"
    shutil.copyfile(images / "worm_fitc_16bit.tif", folder / "P1/A01/f1.tif")
    shutil.copyfile(images / "ihc_histology_rgb.png", folder / "P1/B02/f1.png")
    shutil.copyfile(images / "multi-channel-z-series.ome.tif", folder / "P1/A01/z.ome.tif")
    shutil.copyfile(images / "CMU-1-Small-Region.svs", folder / "P1/A01/slide.svs")
    shutil.copyfile(images / "032113-18.lsm", folder / "P1/A01/scan.lsm")
    with Image.open(images / "ihc_histology_rgb.png") as png:  # the real PNG as a JPEG
        png.convert("RGB").save(folder / "P1/B02/f2.jpg", quality=90)
    worm = tifffile.imread(images / "worm_fitc_16bit.tif")  # and the real TIFF as BigTIFF
    tifffile.imwrite(folder / "P1/B02/big.tif", worm, bigtiff=True)
    (folder / "P1/B02/big.raw").write_bytes(os.urandom(9_000_001))  # > one 8 MB slice
    (folder / ".DS_Store").write_bytes(b"\0\0")
    pg.select_option("#files-dataset", "plates")
    pg.set_input_files("#files-folder", str(folder))
    expect(pg.locator("#files-download")).to_be_visible(timeout=60_000)
    assert pg.locator("#files-skipped").inner_text().startswith(".DS_Store: hidden file")
    tsv = pg.locator("#files-download").get_attribute("data-tsv") or ""
    lines = tsv.splitlines()
    header = lines[0].split("\t")
    assert header == ["path", "size", "sha256", "SizeX", "SizeY", "SizeZ", "SizeC", "SizeT",
                      "PixelType"]  # fmt: skip
    rows = {
        line.split("\t")[0]: dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:]
    }
    rels = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert list(rows) == [r for r in rels if r != ".DS_Store"]
    for rel, row in rows.items():
        assert row["size"] == str((folder / rel).stat().st_size)
        assert row["sha256"] == hashlib.sha256((folder / rel).read_bytes()).hexdigest()
        # every header value the browser read is the one add-files (and harvest) reads
        harvested = harvest_file(str(folder / rel))["values"]
        for column in header[3:]:
            if row[column]:
                assert row[column] == harvested.get(column), (rel, column, row, harvested)
    shown = {rel: [row[c] for c in header[3:]] for rel, row in rows.items()}
    assert shown["P1/A01/f1.tif"] == ["696", "520", "1", "1", "1", "uint16"]
    assert shown["P1/A01/z.ome.tif"] == ["439", "167", "5", "3", "1", "int8"]  # OME-XML
    assert shown["P1/B02/big.tif"] == ["696", "520", "1", "1", "1", "uint16"]  # BigTIFF
    assert shown["P1/B02/f1.png"] == ["512", "512", "1", "3", "1", "uint8"]
    assert shown["P1/B02/f2.jpg"] == ["512", "512", "1", "3", "1", "uint8"]
    # pyramids and multi-page files without OME-XML: no guess at Z or T
    assert shown["P1/A01/slide.svs"] == ["2220", "2967", "", "3", "", "uint8"]
    assert shown["P1/A01/scan.lsm"] == ["512", "512", "", "3", "", "uint8"]
    assert shown["P1/B02/big.raw"] == [""] * 6
    preview = pg.locator("#files-preview")
    expect(preview).to_be_visible()
    assert preview.locator("th").all_inner_texts() == header
    assert preview.locator("tbody tr").count() == len(rows)
    assert preview.locator("tbody tr").nth(2).locator("td").nth(3).inner_text() == "2220"
    assert pg.locator('[data-path="datasets.0.files"]').input_value() == "plates.files.tsv"
    # the incremental SHA-256 of the worker (used above 64 MB) agrees with hashlib too
    streamed = pg.evaluate(
        """([worker]) => new Promise((resolve) => {
             const w = new Worker(worker);
             const file = document.getElementById("files-folder").files;
             const big = Array.from(file).find((f) => f.name === "big.raw");
             w.onmessage = (e) => { if (e.data.sha256) { w.terminate(); resolve(e.data.sha256); } };
             w.postMessage({id: 0, file: big, limit: 0});
           })""",
        [pg.locator("#deposit-form").get_attribute("data-worker")],
    )
    assert streamed == hashlib.sha256((folder / "P1/B02/big.raw").read_bytes()).hexdigest()

    pg.click("#deposit-check")
    expect(pg.locator("#deposit-output")).to_be_visible()
    assert problems_list.count() == 0
    yaml_text = pg.locator("#deposit-yaml").input_value()
    with pg.expect_download() as download:
        pg.click("#deposit-download")
    assert Path(download.value.path()).read_text(encoding="utf-8") == yaml_text
    pr = pg.locator("#deposit-pr").get_attribute("href") or ""
    head, _, query = pr.partition("?")
    assert head == f"{REPOSITORY}/new/main"
    fields = urllib.parse.parse_qs(query)
    assert fields["filename"] == ["content/studies/S-BIAD3/study.yaml"]
    assert fields["value"] == [yaml_text]
    assert problems == []

    # what the curator does with it: save both files, validate, build
    study_dir = content / "studies/S-BIAD3"
    (study_dir / "study.yaml").write_text(yaml_text, encoding="utf-8")
    (study_dir / "plates.files.tsv").write_text(tsv, encoding="utf-8")
    result = CliRunner().invoke(
        main, ["validate", "--content", str(content), "--today", str(TODAY)]
    )
    assert result.exit_code == 0, yaml_text + result.output
    out = tmp_path / "site"
    build_site(content, out)
    page_html = (out / "studies/S-BIAD3/index.html").read_text(encoding="utf-8")
    assert "Ada Lovelace" in page_html and "Plate images" in page_html
    assert "0000-0002-1825-0097" in page_html


def test_the_form_says_when_it_cannot_load(archive, page):
    url, _ = archive
    pg, problems = page
    pg.route("**/deposit/form.json", lambda route: route.fulfill(status=503, body="down"))
    pg.goto(f"{url}/deposit/")
    expect(pg.locator("#deposit-loading")).to_have_text(
        "The form could not be loaded (HTTP 503).", timeout=15_000
    )
    assert [p for p in problems if "503" not in p] == []
