"""The site's own OME-Zarr viewer in Chromium: the demo image and plate draw real pixels,
zoom changes pyramid level, channels and contrast change the picture, all from the
site's origin under a strict Content-Security-Policy."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

IMAGE = "/viewer/S-BIAD9009/human_D03_3ch.ome.zarr/"
PLATE = "/viewer/S-BIAD9009/human_plate.ome.zarr/"
# what the site's CSP allows (catalogue/csp.py): the site's own scripts and workers
CSP = (
    "default-src 'self'; script-src 'self'; worker-src 'self'; "
    "style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; object-src 'none'"
)

PIXELS = """(selector) => {
  const canvas = document.querySelector(selector);
  const {width, height} = canvas;
  const data = canvas.getContext('2d').getImageData(0, 0, width, height).data;
  let lit = 0, sum = 0, distinct = new Set();
  for (let i = 0; i < data.length; i += 4) {
    const v = data[i] + data[i + 1] + data[i + 2];
    if (v > 30) lit += 1;
    sum += v;
    if (i % 64 === 0) distinct.add(data[i] << 16 | data[i + 1] << 8 | data[i + 2]);
  }
  return {lit: lit / (width * height), mean: sum / (width * height), colours: distinct.size,
          width, height};
}"""


class _CSPHandler(http.server.SimpleHTTPRequestHandler):
    def end_headers(self) -> None:
        self.send_header("Content-Security-Policy", CSP)
        super().end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def strict_server(demo_site: Path) -> Iterator[str]:
    """The demo build behind a server that sends a strict CSP on every response."""
    handler = partial(_CSPHandler, directory=str(demo_site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def real(problems: list[str]) -> list[str]:
    """Console problems, less Chromium's hint about this test's own pixel readbacks."""
    return [p for p in problems if "willReadFrequently" not in p]


def ready(page: Page) -> None:
    page.locator('.omz-viewer[data-state="ready"]').wait_for(timeout=20000)


def test_image_viewer_draws_zooms_and_toggles(
    page: tuple[Page, list[str]], strict_server: str
) -> None:
    pg, problems = page
    requests: list[str] = []
    pg.on("request", lambda r: requests.append(r.url))
    pg.set_viewport_size({"width": 1100, "height": 800})
    pg.goto(strict_server + IMAGE)
    ready(pg)
    first = pg.evaluate(PIXELS, ".omz-canvas")
    assert first["lit"] > 0.2 and first["colours"] > 50, first
    level = pg.locator(".omz-viewer")
    at_fit = int(level.get_attribute("data-level") or -1)
    # zooming out switches to a coarser level and fetches its chunks; zooming in returns
    # to full resolution
    for _ in range(2):
        pg.get_by_role("button", name="Zoom out").click()
    # the level changes on the next frame: wait for it, not just for "ready"
    expect(level).not_to_have_attribute("data-level", str(at_fit), timeout=20000)
    ready(pg)
    coarse = int(level.get_attribute("data-level") or -1)
    assert coarse > at_fit >= 0
    assert any(f"/data/{coarse}/" in url for url in requests), "no chunk of the coarse level"
    assert pg.evaluate(PIXELS, ".omz-canvas")["lit"] > 0.02
    for _ in range(4):
        pg.get_by_role("button", name="Zoom in").click()
    expect(level).to_have_attribute("data-level", "0", timeout=20000)
    ready(pg)
    assert any("/data/0/" in url for url in requests), "no full-resolution chunk fetched"
    zoomed = pg.evaluate(PIXELS, ".omz-canvas")
    assert zoomed["lit"] > 0.2
    # channels off -> black; one channel back -> lit again (whole image in view)
    pg.get_by_role("button", name="Fit to view").click()
    ready(pg)
    toggles = pg.locator(".omz-toggle")
    assert toggles.count() == 3
    for i in range(3):
        toggles.nth(i).uncheck()
    pg.wait_for_timeout(300)
    assert pg.evaluate(PIXELS, ".omz-canvas")["lit"] == 0
    toggles.nth(0).check()
    pg.wait_for_timeout(300)
    one = pg.evaluate(PIXELS, ".omz-canvas")
    assert one["lit"] > 0.001 and one["mean"] > 0
    # a higher black point darkens the picture
    pg.locator(".omz-start").nth(0).evaluate(
        "(e) => { e.value = String((Number(e.max) + Number(e.value)) / 2);"
        " e.dispatchEvent(new Event('input')); }"
    )
    pg.wait_for_timeout(300)
    assert pg.evaluate(PIXELS, ".omz-canvas")["mean"] < one["mean"]
    assert all(url.startswith(strict_server) for url in requests), "left the site's origin"
    assert not real(problems), problems  # CSP violations are console errors


def test_plate_opens_at_plate_level_and_a_well_opens_its_field(
    page: tuple[Page, list[str]], strict_server: str
) -> None:
    pg, problems = page
    pg.goto(strict_server + PLATE)
    ready(pg)
    plate = pg.evaluate(PIXELS, ".omz-plate")
    assert plate["lit"] > 0.2, plate  # one well in a 1 × 1 grid
    pg.get_by_role("button", name="Well D/3").click()
    ready(pg)
    field = pg.evaluate(PIXELS, ".omz-canvas")
    assert field["lit"] > 0.2 and field["colours"] > 50
    assert not real(problems), problems


def test_study_page_and_file_table_link_the_viewer(
    page: tuple[Page, list[str]], strict_server: str
) -> None:
    pg, problems = page
    pg.goto(strict_server + "/studies/S-BIAD9009/")
    links = pg.get_by_role("link", name="Zoomable viewer")
    hrefs = {links.nth(i).get_attribute("href") for i in range(links.count())}
    assert {IMAGE, PLATE} <= hrefs
    pg.goto(strict_server + IMAGE)
    ready(pg)
    assert not real(problems), problems


@pytest.fixture(scope="module")
def converted_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A site whose only OME-Zarr is the MRC map converted here: NGFF 0.5 (zarr v3),
    zstd chunks, 25 Z planes."""
    import shutil

    from catalogue.imaging.convert import convert

    from .conftest import ROOTS, build_site
    from .ngff import SAMPLES

    base = tmp_path_factory.mktemp("converted")
    content = base / "content"
    shutil.copytree(ROOTS / "minimal" / "content", content)
    convert(SAMPLES / "EMD-3001.map", content / "data" / "S-BIAD1" / "map.ome.zarr")
    build_site(content, base / "site")
    handler = partial(_CSPHandler, directory=str(base / "site"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_converted_volume_has_a_z_slider(page: tuple[Page, list[str]], converted_site: str) -> None:
    pg, problems = page
    pg.goto(converted_site + "/viewer/S-BIAD1/map.ome.zarr/")
    ready(pg)
    middle = pg.evaluate(PIXELS, ".omz-canvas")
    assert middle["lit"] > 0.05, middle
    z = pg.locator("input.omz-z")
    assert z.get_attribute("max") == "24" and z.get_attribute("value") == "12"
    assert pg.locator("input.omz-t").count() == 0  # one time point: no T slider
    # (the map is a crystal: planes repeat every 12, so 5, not 0, differs from 12)
    z.evaluate("(e) => { e.value = '5'; e.dispatchEvent(new Event('input')); }")
    for _ in range(50):  # the new plane's chunks arrive asynchronously (at most 5 s)
        if pg.evaluate(PIXELS, ".omz-canvas") != middle:
            break
        pg.wait_for_timeout(100)
    assert pg.evaluate(PIXELS, ".omz-canvas") != middle  # another plane is shown
    assert not real(problems), problems


@pytest.fixture(scope="module")
def built_conversion(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A site whose build converted a real ImageJ hyperstack (site.yaml
    conversion.in_build, dataset convert: ome-zarr): 2 channels, 3 Z, 2 T."""
    import shutil

    import yaml

    from .conftest import ROOTS, build_site
    from .ngff import SAMPLES

    base = tmp_path_factory.mktemp("built-conversion")
    content = base / "content"
    shutil.copytree(ROOTS / "minimal" / "content", content)
    source = SAMPLES / "imagej_hyperstack_tzcyx.tiff"
    shutil.copy(source, content / "data" / "S-BIAD1" / "hela.tif")
    manifest = content / "studies" / "S-BIAD1" / "images.files.tsv"
    manifest.write_text(
        manifest.read_text(encoding="utf-8") + f"hela.tif\t{source.stat().st_size}\t\t\n",
        encoding="utf-8",
    )
    study_file = content / "studies" / "S-BIAD1" / "study.yaml"
    study = yaml.safe_load(study_file.read_text(encoding="utf-8"))
    study["datasets"][0]["convert"] = "ome-zarr"
    study_file.write_text(yaml.safe_dump(study, sort_keys=False), encoding="utf-8")
    site_file = content / "site.yaml"
    site_file.write_text(
        site_file.read_text(encoding="utf-8") + "conversion: {in_build: true}\n", encoding="utf-8"
    )
    build_site(content, base / "site")
    handler = partial(_CSPHandler, directory=str(base / "site"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_hyperstack_converted_by_the_build_opens_with_z_and_t(
    page: tuple[Page, list[str]], built_conversion: str
) -> None:
    pg, problems = page
    pg.goto(built_conversion + "/studies/S-BIAD1/files/images/page/1/")
    link = pg.locator('a[href="/viewer/S-BIAD1/hela.tif/"]')
    assert link.inner_text() == "Zoomable viewer"
    link.click()
    assert pg.url == built_conversion + "/viewer/S-BIAD1/hela.tif/"
    ready(pg)
    first = pg.evaluate(PIXELS, ".omz-canvas")
    assert first["lit"] > 0.02 and first["colours"] > 10, first
    assert pg.locator("input.omz-z").get_attribute("max") == "2"
    t = pg.locator("input.omz-t")
    assert t.get_attribute("max") == "1"
    t.evaluate("(e) => { e.value = '1'; e.dispatchEvent(new Event('input')); }")
    for _ in range(50):  # the other time point's chunks arrive asynchronously
        if pg.evaluate(PIXELS, ".omz-canvas") != first:
            break
        pg.wait_for_timeout(100)
    assert pg.evaluate(PIXELS, ".omz-canvas") != first  # another time point is shown
    assert not real(problems), problems
