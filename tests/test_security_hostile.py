"""A hostile content tree, as a fresh attacker with only the docs would write it (issue 17,
docs/reliability.md): YAML numbers too large to print, manifests with NUL bytes, lone CRs,
10 MB lines and spreadsheet formulas, Markdown with script links and raw HTML, truncated
and bomb images. The build never crashes, never publishes the hostile part as it is."""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from catalogue.cli import main
from catalogue.spreadsheet import looks_like_formula, safe_cell

from .conftest import TODAY, build_site, copy_root

MANIFEST = "studies/S-BIAD1/images.files.tsv"


def validate(content: Path) -> tuple[int, str]:
    result = CliRunner().invoke(
        main, ["validate", "--content", str(content), "--today", str(TODAY)]
    )
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def with_rows(content: Path, *rows: str, eol: str = "\n") -> None:
    header = "path\tsize\tsha256\tChannel\tNote"
    lines = [header, "worm.tif\t725953\t\tFITC\tok", *rows]
    (content / MANIFEST).write_bytes((eol.join(lines) + eol).encode("utf-8"))


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("a.tif\t1\t\tx\x00y\tz", ":3:11: E049 control character U+0000 at column 11 (a NUL byte"),
        ("a.tif\t1\t\tx\x1b[31m\tz", ":3:11: E049 control character U+001B at column 11"),
        ("a.tif\t1\t\tx\ry\tz", ":3:11: E049 control character U+000D at column 11 (lines ended"),
        ("a.tif\t1\t\t" + "z" * 10_000_000 + "\tz", ":3:1: E049 line of 10,000,011 characters"),
        ("=cmd|' /C calc'!A0\t1\t\tx\tz", ":3: E043 path \"=cmd|' /C calc'!A0\" starts like a"),
    ],
    ids=["NUL", "ESC", "lone CR", "10 MB line", "formula path"],
)
def test_a_manifest_line_that_cannot_be_published_is_named(tmp_path, row, expected):
    content = copy_root(tmp_path, "minimal")
    with_rows(content, row)
    code, output = validate(content)
    assert code == 1
    assert f"{MANIFEST}{expected}" in output, output[:2000]


def test_crlf_manifests_are_fine(tmp_path):
    content = copy_root(tmp_path, "minimal")
    with_rows(content, "a.tif\t1\t\tx\ty", eol="\r\n")
    assert validate(content)[0] == 0


def test_a_number_too_large_to_print_is_a_problem_not_a_traceback(tmp_path):
    content = copy_root(tmp_path, "minimal")
    study = content / "studies/S-BIAD1/study.yaml"
    study.write_text(study.read_text().replace("ncbi_taxon: 6239", "ncbi_taxon: 0x" + "f" * 5000))
    code, output = validate(content)
    assert code == 1
    assert "study.yaml:10:20: E081 biosamples.worm.organism.0.ncbi_taxon" in output


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ('+HYPERLINK("https://evil.example")', '\'+HYPERLINK("https://evil.example")'),
        ("-cmd|' /C calc'!A0", "'-cmd|' /C calc'!A0"),
        ("\t=1", "'\t=1"),
        ("-5", "-5"),
        ("+3.2e4", "+3.2e4"),
        ("-/-", "-/-"),
        ("+/+", "+/+"),
        ("GFP-tagged", "GFP-tagged"),
        ("", ""),
    ],
)
def test_spreadsheet_formulas_are_written_as_text(value, shown):
    assert safe_cell(value) == shown
    assert looks_like_formula(value) == (value != shown)


def _png_bomb() -> bytes:
    """A PNG that declares 60,000 × 60,000 pixels (10 GB decoded) in 35 KB."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", 60000, 60000, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\0" * (60000 * 3 + 1) * 200, 9)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


MARKDOWN = """|
  Links: [js](javascript:alert(1)) [JS](JaVaScRiPt:alert(2)) [tab](java&#x09;script:alert(3))
  [vb](vbscript:msgbox(1)) [data](data:text/html;base64,PHNjcmlwdD5hbGVydCg0KTwvc2NyaXB0Pg==)
  [file](file:///etc/passwd) <javascript:alert(5)> [ref][r]

  [r]: javascript:alert(6)

  ![svg](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoNyk+)

  <script>alert(8)</script>
  <img src=x onerror=alert(9)>
  <iframe src="javascript:alert(10)"></iframe>
  <a href="javascript:alert(11)">raw</a>
  <style>body{display:none}</style>
  <form action="https://evil.example"><input name=x></form>
  <svg><script>alert(12)</script></svg>
  <math><mi xlink:href="javascript:alert(13)">x</mi></math>
  <details open ontoggle=alert(14)>
"""


def test_a_hostile_tree_builds_and_publishes_nothing_hostile(tmp_path):
    content = copy_root(tmp_path, "minimal")
    study = content / "studies/S-BIAD1/study.yaml"
    study.write_text(
        study.read_text().replace("description: A *worm*.", "description: " + MARKDOWN)
    )
    with_rows(
        content,
        "a.tif\t3000\t\t=cmd|' /C calc'!A0\t@SUM(1+1)",
        "b.tif\t35064\t\t-/-\t-5",
        'c.tif\t104\t\t+HYPERLINK("https://evil.example")\tx',
        eol="\r\n",
    )
    data = content / "data/S-BIAD1"
    (data / "a.tif").write_bytes((data / "worm.tif").read_bytes()[:3000])  # truncated
    (data / "b.tif").write_bytes(_png_bomb())  # a PNG named .tif, too
    (data / "c.tif").write_bytes(b"II*\x00" + b"\xff" * 100)  # first page beyond the file
    out = tmp_path / "site"
    messages = build_site(content, out)
    assert sum("W050 cannot make a thumbnail" in m for m in messages) == 3, messages
    page = (out / "studies/S-BIAD1/index.html").read_text(encoding="utf-8")
    # the description, from its first word to the next section (the site's own header
    # has a search form)
    body = page[page.index("<p>Links:") : page.index('<h3 id="h-authors"')]
    assert "raw" in body and "<a" in body
    for hostile in (
        r"javascript:", r"vbscript:", r"data:", r"file:", r"<script>alert", r"\son\w+=",
        r"<iframe", r"<form", r"<style", r"<input", r"xlink:href",
    ):  # fmt: skip
        assert not re.search(hostile, body, re.IGNORECASE), hostile
    tsv = (out / "studies/S-BIAD1/files/images/files.tsv").read_text(encoding="utf-8")
    assert "\t'=cmd|' /C calc'!A0\t'@SUM(1+1)\t" in tsv
    assert "\t-/-\t-5\t" in tsv and "\t'+HYPERLINK(" in tsv
    csv = (out / "api/v1/files.csv").read_text(encoding="utf-8")
    assert ",'=cmd|' /C calc'!A0,'@SUM(1+1)" in csv and ",-/-,-5" in csv
    assert not re.search(r"(^|,)[=@]", csv, re.MULTILINE)


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "JaVaScRiPt:alert(1)", "java\tscript:alert(1)", "data:text/html,x"],
)
def test_a_script_link_url_is_refused_with_its_line(tmp_path, url):
    content = copy_root(tmp_path, "minimal")
    study = content / "studies/S-BIAD1/study.yaml"
    quoted = url.replace("\t", "\\t")
    study.write_text(study.read_text() + f'links:\n  - url: "{quoted}"\n    description: x\n')
    code, output = validate(content)
    assert code == 1
    assert "studies/S-BIAD1/study.yaml:21:10: E012 links.0.url:" in output, output
    assert "must not be a javascript:, vbscript:, data: or file: URL" in output


def test_ordinary_link_urls_still_pass(tmp_path):
    content = copy_root(tmp_path, "minimal")
    study = content / "studies/S-BIAD1/study.yaml"
    links = "".join(
        f"  - url: {u}\n"
        for u in ("https://example.org/a", "ftp://ftp.example.org/pub", "EMPIAR-10002")
    )
    study.write_text(study.read_text() + "links:\n" + links)
    code, output = validate(content)
    assert code == 0, output
