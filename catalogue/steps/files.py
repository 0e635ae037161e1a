"""File tables and downloads of each dataset, streamed from the manifest.

For every dataset with a manifest this writes, under ``studies/<ACC>/files/<dataset>/``:

- ``index.html`` and ``page/<n>/index.html``: the file table in plain HTML, PAGE_ROWS rows
  a page, readable without JavaScript; the script on the page turns it into a sortable,
  filterable table over the whole dataset;
- ``data/meta.json`` and ``data/c<column>-<chunk>.json``: the columns of the manifest cut
  into chunks of CHUNK_ROWS rows, which the browser's worker fetches only when a filter,
  a sort or the visible page needs them. A dataset of one chunk carries its columns in
  ``meta.json`` instead (see ``inline_columns``);
- ``files.tsv`` (the manifest plus a ``url`` column), ``urls.txt`` (for ``wget -i`` or
  ``aria2c -i``) and ``sha256sums.txt`` (``sha256sum -c`` format, paths relative to the
  study folder).

and, per study, ``studies/<ACC>/files/urls.txt`` and ``sha256sums.txt`` over all datasets.

Nothing here holds a whole manifest: rows flow from the TSV to the open output files, and
only per-chunk buffers and capped per-column statistics are kept.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote, urlparse

from markupsafe import Markup, escape

from catalogue.formats import IMAGE_FORMATS, file_format, zarr_root
from catalogue.model import Dataset, ManifestSummary, StudyEntry
from catalogue.pipeline.output import dumps_json
from catalogue.pipeline.plan import Step, StepResult, digest_of
from catalogue.readers.manifest import (
    Positions,
    by_python,
    column_positions,
    formats_of,
    iter_cells,
    iter_tables,
    strip_column,
    urls_of,
)
from catalogue.render import filesize
from catalogue.spreadsheet import safe_cell
from catalogue.steps.context import RenderContext
from catalogue.steps.plates import PlateCollector, plate_columns, shard_count, used_shards

# 2: one-chunk datasets inline their columns, one plate shard inline; 3: no empty shards
FILES_VERSION = "3"
PAGE_ROWS = 500
CHUNK_ROWS = 65_536
BLOCK_ROWS = CHUNK_ROWS // 16  # rows made at once: a chunk is whole blocks
COLUMNS_FROM = BLOCK_ROWS  # rows from which a dataset's tables are made a column at a time
# the download lists written per dataset and per study (see download_commands)
LISTS = ("urls.txt", "sha256sums.txt", "aria2.txt", "curl.txt")
CATEGORY_LIMIT = 200  # a column with at most this many distinct values gets a value list
# a text column with more, up to this many, gets a box that suggests its values as one
# types and filters to the exact value chosen (a screen's 1,836 compounds); beyond, the
# values are identifiers or free text and a substring box is all that helps
PICKER_LIMIT = 20_000

Opener = Callable[[str], IO[bytes]]


def tsv_line(path: str, raw_size: str, sha: str, attributes: Iterable[str], url: str) -> str:
    """One line of a dataset's ``files.tsv``. Its own function because ``steps/croissant.py``
    declares the file's sha256 without writing it, from these same lines; attribute cells
    are made safe for spreadsheets (``spreadsheet.py``)."""
    size = raw_size if raw_size.isdigit() else ""
    return "\t".join([path, size, sha, *(safe_cell(a) for a in attributes), url]) + "\n"


def dataset_dir(accession: str, dataset_id: str) -> str:
    return f"studies/{accession}/files/{dataset_id}"


def page_path(accession: str, dataset_id: str, number: int) -> str:
    """The plain-HTML page *number* of the file table (``page/1/`` is the first); the
    dataset's ``index.html`` is the interactive table, which links to these instead of
    carrying a copy of 500 rows that its script would hide."""
    return f"{dataset_dir(accession, dataset_id)}/page/{number}/index.html"


def page_count(count: int) -> int:
    return max(1, math.ceil(count / PAGE_ROWS))


PREVIEW = "preview"  # the column of thumbnails and viewer links, last when present
# with Zarr images: how many files a row stands for (empty for a plain file) and a line on
# the image (its file count, shape, axes, type), before the preview
IMAGE_COLUMNS = ("files", "image")


def columns_of(summary: ManifestSummary, preview: bool) -> list[str]:
    images = IMAGE_COLUMNS if summary.images else ()
    return ["path", "size", "sha256", "format", *summary.columns, *images] + (
        [PREVIEW] if preview else []
    )


def preview_key(path: str) -> str | None:
    """Which local image a manifest row stands for: itself, or, for the root metadata file
    of an OME-Zarr (``x.ome.zarr/.zattrs`` or ``zarr.json``), the zarr folder. Files inside
    a zarr get no preview of their own (one preview per zarr, not one per chunk)."""
    root = zarr_root(path)
    if root is None:
        return path
    if path.rstrip("/") == root or path in (f"{root}/.zattrs", f"{root}/zarr.json"):
        return root
    return None


def previews_of(ctx: RenderContext, accession: str) -> dict[str, dict[str, Any]]:
    """path -> {"src", "w", "h", "links"} for a study's local images and OME-Zarrs."""
    thumbs, viewers = ctx.local_of(accession)
    out: dict[str, dict[str, Any]] = {}
    for path, thumb in thumbs.items():
        if thumb.ok:
            out.setdefault(path, {}).update(src=thumb.url, w=thumb.width, h=thumb.height)
    for path, links in viewers.items():
        out.setdefault(path, {})["links"] = [list(link) for link in links]
    return out


def inline_columns(rows: int) -> bool:
    """Whether a dataset's column data goes inside ``meta.json`` rather than one file per
    column and chunk. With a single chunk the browser fetches every column of it for the
    first page anyway (``loadRows`` in files-worker.js), so separate files only add
    requests and, for mirrors and object stores, files: 11 for a 50-row, 8-attribute
    screen. Larger datasets keep the chunks, so a filter loads only its columns."""
    return rows <= CHUNK_ROWS


def plate_shards(summary: ManifestSummary) -> list[int]:
    """The ``plates-<k>.json`` a screen gets: those of the shards its plates fall in."""
    plate_well = plate_columns(summary.columns)
    if plate_well is None or inline_plates(summary.count):
        return []
    names = dict(summary.values).get(plate_well[0])
    return used_shards(names, shard_count(summary.count))


def inline_plates(rows: int) -> bool:
    """Whether the wells of every plate go inside ``plates.json``: when there would be one
    shard, which the plate map fetches for its first plate anyway."""
    return shard_count(rows) == 1


def dataset_outputs(
    accession: str, ds: Dataset, summary: ManifestSummary, preview: bool
) -> list[str]:
    base = dataset_dir(accession, ds.id)
    chunks = 0 if inline_columns(summary.items) else math.ceil(summary.items / CHUNK_ROWS)
    outputs = [f"{base}/index.html"]
    outputs += [page_path(accession, ds.id, n) for n in range(1, page_count(summary.items) + 1)]
    outputs += [f"{base}/data/meta.json"]
    n_columns = len(columns_of(summary, preview))
    outputs += [f"{base}/data/c{c}-{k}.json" for c in range(n_columns) for k in range(chunks)]
    outputs += [f"{base}/files.tsv", *(f"{base}/{n}" for n in LISTS)]
    if plate_columns(summary.columns):
        outputs += [f"{base}/data/plates.json"]
        outputs += [f"{base}/data/plates-{k}.json" for k in plate_shards(summary)]
    return outputs


class ColumnStats:
    """Per-column facts for the filter UI, with memory bounded by CATEGORY_LIMIT."""

    def __init__(self) -> None:
        self.counts: Counter[str] | None = Counter()
        self.distinct: set[str] | None = None  # once counts overflow, up to PICKER_LIMIT
        self.numeric = True
        self.filled = 0
        self.low: float | None = None
        self.high: float | None = None
        self.comma = False  # decimals written with a comma ("99,94"), as in much lab output
        self.comma_ambiguous = True  # every comma had 3 digits after it: maybe thousands

    def add(self, value: str, count: int = 1) -> None:
        """``count`` rows of ``value``: the facts depend on how often each value comes, not
        on the order of the rows, so a block of rows can be added a distinct value at a
        time (``add_column``)."""
        if value == "":
            return
        self.filled += count
        if self.counts is not None:
            self.counts[value] += count
            if len(self.counts) > CATEGORY_LIMIT:
                self.distinct = set(self.counts)
                self.counts = None
        elif self.distinct is not None:
            self.distinct.add(value)
            if len(self.distinct) > PICKER_LIMIT:
                self.distinct = None
        if self.numeric:
            number = parse_number(value)
            if number is None:
                self.numeric = False
                return
            if "," in value:
                self.comma = True
                self.comma_ambiguous &= len(value.split(",", 1)[1]) == 3
            if math.isnan(number) or math.isinf(number):
                self.numeric = False
                return
            self.low = number if self.low is None else min(self.low, number)
            self.high = number if self.high is None else max(self.high, number)

    def add_column(self, values: Any) -> None:
        """``add`` of every value of a pyarrow string array."""
        import pyarrow.compute as pc

        if self.counts is None and self.distinct is None and not self.numeric:
            self.filled += len(values) - (pc.sum(pc.equal(values, "")).as_py() or 0)
            return
        counted = pc.value_counts(values)
        for value, count in zip(
            counted.field("values").to_pylist(), counted.field("counts").to_pylist(), strict=True
        ):
            self.add(value, count)

    def add_sizes(self, sizes: Any) -> None:
        """``add`` of the known sizes of a pyarrow int64 array, as the size column does
        (digits only: numbers, no comma, no distinct values kept)."""
        import pyarrow.compute as pc

        known = len(sizes) - sizes.null_count
        if not known:
            return
        bounds = pc.min_max(sizes).as_py()
        self.filled += known
        low, high = float(bounds["min"]), float(bounds["max"])
        self.low = low if self.low is None else min(self.low, low)
        self.high = high if self.high is None else max(self.high, high)

    def describe(self, name: str, kind: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"name": name}
        if self.comma and self.comma_ambiguous:
            self.numeric = False  # "1,234": a thousands separator or a decimal? neither guess
        if kind is None:
            if self.numeric and self.filled:
                kind = "number"
            elif self.counts is not None:
                kind = "category"
            else:
                kind = "text"
        out["kind"] = kind
        if self.counts is not None and kind in ("category", "number"):
            values = sorted(self.counts.items(), key=lambda kv: _sort_key(kv[0], self.numeric))
            out["values"] = [v for v, _ in values]
            out["counts"] = [n for _, n in values]
        if kind == "text" and self.distinct is not None:
            out["distinct"] = len(self.distinct)  # the browser offers a value picker
        if kind in ("number", "size") and self.low is not None:
            out["min"], out["max"] = _num(self.low), _num(self.high)
        if kind == "number" and self.comma:
            out["decimal"] = ","
        return out


def _num(x: float | None) -> float | int | None:
    if x is None:
        return None
    return int(x) if x.is_integer() and abs(x) < 2**53 else x


DECIMAL_COMMA_RE = re.compile(r"[+-]?\d+,\d+")


def parse_number(value: str) -> float | None:
    """A finite number written with a decimal dot or a decimal comma, else None."""
    text = value.strip()
    if "," in text and DECIMAL_COMMA_RE.fullmatch(text):  # most values have no comma
        text = text.replace(",", ".")
    try:
        number = float(text)
    except ValueError:
        return None
    return None if math.isnan(number) or math.isinf(number) else number


def _sort_key(value: str, numeric: bool) -> tuple[float, str]:
    if numeric:
        number = parse_number(value)
        if number is not None:
            return (number, value)
    return (0.0, value)


def _encode_chunk(values: list[Any], numeric: bool) -> dict[str, list[Any]]:
    """A column chunk: numbers as a list; strings dictionary-encoded when that is smaller."""
    if numeric:
        return {"n": list(values)}
    distinct: dict[str, int] = {}
    codes = [distinct.setdefault(v, len(distinct)) for v in values]
    if len(distinct) * 4 <= len(values):
        return {"d": list(distinct), "i": codes}
    return {"v": list(values)}


def _row_html(
    url: str | None,
    path: str,
    size: int | None,
    fmt: str,
    attributes: list[str],
    image: str | None,
    preview: dict[str, Any] | None,
    with_images: bool,
    with_preview: bool,
) -> str:
    """One row of the plain table. A Zarr image (``url`` None) is one row with no link of
    its own: its folder is no file a static host serves; its files are in the lists."""
    name = (
        f'<a href="{escape(url)}" download>{escape(path)}</a>'
        if url is not None
        else f"{escape(path)}/"
    )
    cells = [
        f'<td class="path">{name}</td>',
        f'<td class="num" data-v="{"" if size is None else size}">{filesize(size)}</td>',
        f"<td>{escape(fmt)}</td>",
    ]
    cells += [f"<td>{escape(v)}</td>" for v in attributes]
    if with_images:
        cells.append(f"<td>{escape(image or '')}</td>")
    if with_preview:
        cells.append(f'<td class="preview">{_preview_html(preview)}</td>')
    return "<tr>" + "".join(cells) + "</tr>\n"


class ZarrImage:
    """What one Zarr folder's rows add up to: the row the file table shows for it."""

    __slots__ = ("files", "size", "unknown", "attributes")

    def __init__(self, attributes: list[str]) -> None:
        self.files = 0
        self.size = 0
        self.unknown = 0
        # the value every file of the image shares, None where they differ
        self.attributes: list[str | None] = list(attributes)

    def add(self, size: int | None, attributes: list[str]) -> None:
        self.files += 1
        if size is None:
            self.unknown += 1
        else:
            self.size += size
        for j, value in enumerate(attributes):
            if self.attributes[j] is not None and self.attributes[j] != value:
                self.attributes[j] = None

    def describe(self, details: str | None) -> str:
        count = f"{self.files:,} file{'s' * (self.files != 1)}"
        return f"{count} · {details}" if details else count


def zarr_images(manifest: Path) -> dict[str, ZarrImage]:
    """A first pass over a manifest that has Zarr folders: each one's totals, so that its
    one row can be written where its first file comes. Memory grows with the images,
    not with their files."""
    out: dict[str, ZarrImage] = {}
    positions: tuple[int, int, list[int]] | None = None
    for head, cells in iter_cells(manifest):
        if positions is None:
            known = ("path", "size", "sha256")
            positions = (
                head.index("path"),
                head.index("size"),
                [i for i, c in enumerate(head) if c not in known],
            )
        pi, si, ai = positions
        root = zarr_root(cells[pi])
        if root is None:
            continue
        raw = cells[si].strip()
        attributes = [cells[a] for a in ai]
        image = out.get(root)
        if image is None:
            image = out[root] = ZarrImage(attributes)
        image.add(int(raw) if raw.isdigit() else None, attributes)
    return out


def _preview_html(preview: dict[str, Any] | None) -> str:
    if not preview:
        return ""
    out = ""
    if "src" in preview:
        w, h = preview["w"], preview["h"]
        scale = 64 / max(w, h, 1)
        out += (
            f'<img src="{escape(preview["src"])}" width="{max(1, round(w * scale))}" '
            f'height="{max(1, round(h * scale))}" alt="" loading="lazy">'
        )
    for label, link in preview.get("links", []):
        out += f' <a class="viewer" href="{escape(link)}">{escape(label)}</a>'
    return out


def _write_dataset(
    ctx: RenderContext,
    entry: StudyEntry,
    ds: Dataset,
    summary: ManifestSummary,
    manifest: Path,
    open_output: Opener,
    study_lists: bool = False,
) -> StepResult:
    """``study_lists``: the dataset is the study's only one, whose lists are then the
    study's too (the same bytes, written here rather than by a second pass)."""
    import pyarrow as pa

    acc = entry.accession
    base = dataset_dir(acc, ds.id)
    previews = previews_of(ctx, acc)
    with_preview = bool(previews)
    columns = columns_of(summary, with_preview)
    with_images = summary.images > 0
    # row by row: Zarr images (one row for many files) and small datasets, for which
    # Arrow's start-up costs more than it saves (a 50-row dataset: 6 ms, not 2)
    by_rows = with_images or summary.count < COLUMNS_FROM
    # size, and with Zarr images their file counts, are number chunks
    numeric = [False, True, False, False] + [False] * len(summary.columns)
    numeric += [True, False] if with_images else []
    numeric += [False] if with_preview else []
    # statistics for the filter UI: format and the attribute columns (path and hash are
    # free text by nature; size gets a numeric range)
    stats = {c: ColumnStats() for c in range(3, 4 + len(summary.columns))}
    size_stats = ColumnStats()
    size_stats.counts = None
    # a chunk's values per column: Python values (rows with Zarr images) or pyarrow arrays
    buffers: list[list[Any]] = [[] for _ in columns]
    held = 0  # rows in buffers
    chunk_no = 0
    inline = inline_columns(summary.items)
    inlined: list[dict[str, list[Any]]] = []  # with ``inline``: the one chunk, per column
    page_rows: list[bytes] = []  # the HTML of the rows of the page being filled
    page_held = 0  # rows in page_rows
    page_no = 0
    pages = page_count(summary.items)
    template = ctx.env.get_template("files.html")
    url_prefix = ctx.data_file_url(acc, "")
    plate_well = plate_columns(summary.columns)
    plates: PlateCollector | None = None
    if plate_well:
        plates = PlateCollector([c for c in summary.columns if c not in plate_well])

    def flush_chunk() -> None:
        nonlocal chunk_no, held
        for c, values in enumerate(buffers):
            if inline:  # Python values, into meta.json
                listed = values if by_rows else pa.concat_arrays(values).to_pylist()
                inlined.append(_encode_chunk(listed, numeric[c]))
            else:
                with open_output(f"{base}/data/c{c}-{chunk_no}.json") as fh:
                    if by_rows:
                        fh.write(dumps_json(_encode_chunk(values, numeric[c])))
                    else:
                        fh.write(_encode_arrays(values, numeric[c], unique=c == 0))
            values.clear()
        chunk_no += 1
        held = 0

    def render(number: int, interactive: bool, rows: list[bytes]) -> bytes:
        return template.render(
            **ctx.page_globals(),
            entry=entry,
            study=entry.study,
            dataset=ds,
            summary=summary,
            columns=summary.columns,
            with_preview=with_preview,
            with_images=with_images,
            rows=Markup(b"".join(rows).decode("utf-8")),
            page=number,
            pages=pages,
            first_row=(number - 1) * PAGE_ROWS + 1,
            page_url=lambda n: f"{ctx.root}/" + page_path(acc, ds.id, n).removesuffix("index.html"),
            page_rows=PAGE_ROWS,
            interactive=interactive,
            plate_well=plate_well,
            ctx_commands=lambda lists: download_commands(ctx, acc, lists, summary.checksums),
        ).encode("utf-8")

    def flush_page() -> None:
        nonlocal page_no, page_held
        page_no += 1
        with open_output(page_path(acc, ds.id, page_no)) as fh:
            fh.write(render(page_no, False, page_rows))
        page_rows.clear()
        page_held = 0

    def add_rows(html: Any) -> None:
        """Rows of the plain table (a pyarrow string array) onto the pages, PAGE_ROWS a
        page: each page's share of the array is one slice of its bytes."""
        nonlocal page_held
        start = 0
        while start < len(html):
            take = min(PAGE_ROWS - page_held, len(html) - start)
            page_rows.append(_bytes(html.slice(start, take)))
            page_held += take
            start += take
            if page_held == PAGE_ROWS:
                flush_page()

    header = "\t".join(["path", "size", "sha256", *summary.columns, "url"]) + "\n"
    with ExitStack() as stack:
        tsv = stack.enter_context(open_output(f"{base}/files.tsv"))
        tsv.write(header.encode())
        folders = [base, f"studies/{acc}/files"] if study_lists else [base]
        lists = [
            [stack.enter_context(open_output(f"{folder}/{name}")) for folder in folders]
            for name in LISTS
        ]
        rows = (
            _rows(ctx, acc, summary, manifest, previews, plates, plate_well)
            if by_rows
            else _plain_rows(acc, summary, manifest, previews, plates, plate_well, url_prefix)
        )
        image_bytes = other_bytes = 0
        for block in rows:
            tsv.write(block.tsv)
            for copies, data in zip(lists, block.lists, strict=True):
                for fh in copies:
                    fh.write(data)
            for c, st in stats.items():
                if by_rows:
                    for value in block.filtered[c - 3]:
                        st.add(value)
                else:
                    st.add_column(block.filtered[c - 3])
            if by_rows:
                for raw_size in block.sizes:
                    size_stats.add(raw_size)
            else:
                size_stats.add_sizes(block.sizes)
            image_bytes += block.image_bytes
            other_bytes += block.other_bytes
            add_rows(pa.array(block.html, pa.string()) if by_rows else block.html)
            for c, values in enumerate(block.values):
                if by_rows:
                    buffers[c].extend(values)
                else:
                    buffers[c].append(values)
            held += block.count
            if held >= CHUNK_ROWS:
                flush_chunk()
    if held:
        flush_chunk()
    if page_held or page_no == 0:
        flush_page()
    with open_output(f"{base}/index.html") as fh:
        fh.write(render(1, True, []))
    described = [
        {"name": "path", "kind": "path"},
        size_stats.describe("size", "size"),
        {"name": "sha256", "kind": "hash"},
        *(
            stats[c].describe(name, "category" if c == 3 else None)
            for c, name in enumerate(columns)
            if c in stats
        ),
        *(
            [{"name": "files", "kind": "count"}, {"name": "image", "kind": "image"}]
            if with_images
            else []
        ),
        *([{"name": PREVIEW, "kind": "preview"}] if with_preview else []),
    ]
    meta = {
        "version": FILES_VERSION,
        "accession": acc,
        "dataset": ds.id,
        "count": summary.items,
        "files": summary.count,
        "images": summary.images,
        "total_size": summary.total_size,
        "unknown_sizes": summary.unknown_sizes,
        "chunk_rows": CHUNK_ROWS,
        "chunks": chunk_no,
        "data_url": url_prefix,
        "image_formats": sorted(IMAGE_FORMATS),
        "columns": described,
    }
    if inline:
        meta["data"] = inlined  # chunk 0 of each column, as a c<column>-0.json would hold
    with open_output(f"{base}/data/meta.json") as fh:
        fh.write(dumps_json(meta))
    if plates is not None and plate_well is not None:
        shards = shard_count(summary.count)
        index = plates.index(shards)
        plate_index = {"plate_column": plate_well[0], "well_column": plate_well[1], **index}
        if inline_plates(summary.count):
            plate_index["data"] = plates.shard(0, 1)  # what plates-0.json would hold
        with open_output(f"{base}/data/plates.json") as fh:
            fh.write(dumps_json(plate_index))
        written = set(plate_shards(summary))
        if {p["shard"] for p in index["plates"]} - written and not inline_plates(summary.count):
            # the summary's plate names and the rows disagree
            raise ValueError(f"a plate shard of {base} holds plates the summary lacks")
        for k in sorted(written):
            with open_output(f"{base}/data/plates-{k}.json") as fh:
                fh.write(dumps_json(plates.shard(k, shards)))
    return StepResult(files={}, info={"image_bytes": image_bytes, "other_bytes": other_bytes})


@dataclass
class _Block:
    """What a run of manifest rows adds to a dataset's outputs: the bytes of its lines in
    files.tsv and the four lists, its rows of the plain table, and per column of the
    column data and of the filter facts its values (Python lists, or pyarrow arrays)."""

    count: int  # rows of the file table (a Zarr image is one)
    tsv: bytes
    lists: tuple[bytes, bytes, bytes, bytes]  # urls.txt, sha256sums.txt, aria2.txt, curl.txt
    html: Any  # the rows of the plain table: a pyarrow string array, or a list of str
    values: list[Any]  # per column of the column data
    filtered: list[Any]  # format and the attributes, for ColumnStats
    sizes: Any  # the known sizes, for the size column's range
    image_bytes: int
    other_bytes: int


def _plain_rows(
    acc: str,
    summary: ManifestSummary,
    manifest: Path,
    previews: dict[str, dict[str, Any]],
    plates: PlateCollector | None,
    plate_well: tuple[str, str] | None,
    url_prefix: str,
) -> Iterator[_Block]:
    """The blocks of a dataset without Zarr images: one row of the table per manifest row,
    each output made a whole column at a time (pyarrow compute) rather than a cell at a
    time: 13 million cells of a 1.3-million-row screen escaped in C, not by one
    ``markupsafe.escape`` call each."""
    import pyarrow as pa
    import pyarrow.compute as pc

    image_formats = pa.array(sorted(IMAGE_FORMATS), pa.string())
    preview_paths = pa.array(sorted(previews), pa.string())
    positions: Positions | None = None
    for head, table in iter_tables(manifest, BLOCK_ROWS):
        cols = [c.combine_chunks() for c in table.columns]
        if positions is None:
            positions = column_positions(head, summary.columns)
        pi, si, hi, ai = positions
        n = table.num_rows
        path = cols[pi]
        raw_size = strip_column(cols[si])
        digits = pc.match_substring_regex(raw_size, r"^[0-9]+$")
        listed_size = pc.if_else(digits, raw_size, "")  # files.tsv: the digits as written
        size = pc.cast(pc.if_else(digits, raw_size, pa.scalar(None, pa.string())), pa.int64())
        odd = pc.and_(pc.invert(digits), pc.not_equal(raw_size, ""))
        if pc.any(odd).as_py():  # other digits str.isdigit() takes ("١٢"): row by row
            others = raw_size.filter(odd).to_pylist()
            size = pc.replace_with_mask(
                size, odd, pa.array([int(v) if v.isdigit() else None for v in others], pa.int64())
            )
            listed_size = pc.replace_with_mask(
                listed_size, odd, pa.array([v if v.isdigit() else "" for v in others], pa.string())
            )
        sha = strip_column(cols[hi]) if hi is not None else _blank(n)
        attributes = [cols[a] for a in ai]
        fmt = formats_of(path)
        url = urls_of(url_prefix, path)
        is_image = pc.is_in(fmt, value_set=image_formats)
        image_bytes = pc.sum(pc.if_else(is_image, size, 0)).as_py() or 0
        other_bytes = pc.sum(pc.if_else(is_image, 0, size)).as_py() or 0
        line = pc.binary_join_element_wise(path, listed_size, sha, *attributes, url, "\t")
        # one look at the whole line says whether any cell needs a look of its own: none
        # starts like a formula (size, hash and URL never do), none has markup to escape
        if attributes and pc.any(pc.match_substring_regex(line, "\t[-=+@]")).as_py():
            safe = (safe_column(a) for a in attributes)
            line = pc.binary_join_element_wise(path, listed_size, sha, *safe, url, "\t")
        tsv = _bytes(_cat(line, "\n"))
        # (the format comes from the path's own characters)
        markup = pc.any(pc.match_substring_regex(line, "[&<>'\"]")).as_py()
        escaped = escape_column if markup else _same
        lists = _list_lines(acc, path, sha, url)
        # the previews of the rows that have one (a study's local images: a few)
        preview_html = preview_json = None
        thumbs: list[tuple[int, str]] = []
        if previews:
            has = pc.is_in(path, value_set=preview_paths)
            if pc.any(has).as_py():
                rows = pc.indices_nonzero(has).to_pylist()
                found = [previews[p] for p in path.filter(has).to_pylist()]
                thumbs = [(r, f["src"]) for r, f in zip(rows, found, strict=True) if f.get("src")]
                blank = _blank(n)
                preview_html = pc.replace_with_mask(
                    blank, has, pa.array([_preview_html(f) for f in found], pa.string())
                )
                preview_json = pc.replace_with_mask(
                    blank,
                    has,
                    pa.array([dumps_json(f).decode().strip() for f in found], pa.string()),
                )
            else:
                preview_html = preview_json = _blank(n)
        if plates is not None and plate_well is not None:
            p_at, w_at = (summary.columns.index(c) for c in plate_well)
            kept = [
                a for c, a in zip(summary.columns, attributes, strict=True) if c not in plate_well
            ]
            plates.add_block(attributes[p_at], attributes[w_at], kept, thumbs)
        cells: list[Any] = [
            '<tr><td class="path"><a href="',
            escaped(url),
            '" download>',
            escaped(path),
            '</a></td><td class="num" data-v="',
            pc.fill_null(pc.cast(size, pa.string()), ""),
            '">',
            filesizes(size),
            "</td><td>",
            escaped(fmt),
            "</td>",
        ]
        for a in attributes:
            cells += ["<td>", escaped(a), "</td>"]
        if preview_html is not None:
            cells += ['<td class="preview">', preview_html, "</td>"]
        cells.append("</tr>\n")
        html = pc.binary_join_element_wise(
            *(pa.scalar(c, pa.string()) if isinstance(c, str) else c for c in cells), ""
        )
        values = [path, size, sha, fmt, *attributes]
        if preview_json is not None:
            values.append(preview_json)
        yield _Block(
            count=n,
            tsv=tsv,
            lists=lists,
            html=html,
            values=values,
            filtered=[fmt, *attributes],
            sizes=size,
            image_bytes=image_bytes,
            other_bytes=other_bytes,
        )


def _rows(
    ctx: RenderContext,
    acc: str,
    summary: ManifestSummary,
    manifest: Path,
    previews: dict[str, dict[str, Any]],
    plates: PlateCollector | None,
    plate_well: tuple[str, str] | None,
) -> Iterator[_Block]:
    """The blocks of a dataset, row by row. With Zarr images the files of an image are one
    row of the table, written where its first file comes (with its totals, from a first
    pass), and every file stays in the lists."""
    with_preview = bool(previews)
    with_images = summary.images > 0
    images = zarr_images(manifest) if with_images else {}
    details = ctx.details_of(acc)
    url_prefix = ctx.data_file_url(acc, "")
    shown: set[str] = set()  # Zarr images whose row is written
    p_at = w_at = 0
    kept: list[int] = []
    if plate_well:
        p_at, w_at = (summary.columns.index(c) for c in plate_well)
        kept = [j for j, c in enumerate(summary.columns) if c not in plate_well]
    width = 4 + len(summary.columns) + 2 * with_images + with_preview

    def empty() -> _Block:
        return _Block(
            count=0,
            tsv=b"",
            lists=(b"", b"", b"", b""),
            html=[],
            values=[[] for _ in range(width)],
            filtered=[[] for _ in range(1 + len(summary.columns))],
            sizes=[],
            image_bytes=0,
            other_bytes=0,
        )

    block = empty()
    tsv: list[str] = []
    lists: tuple[list[str], ...] = ([], [], [], [])
    positions: Positions | None = None
    for head, cells in iter_cells(manifest):
        if positions is None:
            positions = column_positions(head, summary.columns)
        pi, si, hi, ai = positions
        path = cells[pi]
        raw_size = cells[si].strip()
        size = int(raw_size) if raw_size.isdigit() else None
        sha = cells[hi].strip() if hi is not None else ""
        attributes = [cells[a] for a in ai]
        fmt = file_format(path)
        url = url_prefix + quote(path, safe="/")
        if size is not None:
            if fmt in IMAGE_FORMATS:
                block.image_bytes += size
            else:
                block.other_bytes += size
        # every file goes into the lists, whether or not the table shows it on its own
        tsv.append(tsv_line(path, raw_size, sha, attributes, url))
        lists[0].append(url + "\n")
        if sha:
            lists[1].append(f"{sha}  {path}\n")
        lists[2].append(aria2_entry(url, acc, path))
        lists[3].append(curl_entry(url, acc, path))
        root = zarr_root(path) if with_images else None
        image: ZarrImage | None = None
        if root is not None:
            # a Zarr image: one row, where its first file comes, for all its files
            if plates is not None:
                plates.add(attributes[p_at], attributes[w_at], [attributes[j] for j in kept], None)
            if root in shown:
                continue
            shown.add(root)
            image = images[root]
            path, sha, fmt = root, "", file_format(root)
            size = None if image.unknown == image.files else image.size
            raw_size = "" if size is None else str(size)
            attributes = [v or "" for v in image.attributes]
        key = (root or preview_key(path)) if with_preview else None
        preview = previews.get(key) if key is not None else None
        values: list[Any] = [path, size, sha, fmt, *attributes]
        image_text = image.describe(details.get(path)) if image is not None else None
        if with_images:
            values += [image.files if image is not None else None, image_text or ""]
        if with_preview:
            values.append(dumps_json(preview).decode().strip() if preview else "")
        for c, value in enumerate(values):
            block.values[c].append(value)
        for c, value in enumerate([fmt, *attributes]):
            block.filtered[c].append(value)
        if size is not None:
            block.sizes.append(raw_size)
        if plates is not None and image is None:
            plates.add(
                attributes[p_at],
                attributes[w_at],
                [attributes[j] for j in kept],
                preview.get("src") if preview else None,
            )
        block.html.append(
            _row_html(
                None if image is not None else url,
                path,
                size,
                fmt,
                attributes,
                image_text,
                preview,
                with_images,
                with_preview,
            )
        )
        block.count += 1
        if block.count == CHUNK_ROWS:
            yield _finished(block, tsv, lists)
            block = empty()
    yield _finished(block, tsv, lists)


def _finished(block: _Block, tsv: list[str], lists: tuple[list[str], ...]) -> _Block:
    block.tsv = "".join(tsv).encode()
    block.lists = tuple("".join(lines).encode() for lines in lists)  # type: ignore[assignment]
    tsv.clear()
    for lines in lists:
        lines.clear()
    return block


def _cat(*parts: Any) -> Any:
    """The strings of pyarrow arrays (and ``str`` constants) end to end, row by row."""
    import pyarrow as pa
    import pyarrow.compute as pc

    return pc.binary_join_element_wise(
        *(pa.scalar(p, pa.string()) if isinstance(p, str) else p for p in parts), ""
    )


def _blank(rows: int) -> Any:
    import pyarrow as pa

    return pa.array([""] * rows, pa.string())


def _bytes(values: Any) -> bytes:
    """The UTF-8 bytes of a pyarrow string array's values one after another (its data
    buffer, without a copy per value)."""
    import numpy as np
    import pyarrow.compute as pc

    if not len(values):
        return b""
    if values.null_count:
        values = pc.fill_null(values, "")
    offsets = np.frombuffer(
        values.buffers()[1], dtype=np.int32, count=len(values) + 1, offset=values.offset * 4
    )
    data = values.buffers()[2]
    return bytes(memoryview(data)[int(offsets[0]) : int(offsets[-1])]) if data else b""


def _same(values: Any) -> Any:
    return values


def _list_lines(acc: str, path: Any, sha: Any, url: Any) -> tuple[bytes, bytes, bytes, bytes]:
    """The lines that rows add to urls.txt, sha256sums.txt, aria2.txt and curl.txt: those of
    ``aria2_entry`` and ``curl_entry``, a column at a time."""
    import pyarrow.compute as pc

    sums = pc.if_else(pc.not_equal(sha, ""), _cat(sha, "  ", path, "\n"), "")
    return (
        _bytes(_cat(url, "\n")),
        _bytes(sums),
        _bytes(_cat(url, f"\n  out={acc}/", path, "\n")),
        _bytes(_cat('url = "', url, f'"\noutput = "{acc}/', path, '"\n')),
    )


_HTML_SPECIAL = (("&", "&amp;"), (">", "&gt;"), ("<", "&lt;"), ("'", "&#39;"), ('"', "&#34;"))


def escape_column(values: Any) -> Any:
    """``markupsafe.escape`` of every value of a pyarrow string array (the same five
    replacements, ampersand first), in C; a column with nothing to escape is kept."""
    import pyarrow.compute as pc

    if not pc.any(pc.match_substring_regex(values, "[&<>'\"]")).as_py():
        return values
    for char, entity in _HTML_SPECIAL:
        values = pc.replace_substring(values, char, entity)
    return values


def safe_column(values: Any) -> Any:
    """``spreadsheet.safe_cell`` of every value of a pyarrow string array: an apostrophe
    before what a spreadsheet would run (= or @ first, or + or - first and a character
    that calls something; a number has no such character). A cell holds no tab or CR."""
    import pyarrow.compute as pc

    formula = pc.match_substring_regex(values, r"^(?:[=@]|[+-].*[(|!\"'=:])")
    if not pc.any(formula).as_py():
        return values
    return pc.if_else(formula, _cat("'", values), values)


_UNITS = ("B", "KB", "MB", "GB", "TB", "PB")


def filesizes(sizes: Any) -> Any:
    """``render.filesize`` of every size of a pyarrow int64 array: the same divisions by
    1000 in floating point, the tenth rounded as Python's ``.1f`` does; a value within a
    millionth of a tie (``2.45`` kB, whose binary value decides) is formatted by it."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    known = sizes.fill_null(0).to_numpy(zero_copy_only=False)
    value = known.astype(np.float64)
    unit = np.zeros(len(known), dtype=np.int64)
    for _ in _UNITS[1:]:
        up = (value >= 1000) & (unit < len(_UNITS) - 1)
        value = np.where(up, value / 1000, value)
        unit += up
    tenths = value * 10
    rounded = np.floor(tenths + 0.5).astype(np.int64)
    text = pc.binary_join_element_wise(
        pa.array(rounded // 10).cast(pa.string()),
        pa.array(rounded % 10).cast(pa.string()),
        ".",
    )
    text = _cat(text, " ", pa.array(_UNITS).take(pa.array(unit)))
    text = pc.if_else(pa.array(unit == 0), _cat(pa.array(known).cast(pa.string()), " B"), text)
    text = pc.if_else(sizes.is_null(), "unknown", text)
    tie = pa.array((np.abs(tenths - np.floor(tenths) - 0.5) < 1e-6) & (unit > 0))
    return by_python(text, sizes, tie, filesize)


def _encode_arrays(arrays: list[Any], numeric: bool, unique: bool = False) -> bytes:
    """``dumps_json(_encode_chunk(...))`` of a column chunk held as pyarrow arrays, written
    by Arrow: its dictionary encoding numbers the distinct values in the order they first
    come, as ``_encode_chunk`` does, and a string needs no JSON escape but for a quote or
    a backslash unless it holds a control character (json then writes the chunk).
    ``unique``: the values are known to differ (paths), so no dictionary is tried."""
    import pyarrow as pa
    import pyarrow.compute as pc

    values = arrays[0] if len(arrays) == 1 else pa.concat_arrays(arrays)
    if numeric:
        return b'{"n":[' + _listed(pc.fill_null(pc.cast(values, pa.string()), "null")) + b"]}\n"
    codes = None if unique else pc.dictionary_encode(values)
    if codes is not None and len(codes.dictionary) * 4 > len(values):
        codes = None
    strings = values if codes is None else codes.dictionary
    if pc.any(pc.match_substring_regex(strings, "[\\x00-\\x1f]")).as_py():
        return dumps_json(_encode_chunk(values.to_pylist(), numeric))
    if pc.any(pc.match_substring_regex(strings, '["\\\\]')).as_py():
        strings = pc.replace_substring(pc.replace_substring(strings, "\\", "\\\\"), '"', '\\"')
    text = b'["' + _listed(strings, '","') + b'"]'
    if codes is None:
        return b'{"v":' + text + b"}\n"
    return b'{"d":' + text + b',"i":[' + _listed(pc.cast(codes.indices, pa.string())) + b"]}\n"


def _listed(values: Any, separator: str = ",") -> bytes:
    """The strings of a pyarrow string array joined by ``separator``, as bytes."""
    import pyarrow as pa
    import pyarrow.compute as pc

    whole = pa.ListArray.from_arrays(pa.array([0, len(values)], pa.int32()), values)
    return _bytes(pc.binary_join(whole, separator))


def _write_study_lists(
    ctx: RenderContext,
    entry: StudyEntry,
    manifests: list[tuple[Path, int]],
    open_output: Opener,
) -> StepResult:
    """The lists of a study of several datasets: theirs one after another. ``manifests``:
    (manifest, rows); a small one is read row by row (see COLUMNS_FROM)."""
    acc = entry.accession
    url_prefix = ctx.data_file_url(acc, "")
    with (
        open_output(f"studies/{acc}/files/urls.txt") as urls,
        open_output(f"studies/{acc}/files/sha256sums.txt") as sums,
        open_output(f"studies/{acc}/files/aria2.txt") as aria2,
        open_output(f"studies/{acc}/files/curl.txt") as curl,
    ):
        for manifest, rows in manifests:
            if rows < COLUMNS_FROM:
                for head, cells in iter_cells(manifest):
                    path = cells[head.index("path")]
                    url = url_prefix + quote(path, safe="/")
                    urls.write((url + "\n").encode())
                    aria2.write(aria2_entry(url, acc, path).encode())
                    curl.write(curl_entry(url, acc, path).encode())
                    sha = cells[head.index("sha256")].strip() if "sha256" in head else ""
                    if sha:
                        sums.write(f"{sha}  {path}\n".encode())
                continue
            for head, table in iter_tables(manifest, BLOCK_ROWS):
                path = table.column(head.index("path")).combine_chunks()
                if "sha256" in head:
                    sha = strip_column(table.column(head.index("sha256")).combine_chunks())
                else:
                    sha = _blank(len(path))
                lines = _list_lines(acc, path, sha, urls_of(url_prefix, path))
                for fh, data in zip((urls, sums, aria2, curl), lines, strict=True):
                    fh.write(data)
    return StepResult(files={})


def file_steps(ctx: RenderContext, content: Path) -> list[Step]:
    """One streaming step per dataset with a manifest, and one per study of several
    datasets for its lists (those of a study of one dataset are that dataset's lists,
    written by its step: the 1.3-million-file study's rows are read once, not twice)."""
    return [s for e in ctx.catalogue.public() for s in study_file_steps(ctx, content, e)]


def _files_digest(ctx: RenderContext) -> str:
    return ctx.once(
        "files-digest",
        lambda: digest_of(
            FILES_VERSION,
            ctx.templates_digest,
            ctx.site.model_dump(mode="json"),
            PAGE_ROWS,
            CHUNK_ROWS,
        ),
    )


def study_file_steps(ctx: RenderContext, content: Path, entry: StudyEntry) -> list[Step]:
    """The file-table steps of one public study (see ``file_steps``)."""
    steps: list[Step] = []
    base_digest = _files_digest(ctx)
    acc = entry.accession
    datasets = [
        (ds, summary, content / entry.folder / ds.files)
        for ds in entry.study.datasets
        if (summary := entry.manifests.get(ds.id)) is not None and ds.files is not None
    ]
    # a study of one dataset has the lists of that dataset: one step writes both
    single = len(datasets) == 1
    study_lists = [f"studies/{acc}/files/{n}" for n in LISTS]
    for ds, summary, manifest in datasets:
        outputs = dataset_outputs(acc, ds, summary, bool(previews_of(ctx, acc)))
        steps.append(
            Step(
                id=f"files:{acc}:{ds.id}",
                outputs=tuple(outputs + (study_lists if single else [])),
                digest=digest_of(
                    base_digest,
                    summary.digest,
                    ds.model_dump(mode="json"),
                    entry.study.title,
                    ctx.local_extras(acc),
                ),
                make=partial(_write_dataset, ctx, entry, ds, summary, manifest, study_lists=single),
                streams=True,
            )
        )
    if len(datasets) > 1:
        manifests = [(manifest, summary.count) for _, summary, manifest in datasets]
        steps.append(
            Step(
                id=f"files:{acc}",
                outputs=tuple(study_lists),
                digest=digest_of(base_digest, [m.digest for m in entry.manifests.values()]),
                make=lambda open_output, entry=entry, manifests=manifests: _write_study_lists(
                    ctx, entry, manifests, open_output
                ),
                streams=True,
            )
        )
    return steps


def download_commands(
    ctx: RenderContext, accession: str, lists: str, checksums: int = 0
) -> list[tuple[str, str]]:
    """Ready-to-paste bulk transfer commands, from site.yaml only (no hard-coded hosts).

    ``lists`` is the site path of the folder holding the lists (a study or a dataset).
    Every command puts the files in ``<ACCESSION>/<path>``, the layout sha256sums.txt
    expects; each is run against a real server in tests/test_downloads.py. With
    *checksums*, a last entry fetches sha256sums.txt and checks the downloaded files.
    """
    folder = ctx.absolute(lists)
    cut = len([p for p in urlparse(ctx.site.data_url).path.split("/") if p])
    out = [
        (
            # the list is fetched first: read straight from its URL, wget would also save
            # it inside the study's folders
            "wget",
            f"wget -q -O urls.txt {folder}urls.txt && wget --continue --force-directories "
            f"--no-host-directories --cut-dirs={cut} --input-file=urls.txt",
        ),
        (
            "aria2c",
            f"curl -fsSO {folder}aria2.txt && aria2c -x 4 -c --auto-file-renaming=false "
            "-i aria2.txt",
        ),
        ("curl", f"curl -fsSO {folder}curl.txt && curl -fsS --create-dirs -K curl.txt"),
    ]
    dl = ctx.site.downloads
    if dl.rsync_url:
        out.append(
            ("rsync", f"rsync -av --progress {dl.rsync_url.rstrip('/')}/{accession}/ {accession}/")
        )
    if dl.s3 is not None:
        prefix = f"{dl.s3.prefix.strip('/')}/" if dl.s3.prefix.strip("/") else ""
        cmd = f"aws s3 sync s3://{dl.s3.bucket}/{prefix}{accession}/ {accession}/"
        if dl.s3.endpoint:
            cmd += f" --endpoint-url {dl.s3.endpoint}"
        if dl.s3.anonymous:
            cmd += " --no-sign-request"
        out.append(("S3", cmd))
    if checksums:
        out.append(
            (
                "verify",
                f"curl -fsSO {folder}sha256sums.txt && "
                f"(cd {accession} && sha256sum -c ../sha256sums.txt)",
            )
        )
    return out


def aria2_entry(url: str, accession: str, path: str) -> str:
    """One aria2c input-file entry: the URL, then where it goes (keeps the folders, so two
    files of the same name in different folders never clash)."""
    return f"{url}\n  out={accession}/{path}\n"


def curl_entry(url: str, accession: str, path: str) -> str:
    """One curl config (-K) entry; manifest paths hold no backslash, quote or control
    character (E043), so quoting is enough."""
    return f'url = "{url}"\noutput = "{accession}/{path}"\n'
