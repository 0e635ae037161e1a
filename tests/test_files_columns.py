"""The column-at-a-time readers and writers of manifests against the row-by-row ones.

A 1.3-million-row manifest is checked, summarised and turned into file tables and bulk
tables a column at a time (pyarrow compute); the row-by-row code stays the reference,
for the manifests the fast one hands back (problems, Zarr images) and for these tests:
what a reader of the site sees must not depend on which one ran.
"""

from __future__ import annotations

import hashlib
import random
import shutil
import tempfile
from pathlib import Path
from urllib.parse import quote

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalogue.formats import file_format
from catalogue.readers import manifest
from catalogue.render import filesize
from catalogue.spreadsheet import safe_cell
from catalogue.steps import files
from tests.conftest import DEMO, build_site, tree_digest
from tests.fuzzing import manifests as hostile_manifests

NAMES = ["a b", "é", "漢字", "😀", "x&y", "q'q", 'd"q', "<t>", "p#1", "50%", "İ", "a+b", "~t"]
EXTS = [".tif", ".TIF", ".Ome.Tiff", ".nii.gz", "", ".json", ".A&B", ".verylongsuffix", ".x"]
SIZES = ["", "0", "007", " 12 ", "١٢", "+5", "1_000", "999", "1000", "123456789012", "-1", "x"]
VALUES = ["=SUM(A1)", "@x", "-5", "+3.2e4", "-/-", "+(x)", "<b>&'\"", "", " pad ", "1,5", "nan"]


def sha(i: int) -> str:
    return hashlib.sha256(str(i).encode()).hexdigest()


@st.composite
def plausible_manifests(draw: st.DrawFn) -> bytes:
    """Manifests a submitter could write: mostly clean, now and then one fault (a bad
    size, a duplicate, a control character, a CR, a blank or short line, a Zarr file)."""
    rng = random.Random(draw(st.integers(0, 2**32)))
    width = rng.randrange(0, 4)
    header = ["path", "size", "sha256", *(f"Col {c}" for c in range(width))]
    lines = ["\t".join(header)]
    for i in range(rng.randrange(0, 40)):
        segments = [rng.choice(NAMES) + str(rng.randrange(9)) for _ in range(rng.randrange(1, 3))]
        path = "/".join(segments) + f"_{i}" + rng.choice(EXTS)
        cells = [path, rng.choice(SIZES[:10]), rng.choice([sha(i), "", f" {sha(i)} "])]
        cells += [rng.choice(VALUES) for _ in range(width)]
        lines.append("\t".join(cells))
        if rng.random() < 0.05:
            lines.append(rng.choice(["", "   ", "\t" * (len(cells) - 1), " \t"]))
    fault = draw(
        st.sampled_from(
            [None] * 12
            + ["size", "dup", "control", "cr", "short", "zarr", "sha", "dots", "formula", "long"]
        )
    )
    if fault and len(lines) > 1:
        at = rng.randrange(1, len(lines))
        cells = lines[at].split("\t")
        if len(cells) == len(header):
            if fault == "size":
                cells[1] = rng.choice(SIZES[10:])
            elif fault == "dup":
                cells[0] = lines[1].split("\t")[0]
            elif fault == "control":
                cells[-1] += "\x07"
            elif fault == "cr":
                cells[0] += "\rx"
            elif fault == "short":
                cells = cells[:-1]
            elif fault == "zarr":
                cells[0] = "plate.ome.zarr/0/.zattrs"
            elif fault == "sha":
                cells[2] = "ABC"
            elif fault == "dots":
                cells[0] = "a/../b"
            elif fault == "formula":
                cells[0] = "=cmd|x"
            elif fault == "long":
                cells[-1] = "e" * 70_000
            lines[at] = "\t".join(cells)
    eol = draw(st.sampled_from(["\n", "\r\n"]))
    bom = draw(st.sampled_from([b"", b"\xef\xbb\xbf"]))
    return bom + (eol.join(lines) + eol * draw(st.booleans())).encode()


def _check(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "m.files.tsv"
        path.write_bytes(data)
        fast = manifest._summarize_clean(path, "m.files.tsv")
        slow, problems = manifest._summarize(path, "m.files.tsv")
        if fast is not None:
            assert problems == [] and fast == slow
        if slow is not None and not problems:
            rows = [cells for _, cells in manifest.iter_cells(path)]
            tables = [t for _, t in manifest.iter_tables(path, 7)]
            assert all(t.num_rows == 7 for t in tables[:-1])
            by_columns = [
                list(r)
                for t in tables
                for r in zip(*(c.to_pylist() for c in t.columns), strict=True)
            ]
            assert by_columns == rows


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plausible_manifests())
def test_a_clean_summary_is_the_row_by_row_one_and_a_fault_is_left_to_it(data: bytes):
    _check(data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_manifests())
def test_hostile_manifests_get_the_row_by_row_problems(data: bytes):
    _check(data)


def test_the_clean_reader_takes_most_manifests(tmp_path: Path):
    """The fast summary is not a path never taken: a plain screen with odd but valid
    cells (sizes with a plus sign, padded hashes, blank lines) is summarised by it."""
    lines = ["path\tsize\tsha256\tPlate\tWell"]
    for i in range(5000):
        size = ["12", " 007 ", "+5", ""][i % 4]
        lines.append(f"P1/W{i}.tif\t{size}\t {sha(i)} \tP1\tA{i % 24 + 1}")
        if i % 1000 == 0:
            lines.append("  \t ")
    path = tmp_path / "screen.files.tsv"
    path.write_text("\n".join(lines) + "\n")
    fast = manifest._summarize_clean(path, "screen.files.tsv")
    assert fast is not None
    assert (fast.count, fast.total_size, fast.unknown_sizes, fast.checksums) == (
        5000,
        1250 * (12 + 7 + 5),
        1250,
        5000,
    )
    path.write_text("\n".join([*lines, lines[1]]) + "\n")  # a duplicate path
    assert manifest._summarize_clean(path, "screen.files.tsv") is None
    _, problems = manifest.summarize(path, "screen.files.tsv")
    assert [p.code for p in problems] == ["E044"]


def test_columns_are_the_functions_of_each_cell():
    rng = random.Random(3)
    alphabet = list("abcXYZ./_-~ %&'\"<>=@+|(éİK") + [".ome.tif", ".ZARR/", ".nii.gz", "١٢"]
    cells = [
        "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 12))) for _ in range(5000)
    ]
    column = pa.array(cells, pa.string())
    assert manifest.formats_of(column).to_pylist() == [file_format(c) for c in cells]
    prefix = "https://data.example/a&b/"
    urls = manifest.urls_of(prefix, column).to_pylist()
    assert urls == [prefix + quote(c, safe="/") for c in cells]
    assert manifest.strip_column(column).to_pylist() == [c.strip() for c in cells]
    assert files.safe_column(column).to_pylist() == [safe_cell(c) for c in cells]
    from markupsafe import escape

    assert files.escape_column(column).to_pylist() == [str(escape(c)) for c in cells]
    sizes = [None, 0, 1, 999, 1000, 1049, 1050, 2250, 2350, 2450, 999_949, 999_950, 10**15]
    sizes += [rng.randrange(10**16) for _ in range(2000)]
    assert files.filesizes(pa.array(sizes, pa.int64())).to_pylist() == [filesize(s) for s in sizes]


def _hostile_demo(tmp_path: Path) -> Path:
    """The demo content with odd but valid rows added: one screen with plates (wells
    spelt several ways) and one study with local images (previews in the table)."""
    content = tmp_path / "content"
    shutil.copytree(DEMO, content)
    rng = random.Random(5)

    def rows(count: int, width: int, plates: bool) -> str:
        out = []
        for i in range(count):
            name = "/".join(rng.choice(NAMES) + str(rng.randrange(9)) for _ in range(2))
            cells = [f"{name}_{i}{rng.choice(EXTS)}", rng.choice(SIZES[:10])]
            cells.append(rng.choice([sha(i), "", f" {sha(i)} "]))
            for c in range(width):
                if plates and c == 0:
                    cells.append(rng.choice(["P1", " P1 ", "P2", "", f"P{rng.randrange(40)}"]))
                elif plates and c == 1:
                    cells.append(rng.choice(["C7", "c07", " C07 ", "AB12", "bad", "A1"]))
                else:
                    cells.append(rng.choice([*VALUES, str(rng.randrange(500)), f"id{i % 300}"]))
            out.append("\t".join(cells) + rng.choice(["\n", "\n", "\r\n"]))
            if i % 97 == 0:
                out.append(rng.choice(["\n", "  \n", "\t" * (len(cells) - 1) + "\n"]))
        return "".join(out)

    for rel, plates in (
        ("S-BIAD9001/screen-a.files.tsv", True),  # Plate, Well, … 9 attributes
        ("S-BIAD9002/images.files.tsv", False),  # local images: a preview column
    ):
        path = content / "studies" / rel
        text = path.read_text()
        width = len(text.splitlines()[0].split("\t")) - 3
        path.write_text(text + rows(3000, width, plates))
    return content


def test_a_dataset_made_a_column_at_a_time_is_the_one_made_row_by_row(tmp_path, monkeypatch):
    """Pages, column chunks, filter facts, plate maps, lists and previews: every byte of
    the site is the same whichever way the file tables were made (the row-by-row code
    is the one that made them before, and still makes small and Zarr datasets)."""
    content = _hostile_demo(tmp_path)
    monkeypatch.setattr(files, "COLUMNS_FROM", 0)
    monkeypatch.setattr(files, "CHUNK_ROWS", 2048)  # several column chunks
    monkeypatch.setattr(files, "BLOCK_ROWS", 512)
    build_site(content, tmp_path / "columns", jobs=1)
    monkeypatch.setattr(files, "COLUMNS_FROM", 10**9)
    build_site(content, tmp_path / "rows", jobs=1)
    columns, rows = tree_digest(tmp_path / "columns"), tree_digest(tmp_path / "rows")
    assert columns.keys() == rows.keys()
    differ = [p for p in columns if columns[p] != rows[p] and p != ".catalogue-state.json"]
    assert differ == []
    previews = (tmp_path / "columns/studies/S-BIAD9002/files/images/data/meta.json").read_text()
    assert '"preview"' in previews
    shards = (tmp_path / "columns/studies/S-BIAD9001/files/screen-a/data").glob("plates-*")
    assert any('"C07":{"n":' in shard.read_text() for shard in shards)


def test_a_big_manifest_is_read_by_a_child_and_arrow_stays_out_of_the_build(tmp_path: Path):
    """The build's own process (whose memory each worker starts with) summarises a big
    manifest without loading Arrow: a forked child reads it and hands back the summary."""
    import subprocess
    import sys

    lines = ["path\tsize\tsha256\tChannel"]
    lines += [f"plate/{i}.tif\t{i}\t{sha(i)}\tGFP" for i in range(20_000)]
    path = tmp_path / "big.files.tsv"
    path.write_text("\n".join(lines) + "\n")
    assert path.stat().st_size > manifest.CLEAN_FROM
    code = (
        "import sys, os\n"
        "from pathlib import Path\n"
        "os.environ['CATALOGUE_CACHE_DIR'] = ''\n"
        "from catalogue.readers import manifest\n"
        "summary, problems = manifest.summarize(Path(sys.argv[1]), 'big.files.tsv')\n"
        "assert problems == [] and summary.count == 20000, (summary, problems)\n"
        "assert summary == manifest._summarize(Path(sys.argv[1]), 'big.files.tsv')[0]\n"
        "print('pyarrow.compute' in sys.modules)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
    )
    assert run.stdout.strip() == "False"
