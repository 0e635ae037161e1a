"""File tables and downloads: plain-HTML pages, column chunks, URL lists, checksums."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from catalogue.steps.files import CHUNK_ROWS

from .conftest import DEMO, ROOTS, build_site, copy_root

ROOT = Path(__file__).resolve().parent.parent


def test_download_urls_are_encoded(tmp_path: Path):
    out = tmp_path / "build"
    build_site(ROOTS / "odd-paths" / "content", out)
    base = out / "studies" / "S-BIAD1" / "files" / "odd"
    urls = (base / "urls.txt").read_text(encoding="utf-8").splitlines()
    assert urls == [
        "https://data.example.org/pub/S-BIAD1/plate%201/well%20%5BA1%5D%20field%20%232.tif",
        "https://data.example.org/pub/S-BIAD1/unicode/Zellkern_%C3%BC_%C2%B5m.ome.tif",
        "https://data.example.org/pub/S-BIAD1/percent/50%25_done%3F.csv",
        "https://data.example.org/pub/S-BIAD1/notes/README.txt",
    ]
    page = (base / "page" / "1" / "index.html").read_text(encoding="utf-8")  # the plain table
    assert 'href="https://data.example.org/pub/S-BIAD1/plate%201/well%20%5BA1%5D' in page
    assert "well [A1] field #2.tif" in page
    # study-level list = all datasets
    study_urls = (out / "studies/S-BIAD1/files/urls.txt").read_text(encoding="utf-8")
    assert study_urls.splitlines() == urls


def test_checksums_in_sha256sum_format(tmp_path: Path):
    out = tmp_path / "build"
    build_site(ROOTS / "odd-paths" / "content", out)
    sums = (out / "studies/S-BIAD1/files/odd/sha256sums.txt").read_text(encoding="utf-8")
    assert (
        sums == f"{'a' * 64}  plate 1/well [A1] field #2.tif\n{'b' * 64}  percent/50%_done?.csv\n"
    )


def test_sha256sums_verifies_real_files(tmp_path: Path):
    """The published checksum file works with the real sha256sum on downloaded files."""
    out = tmp_path / "build"
    build_site(DEMO, out)
    sums = out / "studies" / "S-BIAD9002" / "files" / "sha256sums.txt"
    assert sums.read_text().strip()
    data = DEMO / "data" / "S-BIAD9002"
    result = subprocess.run(
        ["sha256sum", "-c", str(sums)], cwd=data, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert ": OK" in result.stdout


def test_published_manifest_and_commands(tmp_path: Path):
    out = tmp_path / "build"
    build_site(ROOTS / "odd-paths" / "content", out)
    tsv = (out / "studies/S-BIAD1/files/odd/files.tsv").read_text(encoding="utf-8").splitlines()
    assert tsv[0] == "path\tsize\tsha256\tPlate\tWell\tCompound\turl"
    assert tsv[2].split("\t")[-1].endswith("/unicode/Zellkern_%C3%BC_%C2%B5m.ome.tif")
    page = (out / "studies/S-BIAD1/index.html").read_text(encoding="utf-8")
    assert "rsync -av --progress rsync://rsync.example.org/archive/S-BIAD1/ S-BIAD1/" in page
    assert (
        "aws s3 sync s3://bucket-x/studies/S-BIAD1/ S-BIAD1/ --endpoint-url http://127.0.0.1:9000"
        " --no-sign-request" in page
    )
    assert "4 files, 2.2 KB in total" in page
    assert "--cut-dirs=1" in page


def test_column_data_describes_the_table(tmp_path: Path):
    """A dataset of one chunk (2,000 rows) carries its columns in meta.json: one file
    instead of one per column, and a plate map of one shard carries its wells."""
    out = tmp_path / "build"
    build_site(DEMO, out)
    data = out / "studies" / "S-BIAD9001" / "files" / "screen-a" / "data"
    assert sorted(p.name for p in data.iterdir()) == ["meta.json", "plates.json"]
    meta = json.loads((data / "meta.json").read_text())
    assert meta["count"] == 2000
    names = [c["name"] for c in meta["columns"]]
    assert names[:4] == ["path", "size", "sha256", "format"]
    assert {"Plate", "Well", "Compound", "SMILES"} <= set(names)
    plate = meta["columns"][names.index("Plate")]
    assert plate["kind"] == "category" and sum(plate["counts"]) == 2000
    compound = meta["columns"][names.index("Compound")]
    assert meta["chunks"] == 1 and len(meta["data"]) == len(names)
    chunk = meta["data"][names.index("Compound")]
    values = chunk.get("v") or [chunk["d"][i] for i in chunk["i"]]
    assert len(values) == 2000 and compound["kind"] in ("text", "category")
    manifest = (DEMO / "studies/S-BIAD9001/screen-a.files.tsv").read_text().splitlines()[1:]
    assert values == [line.split("\t")[5] for line in manifest]
    sizes = [int(x) if x else None for x in (line.split("\t")[1] for line in manifest)]
    assert meta["data"][names.index("size")] == {"n": sizes}
    plates = json.loads((data / "plates.json").read_text())
    assert {p["shard"] for p in plates["plates"]} == {0}
    assert set(plates["data"]["plates"]) == {p["name"] for p in plates["plates"]}


def test_a_dataset_of_more_than_one_chunk_keeps_column_files(tmp_path: Path):
    """Past CHUNK_ROWS rows a filter must load only its columns: one file per column
    and chunk, which together hold the manifest's values in order."""
    content = copy_root(tmp_path, "odd-paths")
    rows = CHUNK_ROWS + 3
    lines = ["path\tsize\tsha256\tPlate\tWell\tCompound"]
    lines += [
        f"p{i // 96}/f{i}.tif\t{i}\t\tP{i // 96}\tA{i % 12 + 1}\tc{i % 7}" for i in range(rows)
    ]
    (content / "studies" / "S-BIAD1" / "odd.files.tsv").write_text("\n".join(lines) + "\n")
    out = tmp_path / "build"
    build_site(content, out)
    data = out / "studies" / "S-BIAD1" / "files" / "odd" / "data"
    meta = json.loads((data / "meta.json").read_text())
    assert (meta["count"], meta["chunks"], "data" in meta) == (rows, 2, False)
    names = [c["name"] for c in meta["columns"]]
    assert sorted(p.name for p in data.glob("c*.json")) == sorted(
        f"c{c}-{k}.json" for c in range(len(names)) for k in (0, 1)
    )
    path = names.index("path")
    chunks = [json.loads((data / f"c{path}-{k}.json").read_text()) for k in (0, 1)]
    paths = [v for chunk in chunks for v in chunk.get("v") or [chunk["d"][i] for i in chunk["i"]]]
    assert paths == [line.split("\t")[0] for line in lines[1:]]
    plates = json.loads((data / "plates.json").read_text())
    assert "data" not in plates and len(list(data.glob("plates-*.json"))) > 1


def test_plain_html_pages_for_readers_without_javascript(tmp_path: Path):
    content = tmp_path / "content"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "synth.py"),
            "--studies",
            "1",
            "--files-per-study",
            "10",
            "--big-study-files",
            "20000",
            "--out",
            str(content),
        ],
        check=True,
        capture_output=True,
    )
    out = tmp_path / "build"
    build_site(content, out, today=__import__("datetime").date(2030, 1, 1))
    base = out / "studies" / "S-BIAD2" / "files" / "screen"
    interactive = (base / "index.html").read_text()
    assert '<tr><td class="path">' not in interactive  # no hidden copy of the rows
    assert 'href="/studies/S-BIAD2/files/screen/page/1/"' in interactive
    assert len(interactive.encode()) < 30_000
    first = (base / "page" / "1" / "index.html").read_text()
    assert first.count('<tr><td class="path">') == 500
    assert 'href="/studies/S-BIAD2/files/screen/page/2/"' in first
    last = (base / "page" / "40" / "index.html").read_text()
    assert last.count('<tr><td class="path">') == 500
    assert not (base / "page" / "41").exists()
    assert "Files 19,501–20,000 of 20,000" in last
    # the study page stays small whatever the number of files
    study = (out / "studies" / "S-BIAD2" / "index.html").stat().st_size
    assert study < 200_000
    assert len((base / "urls.txt").read_text().splitlines()) == 20000
    meta = json.loads((base / "data" / "meta.json").read_text())
    assert meta["chunks"] == 1 and meta["count"] == 20000 and len(meta["data"][0]["v"]) == 20000
    assert not list((base / "data").glob("c*.json"))


def test_file_tables_are_incremental(tmp_path: Path):
    content = copy_root(tmp_path, "odd-paths")
    out = tmp_path / "build"
    build_site(content, out)
    messages = build_site(content, out)
    assert any("(0 steps run," in m for m in messages), messages


def test_file_table_shows_previews_and_viewer_links(demo_site: Path):
    base = demo_site / "studies" / "S-BIAD9009" / "files" / "plate"
    page = (base / "page" / "1" / "index.html").read_text(encoding="utf-8")
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = [r for r in body.split("<tr>") if r.strip()]
    # the OME-Zarr is one row (one image), not one per chunk: its folder, total size,
    # file count and shape, with its preview and viewer links
    assert len(rows) == 1, rows
    assert rows[0].startswith('<td class="path">human_plate.ome.zarr/</td>')
    manifest = (DEMO / "studies" / "S-BIAD9009" / "plate.files.tsv").read_text().splitlines()
    total = sum(int(line.split("\t")[1]) for line in manifest[1:])
    assert f'data-v="{total}"' in rows[0]
    assert f"<td>{len(manifest) - 1} files · plate of 1 well, 1 field · first field " in rows[0]
    assert "3 × 512 × 512 (c, y, x) · uint8 · 5 levels" in rows[0]
    assert 'td class="preview"><img' in rows[0]
    assert ">Vizarr</a>" in rows[0] and ">Neuroglancer</a>" in rows[0]
    assert "human_plate.ome.zarr/D/3/0" in rows[0]  # Neuroglancer opens the first field
    assert "No files" not in page and "Rows 1–1 of 1" in page
    # every file stays in the download lists
    urls = (base / "urls.txt").read_text().splitlines()
    assert len(urls) == len(manifest) - 1 and urls[0].endswith("/human_plate.ome.zarr/.zattrs")
    assert len((base / "files.tsv").read_text().splitlines()) == len(manifest)
    meta = json.loads((base / "data" / "meta.json").read_text())
    assert meta["count"] == 1 and meta["files"] == len(manifest) - 1 and meta["images"] == 1
    assert meta["columns"][-1] == {"kind": "preview", "name": "preview"}
    assert [c["kind"] for c in meta["columns"][-3:-1]] == ["count", "image"]
    assert meta["data"][4] == {"n": [len(manifest) - 1]}
    formats = {c["name"]: c for c in meta["columns"]}["format"]
    assert formats["values"] == ["OME-Zarr"]
    study = (demo_site / "studies" / "S-BIAD9009" / "index.html").read_text(encoding="utf-8")
    assert study.count("Open in viewer:") == 2


def test_wheel_carries_the_templates(tmp_path: Path):
    """A non-editable install (as CI workflows do) must find the templates."""
    import zipfile

    # build from a copy: setuptools writes a build/ folder, which is also the site's
    src = tmp_path / "src"
    shutil.copytree(
        ROOT,
        src,
        ignore=shutil.ignore_patterns(
            ".git", "build", "content", "tests", "*.egg-info", "__pycache__"
        ),
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(src)],
        check=True,
        capture_output=True,
    )
    wheel = next(tmp_path.glob("catalogue-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in (
        "study.html",
        "files.html",
        "static/files.js",
        "static/files-worker.js",
        "static/style.css",
    ):
        assert f"catalogue/site_templates/{name}" in names
    assert "catalogue/data/ncbi-taxa.tsv" in names


def test_zarr_images_are_one_row_each_and_every_file_stays_in_the_lists(tmp_path: Path):
    """A manifest listing a zarr's files (even interleaved with other files), or only its
    folder: the table has one row per image, the lists every file."""
    content = copy_root(tmp_path, "odd-paths")
    data = content / "data" / "S-BIAD1"
    data.mkdir(parents=True)
    sample = ROOT / "tests" / "data" / "images" / "human_D03_3ch.ome.zarr"
    shutil.copytree(sample, data / "a.ome.zarr")
    zarr_files = sorted(
        p.relative_to(data).as_posix() for p in (data / "a.ome.zarr").rglob("*") if p.is_file()
    )
    sizes = {p: (data / p).stat().st_size for p in zarr_files}
    lines = ["path\tsize\tsha256\tPlate\tWell\tCompound"]
    half = len(zarr_files) // 2
    rows = [
        f"{p}\t{sizes[p]}\t\tP1\t{'A1' if i < half else 'A2'}\tDMSO"
        for i, p in enumerate(zarr_files)
    ]
    lines += rows[:half]
    lines.append("notes/readme.txt\t12\t\tP1\tB1\tnone")  # between the zarr's files
    lines += rows[half:]
    lines.append("b.ome.zarr\t5000\t\tP2\tA1\ttaxol")  # a zarr listed as its folder only
    manifest = content / "studies" / "S-BIAD1" / "odd.files.tsv"
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "build"
    build_site(content, out)
    base = out / "studies" / "S-BIAD1" / "files" / "odd"
    page = (base / "page" / "1" / "index.html").read_text(encoding="utf-8")
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows_html = [r for r in body.split("<tr>") if r.strip()]
    assert len(rows_html) == 3
    first, other, folder = rows_html
    assert first.startswith('<td class="path">a.ome.zarr/</td>')  # no download link
    assert f'data-v="{sum(sizes.values())}"' in first
    assert f"{len(zarr_files)} files · 3 × 512 × 512 (c, y, x) · uint8 · 5 levels" in first
    # shared values stay, values that differ inside the image are left empty
    assert "<td>P1</td><td></td><td>DMSO</td>" in first
    assert "readme.txt" in other and "download>" in other
    assert folder.startswith('<td class="path">b.ome.zarr/</td>') and "<td>1 file</td>" in folder
    assert "Rows 1–3 of 3" in page
    urls = (base / "urls.txt").read_text().splitlines()
    assert len(urls) == len(zarr_files) + 2
    assert sum("/a.ome.zarr/" in u for u in urls) == len(zarr_files)
    aria2 = (base / "aria2.txt").read_text()
    assert aria2.count("out=S-BIAD1/a.ome.zarr/") == len(zarr_files)
    meta = json.loads((base / "data" / "meta.json").read_text())
    assert (meta["count"], meta["files"], meta["images"]) == (3, len(zarr_files) + 2, 2)
    study = (out / "studies" / "S-BIAD1" / "index.html").read_text(encoding="utf-8")
    assert f"{len(zarr_files) + 2} files, {len(zarr_files) + 1} of them in 2 Zarr images" in study
    assert f'a.ome.zarr/ <span class="muted">(Zarr image, {len(zarr_files)} files)' in study
