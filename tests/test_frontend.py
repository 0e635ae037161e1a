"""What the design system promises outside the browser: the brand slot of site.yaml, readable
accent colours, checksum lists offered only when they have rows, the growth chart."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from catalogue.cli import main
from catalogue.steps.assets import DARK_BACKGROUND, LIGHT_BACKGROUND, MIN_CONTRAST, contrast

from .conftest import build_site, copy_root

LOGO = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8"><rect width="8"/></svg>'


def _brand(content: Path, block: str) -> None:
    site = content / "site.yaml"
    site.write_text(site.read_text() + block)


def test_brand_name_logo_and_a_pale_accent_made_readable(tmp_path: Path):
    content = copy_root(tmp_path, "minimal")
    (content / "brand").mkdir()
    (content / "brand" / "logo.svg").write_bytes(LOGO)
    _brand(content, 'brand: {name: Worm Atlas, logo: brand/logo.svg, accent: "#ffe066"}\n')
    out = tmp_path / "site"
    build_site(content, out)
    home = (out / "index.html").read_text()
    assert re.search(r'<a class="brand" href="/"><img src="/static/logo.svg" alt="">', home)
    assert "<span>Worm Atlas</span>" in home
    assert (out / "static" / "logo.svg").read_bytes() == LOGO
    css = (out / "static" / "brand.css").read_text()
    light = re.search(r"--accent:(#[0-9a-f]{6})", css).group(1)
    dark = re.search(r"--accent-dark:(#[0-9a-f]{6})", css).group(1)
    # a yellow that is illegible on white is darkened; on the dark theme it is kept
    assert light != "#ffe066" and contrast(light, LIGHT_BACKGROUND) >= MIN_CONTRAST
    assert contrast(dark, DARK_BACKGROUND) >= MIN_CONTRAST


def test_missing_logo_and_bad_colour_are_reported_with_their_line(tmp_path: Path):
    content = copy_root(tmp_path, "minimal")
    _brand(content, "brand:\n  logo: brand/nope.svg\n")
    result = CliRunner().invoke(main, ["validate", "--content", str(content)])
    assert result.exit_code == 1
    assert re.search(r"site\.yaml:10:\d+: E040 brand\.logo: no file brand/nope\.svg", result.output)
    content = copy_root(tmp_path / "again", "minimal")
    _brand(content, "brand:\n  accent: teal\n")
    result = CliRunner().invoke(main, ["validate", "--content", str(content)])
    assert result.exit_code == 1
    assert re.search(r"site\.yaml:10:\d+: E012 .*#rrggbb", result.output), result.output


def test_checksum_lists_are_offered_only_when_they_have_rows(demo_site: Path):
    # S-BIAD9001's manifest has no sha256 column values; S-BIAD9009's has them all
    without = (demo_site / "studies" / "S-BIAD9001" / "index.html").read_text()
    assert "sha256sums.txt" not in without
    files = (demo_site / "studies" / "S-BIAD9001" / "files" / "screen-a" / "index.html").read_text()
    assert "sha256sums.txt" not in files
    with_sums = (demo_site / "studies" / "S-BIAD9009" / "index.html").read_text()
    assert 'href="/studies/S-BIAD9009/files/sha256sums.txt"' in with_sums
    # the command that verifies fetches the list it checks
    assert "curl -fsSO http://localhost:8000/studies/S-BIAD9009/files/sha256sums.txt" in with_sums


def test_growth_chart_is_static_svg_with_a_text_equivalent(demo_site: Path):
    for page in ("index.html", "stats/index.html"):
        html = (demo_site / page).read_text()
        svg = re.search(r'<svg class="chart".*?</svg>', html, re.S)
        assert svg, page
        assert 'role="img"' in svg.group(0) and "<desc" in svg.group(0)
        assert len(re.findall(r'<rect class="bar"', svg.group(0))) >= 2
        assert "style=" not in svg.group(0)  # a strict CSP forbids inline styles


def test_every_study_page_weighs_at_most_60_kb_compressed(demo_site: Path):
    """HTML + the CSS and JS it loads, gzipped (thumbnails excluded), per study page."""
    import gzip

    heaviest = 0
    for page in sorted((demo_site / "studies").glob("*/index.html")):
        html = page.read_text(encoding="utf-8")
        assets = re.findall(r'<(?:link rel="stylesheet" href|script[^>]*src)="/([^"]+)"', html)
        assert any(a.endswith("style.css") for a in assets), page
        total = len(gzip.compress(page.read_bytes(), 9))
        total += sum(len(gzip.compress((demo_site / a).read_bytes(), 9)) for a in assets)
        heaviest = max(heaviest, total)
    assert 0 < heaviest <= 60_000, heaviest
