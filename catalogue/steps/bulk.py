"""Bulk tables for data scientists: every study and every file in one download.

- ``api/v1/studies.parquet`` (and ``studies.csv``): one row per public study;
- ``api/v1/files.parquet``: one row per file of every public study (accession, dataset,
  path, size, sha256, format, URL and every attribute column of any manifest, empty where
  a study's manifest lacks it);
- ``api/v1/files.csv``: its CSV twin, only while the site has at most CSV_FILE_LIMIT files
  (a CSV of millions of rows helps nobody; Parquet is a tenth of the size and typed);
- ``api/v1/files/<ACC>.parquet``: one partition per study once the site has more than
  PARTITION_FILE_LIMIT files, so a client (``read_parquet('…/files/*.parquet')``) or an
  incremental build touches only the studies it needs.

Rows stream from the manifests to the writer in row groups of ROW_GROUP rows: memory is
bounded by one row group, whatever the size of a study (the 1.3-million-file study).
Written with pyarrow, the reference Parquet implementation (a dependency of the package:
these URLs are part of the site's contract, docs/api.md).
"""

from __future__ import annotations

import csv
import io
import tempfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

from catalogue.formats import file_format
from catalogue.model import ManifestSummary, StudyEntry
from catalogue.pipeline.plan import Step, StepResult, digest_of, text_digest
from catalogue.readers.manifest import (
    MAX_SIZE,
    formats_of,
    iter_cells,
    iter_tables,
    strip_column,
    urls_of,
)
from catalogue.spreadsheet import safe_cell
from catalogue.steps import parquet_join
from catalogue.steps.context import RenderContext
from catalogue.steps.facts import date_modified, stable_url, study_doi
from catalogue.steps.files import COLUMNS_FROM

BULK_VERSION = "3"
PARTS = 256  # parts of the files table, about (steps/parquet_join.py)
SPOOL = 8 << 20  # bytes of a part's encoding kept in memory before it spills to disk
ROW_GROUP = 16_384  # rows held at once: bounds memory (a few tens of MiB)
CSV_FILE_LIMIT = 100_000
PARTITION_FILE_LIMIT = 100_000
FIXED_FILE_COLUMNS = ("accession", "dataset", "path", "size", "sha256", "format", "url")
STUDY_COLUMNS = (
    "accession",
    "title",
    "release_date",
    "date_modified",
    "license",
    "collection",
    "doi",
    "ai_ready",
    "keywords",
    "organisms",
    "imaging_methods",
    "datasets",
    "files",
    "bytes",
    "url",
    "api_url",
)


def _pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet  # noqa: F401
    except ImportError as exc:  # a broken install: say what to do, not a traceback
        raise RuntimeError(
            "the bulk tables (/api/v1/*.parquet) need pyarrow: pip install pyarrow"
        ) from exc
    return pyarrow


def _pyarrow_version() -> str:
    """pyarrow's version without importing it (a quarter of a second that an edit which
    rewrites no table need not pay); the import itself says what is missing."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pyarrow")
    except PackageNotFoundError:
        return str(_pyarrow().__version__)


def total_files(ctx: RenderContext) -> int:
    return sum(ctx.summary_of(e)["files"] for e in ctx.catalogue.public())


def attribute_columns(entries: tuple[StudyEntry, ...] | list[StudyEntry]) -> list[str]:
    """Every attribute column of the given studies' manifests, in first-seen order.

    SQL engines such as DuckDB fold the case of column names, so names that differ only
    in case ("Channel", "channel") are one column, spelt as first seen, and a name that
    clashes with a fixed column ("Format") gets the suffix `` (attribute)``.
    """
    return merged_columns(study_columns(e) for e in entries)


def study_columns(entry: StudyEntry) -> list[tuple[str, str]]:
    """(folded name, table column) of each attribute column of a study's manifests, in
    dataset order (kept in its summary, ``steps/summaries.py``)."""
    return [
        (c.casefold(), table_column(c))
        for ds in entry.study.datasets
        if (summary := entry.manifests.get(ds.id)) is not None
        for c in summary.columns
    ]


def merged_columns(studies: Iterable[Iterable[Sequence[str]]]) -> list[str]:
    """The table columns of the studies' ``study_columns``, each folded name once, spelt
    as first seen."""
    seen: dict[str, str] = {}
    for columns in studies:
        for folded, name in columns:
            seen.setdefault(folded, name)
    return list(seen.values())


def table_column(column: str) -> str:
    """The name of a manifest's attribute column in the files table."""
    if column.casefold() in FIXED_FILE_COLUMNS:
        return f"{column} (attribute)"
    return column


def study_row(ctx: RenderContext, entry: StudyEntry) -> dict[str, Any]:
    s = entry.study
    return {
        "accession": s.accession,
        "title": s.title,
        "release_date": s.release_date,
        "date_modified": date_modified(ctx, entry),
        "license": s.license,
        "collection": s.collection,
        "doi": study_doi(s),
        "ai_ready": s.ai_ready,
        "keywords": list(s.keywords),
        "organisms": [o.label for o in s.organisms],
        "imaging_methods": [m.label for m in s.imaging_methods],
        "datasets": len(s.datasets),
        "files": sum(m.count for m in entry.manifests.values()),
        # saturated: every size is at most MAX_SIZE (E045) but their sum is not, and the
        # column stays int64, the type every reader (pandas, DuckDB, Polars) sums natively
        "bytes": min(sum(m.total_size for m in entry.manifests.values()), MAX_SIZE),
        "url": stable_url(ctx, s),
        "api_url": ctx.absolute(f"{ctx.root}/api/v1/studies/{s.accession}.json"),
    }


def studies_schema() -> Any:
    pa = _pyarrow()
    text, strings = pa.string(), pa.list_(pa.string())
    return pa.schema(
        [
            ("accession", text),
            ("title", text),
            ("release_date", pa.date32()),
            ("date_modified", pa.date32()),
            ("license", text),
            ("collection", text),
            ("doi", text),
            ("ai_ready", pa.bool_()),
            ("keywords", strings),
            ("organisms", strings),
            ("imaging_methods", strings),
            ("datasets", pa.int32()),
            ("files", pa.int64()),
            ("bytes", pa.int64()),
            ("url", text),
            ("api_url", text),
        ]
    )


def files_schema(attributes: list[str]) -> Any:
    pa = _pyarrow()
    fields = [
        ("accession", pa.string()),
        ("dataset", pa.string()),
        ("path", pa.string()),
        ("size", pa.int64()),
        ("sha256", pa.string()),
        ("format", pa.string()),
        ("url", pa.string()),
    ]
    return pa.schema(fields + [(a, pa.string()) for a in attributes])


def _parquet_bytes(table: Any) -> bytes:
    import pyarrow.parquet as pq

    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd", write_statistics=True)
    return sink.getvalue()


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return safe_cell("; ".join(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    return safe_cell(value) if isinstance(value, str) else str(value)


def _studies(rows: list[dict[str, Any]], with_csv: bool) -> StepResult:
    pa = _pyarrow()
    table = pa.Table.from_pylist(rows, schema=studies_schema())
    files = {"api/v1/studies.parquet": _parquet_bytes(table)}
    if with_csv:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(STUDY_COLUMNS)
        for row in rows:
            writer.writerow([_csv_cell(row[c]) for c in STUDY_COLUMNS])
        files["api/v1/studies.csv"] = out.getvalue().encode("utf-8")
    return StepResult(files=files)


def file_tables(
    ctx: RenderContext, entry: StudyEntry, content: Path, attributes: list[str]
) -> Iterator[Any]:
    """The files table's rows of one study, streamed from its manifests as pyarrow tables
    of the table's schema (at most ROW_GROUP rows each), made a column at a time: the
    1.3-million-file study's rows are never Python objects."""
    pa = _pyarrow()
    import pyarrow.compute as pc

    acc = entry.accession
    prefix = ctx.data_file_url(acc, "")
    schema = files_schema(attributes)
    null = pa.scalar(None, pa.string())
    for ds in entry.study.datasets:
        summary = entry.manifests.get(ds.id)
        if summary is None or ds.files is None:
            continue
        manifest = content / entry.folder / ds.files
        if summary.count < COLUMNS_FROM:  # small: row by row, Arrow's start-up costs more
            rows = list(_file_rows(acc, ds.id, prefix, summary, manifest, attributes))
            if rows:
                by_column = zip(*rows, strict=True)
                yield pa.Table.from_arrays(
                    [pa.array(list(c), f.type) for c, f in zip(by_column, schema, strict=True)],
                    schema=schema,
                )
            continue
        positions: tuple[int, int, int | None, list[int | None]] | None = None
        for head, table in iter_tables(manifest, ROW_GROUP):
            if positions is None:
                positions = _positions(head, summary, attributes)
            pi, si, hi, ai = positions
            n = table.num_rows
            cells = [c.combine_chunks() for c in table.columns]
            path = cells[pi]
            raw = strip_column(cells[si])
            digits = pc.match_substring_regex(raw, r"^[0-9]+$")
            size = pc.cast(pc.if_else(digits, raw, null), pa.int64())
            odd = pc.and_(pc.invert(digits), pc.not_equal(raw, ""))
            if pc.any(odd).as_py():  # other digits that str.isdigit() takes ("١٢")
                others = [int(v) if v.isdigit() else None for v in raw.filter(odd).to_pylist()]
                size = pc.replace_with_mask(size, odd, pa.array(others, pa.int64()))
            if hi is None:
                sha = pa.nulls(n, pa.string())
            else:
                sha = strip_column(cells[hi])
                sha = pc.if_else(pc.equal(sha, ""), null, sha)
            columns = [
                pa.array([acc] * n, pa.string()),
                pa.array([ds.id] * n, pa.string()),
                path,
                size,
                sha,
                formats_of(path),
                urls_of(prefix, path),
                *(
                    pa.nulls(n, pa.string())
                    if i is None
                    else pc.if_else(pc.equal(cells[i], ""), null, cells[i])
                    for i in ai
                ),
            ]
            yield pa.Table.from_arrays(columns, schema=schema)


def _positions(
    head: list[str], summary: ManifestSummary, attributes: list[str]
) -> tuple[int, int, int | None, list[int | None]]:
    """Where a manifest's path, size, sha256 and each column of the table are."""
    index = {name: i for i, name in enumerate(head)}
    by_column: dict[str, int] = {}
    for c in summary.columns:
        by_column.setdefault(table_column(c).casefold(), index[c])
    return (
        index["path"],
        index["size"],
        index.get("sha256"),
        [by_column.get(a.casefold()) for a in attributes],
    )


def _file_rows(
    acc: str,
    dataset: str,
    prefix: str,
    summary: ManifestSummary,
    manifest: Path,
    attributes: list[str],
) -> Iterator[list[Any]]:
    """The rows ``file_tables`` makes of a manifest, one by one."""
    positions: tuple[int, int, int | None, list[int | None]] | None = None
    for head, cells in iter_cells(manifest):
        if positions is None:
            positions = _positions(head, summary, attributes)
        pi, si, hi, ai = positions
        path = cells[pi]
        raw = cells[si].strip()
        sha = cells[hi].strip() if hi is not None else ""
        yield [
            acc,
            dataset,
            path,
            int(raw) if raw.isdigit() else None,
            sha or None,
            file_format(path),
            prefix + quote(path, safe="/"),
            *((cells[i] if i is not None and cells[i] != "" else None) for i in ai),
        ]


class _TableWriter:
    """Row groups of ROW_GROUP rows to a Parquet file (and optionally CSV), streamed."""

    def __init__(
        self,
        fh: IO[bytes],
        attributes: list[str],
        csv_fh: IO[bytes] | None = None,
        csv_header: bool = True,
    ):
        import pyarrow.parquet as pq

        self.pa = _pyarrow()
        self.schema = files_schema(attributes)
        self.names = self.schema.names
        self.writer = pq.ParquetWriter(fh, self.schema, compression="zstd")
        self.pending: list[Any] = []  # tables of fewer than ROW_GROUP rows in all
        self.held = 0
        self.csv_fh = csv_fh
        self.csv_text: io.StringIO | None = None
        if csv_fh is not None:
            self.csv_text = io.StringIO()
            self._csv = csv.writer(self.csv_text, lineterminator="\n")
            if csv_header:
                self._csv.writerow(self.names)
        self.rows = 0

    def add(self, table: Any) -> None:
        if self.csv_text is not None:
            values = [column.to_pylist() for column in table.columns]
            for row in zip(*values, strict=True):
                self._csv.writerow([_csv_cell(v) for v in row])
        self.rows += table.num_rows
        self.pending.append(table)
        self.held += table.num_rows
        while self.held >= ROW_GROUP:
            joined = self.pa.concat_tables(self.pending)
            self._write(joined.slice(0, ROW_GROUP))
            rest = joined.slice(ROW_GROUP)
            self.pending, self.held = [rest], rest.num_rows

    def _write(self, table: Any) -> None:
        # one contiguous array a column, as a row group built from lists had: the same
        # pages, so the same bytes
        self.writer.write_table(table.combine_chunks())
        self._flush_csv()

    def _flush_csv(self) -> None:
        if self.csv_text is not None and self.csv_fh is not None:
            self.csv_fh.write(self.csv_text.getvalue().encode("utf-8"))
            self.csv_text.seek(0)
            self.csv_text.truncate()

    def close(self) -> None:
        if self.held:
            self._write(self.pa.concat_tables(self.pending))
        self._flush_csv()
        self.pending, self.held = [], 0
        self.writer.close()


def _write_files(
    ctx: RenderContext,
    content: Path,
    entries: tuple[StudyEntry, ...] | list[StudyEntry],
    parquet: str,
    csv_path: str | None,
    open_output: Any,
) -> StepResult:
    """One study's partition (``files/<ACC>.parquet``): encoded whole."""
    attributes = attribute_columns(entries)
    with open_output(parquet) as fh:
        csv_fh = open_output(csv_path) if csv_path else None
        try:
            writer = _TableWriter(fh, attributes, csv_fh)
            for entry in entries:
                for table in file_tables(ctx, entry, content, attributes):
                    writer.add(table)
            writer.close()
        finally:
            if csv_fh is not None:
                csv_fh.close()
    return StepResult(files={}, info={"rows": writer.rows})


def rows_input(entry: StudyEntry) -> list[object]:
    """What a study's rows of the files table are made of (``file_tables``): its datasets'
    manifests, not its text, so a description edit re-encodes no part."""
    return [
        entry.accession,
        [
            [ds.id, ds.files, m.digest, m.columns]
            for ds in entry.study.datasets
            if (m := entry.manifests.get(ds.id)) is not None and ds.files is not None
        ],
    ]


def part_size(studies: int) -> int:
    """Studies a part of the files table holds on average: a power of two, so that the
    parts (and what an edit re-encodes) stay the same until the archive doubles."""
    size = 16
    while size * PARTS < studies:
        size *= 2
    return size


def table_parts(entries: tuple[StudyEntry, ...]) -> list[list[StudyEntry]]:
    """The studies cut into runs, in table order, where the accession's hash says: a study
    added or removed changes its own run only (content-defined, as in rsync), not the
    cut of every run after it."""
    size = part_size(len(entries))
    parts: list[list[StudyEntry]] = []
    for entry in entries:
        if not parts or zlib.crc32(entry.accession.encode()) % size == 0:
            parts.append([])
        parts[-1].append(entry)
    return parts


def _spool() -> IO[bytes]:
    return tempfile.SpooledTemporaryFile(max_size=SPOOL)  # noqa: SIM115 - closed by caller


def _write_joined(
    ctx: RenderContext,
    content: Path,
    parts: list[tuple[str, list[StudyEntry]]],
    attributes: list[str],
    parquet: str,
    csv_path: str | None,
    open_output: Any,
    site: Path | None,
) -> StepResult:
    """The archive-wide files table joined from its parts (steps/parquet_join.py): parts
    the previous table in ``site`` already holds are copied from it (and from its CSV
    twin), the others encoded, so an edit costs one part, not the archive."""
    pq = _pyarrow().parquet
    template = io.BytesIO()
    pq.ParquetWriter(template, files_schema(attributes), compression="zstd").close()
    previous: tuple[IO[bytes], parquet_join.ParquetParts] | None = None
    old_csv: IO[bytes] | None = None
    opened: list[IO[bytes]] = []
    if site is not None and (site / parquet).is_file():
        try:
            old = (site / parquet).open("rb")
            opened.append(old)
            previous = (old, parquet_join.read_footer(old))
            if csv_path is not None:
                old_csv = (site / csv_path).open("rb")
                opened.append(old_csv)
        except (OSError, ValueError):  # unreadable: every part is encoded again
            previous, old_csv = None, None
    fresh: dict[str, IO[bytes]] = {}

    def encode(digest: str, entries: list[StudyEntry]) -> IO[bytes]:
        fh = _spool()
        csv_fh = _spool() if csv_path else None
        writer = _TableWriter(fh, attributes, csv_fh, csv_header=False)
        for entry in entries:
            for table in file_tables(ctx, entry, content, attributes):
                writer.add(table)
        writer.close()
        if csv_fh is not None:
            fresh[digest] = csv_fh
        fh.seek(0)
        return fh

    try:
        with open_output(parquet) as out:
            csv_out = open_output(csv_path) if csv_path else None
            try:
                if csv_out is not None:
                    csv_out.write(_csv_header(attributes))
                position = csv_out.tell() if csv_out is not None else 0

                def extra_of(digest: str, old: Any) -> Any:
                    nonlocal position
                    if csv_out is None:
                        return None
                    part = fresh.pop(digest, None)
                    if part is not None:
                        length = part.tell()
                        parquet_join.copy_range(part, csv_out, 0, length)
                        part.close()
                    elif old_csv is not None and isinstance(old, dict) and "csv" in old:
                        offset, length = old["csv"]
                        parquet_join.copy_range(old_csv, csv_out, offset, length)
                    else:  # the previous table had no CSV twin: cannot happen (digest)
                        raise parquet_join.ThriftError("no CSV range for a reused part")
                    start, position = position, position + length
                    return {"csv": [start, length]}

                rows, _ = parquet_join.join(
                    out,
                    template.getvalue(),
                    [
                        (digest, lambda d=digest, e=entries: encode(d, e))  # type: ignore[misc]
                        for digest, entries in parts
                    ],
                    previous if (csv_path is None or old_csv is not None) else None,
                    extra_of,
                )
            finally:
                if csv_out is not None:
                    csv_out.close()
    finally:
        for fh in opened:
            fh.close()
    # the info is part of the build state, which must not depend on what was reused
    return StepResult(files={}, info={"rows": rows, "parts": len(parts)})


def _csv_header(attributes: list[str]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(files_schema(attributes).names)
    return out.getvalue().encode("utf-8")


def partition_path(accession: str) -> str:
    return f"api/v1/files/{accession}.parquet"


def bulk_outputs(ctx: RenderContext) -> dict[str, str]:
    """name -> site path of every bulk table this build writes (for index.json)."""
    total = total_files(ctx)
    out = {"studies.parquet": "api/v1/studies.parquet", "files.parquet": "api/v1/files.parquet"}
    if total <= CSV_FILE_LIMIT:
        out["studies.csv"] = "api/v1/studies.csv"
        out["files.csv"] = "api/v1/files.csv"
    if total > PARTITION_FILE_LIMIT:
        out["files/"] = "api/v1/files/"
    return out


def bulk_steps(ctx: RenderContext, content: Path, site: Path | None = None) -> list[Step]:
    """``site``: the folder of the previous build, whose files table's unchanged parts are
    copied instead of encoded again (None: every part is encoded)."""
    public = ctx.catalogue.public()
    total = total_files(ctx)
    with_csv = total <= CSV_FILE_LIMIT
    base = digest_of(BULK_VERSION, ROW_GROUP, ctx.site.model_dump(mode="json"))
    # what the rows show (no description): a description edit does not rewrite the table
    # (the rows themselves are made when the table is written)
    rows = [ctx.summary_of(e)["row"] for e in public]
    studies_digest = digest_of(base, with_csv, rows)
    steps = [
        Step(
            id="bulk:studies",
            outputs=("api/v1/studies.parquet", *(["api/v1/studies.csv"] if with_csv else [])),
            digest=studies_digest,
            make=lambda: _studies([study_row(ctx, e) for e in public], with_csv),
        )
    ]
    # a part's rows: the manifests' bytes and the study metadata they carry (dataset ids,
    # files); its bytes: the columns and the Parquet writer
    attributes = merged_columns(ctx.summary_of(e)["columns"] for e in public)
    parts_base = digest_of(base, with_csv, attributes, _pyarrow_version())
    parts = [
        (digest_of(parts_base, [ctx.summary_of(e)["rows"] for e in part]), part)
        for part in table_parts(public)
    ]
    csv_path = "api/v1/files.csv" if with_csv else None
    steps.append(
        Step(
            id="bulk:files",
            outputs=("api/v1/files.parquet", *([csv_path] if csv_path else [])),
            digest=digest_of(parts_base, [d for d, _ in parts]),
            make=lambda open_output: _write_joined(
                ctx,
                content,
                parts,
                attributes,
                "api/v1/files.parquet",
                csv_path,
                open_output,
                site,
            ),
            streams=True,
        )
    )
    if total > PARTITION_FILE_LIMIT:
        for entry in public:
            out = partition_path(entry.accession)
            steps.append(
                Step(
                    id=f"bulk:files:{entry.accession}",
                    outputs=(out,),
                    # the digest of rows_input, from the summary: the model stays pickled
                    digest=text_digest(base, ctx.summary_of(entry)["rows"]),
                    make=lambda open_output, entry=entry, out=out: _write_files(
                        ctx, content, [entry], out, None, open_output
                    ),
                    streams=True,
                )
            )
    return steps
