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
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

from catalogue.formats import file_format
from catalogue.model import StudyEntry
from catalogue.pipeline.plan import Step, StepResult, digest_of
from catalogue.readers.manifest import iter_cells
from catalogue.spreadsheet import safe_cell
from catalogue.steps.context import RenderContext
from catalogue.steps.facts import date_modified, stable_url, study_doi

BULK_VERSION = "1"
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


def total_files(ctx: RenderContext) -> int:
    return sum(m.count for e in ctx.catalogue.public() for m in e.manifests.values())


def attribute_columns(entries: tuple[StudyEntry, ...] | list[StudyEntry]) -> list[str]:
    """Every attribute column of the given studies' manifests, in first-seen order.

    SQL engines such as DuckDB fold the case of column names, so names that differ only
    in case ("Channel", "channel") are one column, spelt as first seen, and a name that
    clashes with a fixed column ("Format") gets the suffix `` (attribute)``.
    """
    seen: dict[str, str] = {}
    for e in entries:
        for ds in e.study.datasets:
            summary = e.manifests.get(ds.id)
            for c in summary.columns if summary else ():
                seen.setdefault(c.casefold(), table_column(c))
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
        "bytes": sum(m.total_size for m in entry.manifests.values()),
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


def _studies(ctx: RenderContext, with_csv: bool) -> StepResult:
    pa = _pyarrow()
    rows = [study_row(ctx, e) for e in ctx.catalogue.public()]
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


def file_rows(
    ctx: RenderContext, entry: StudyEntry, content: Path, attributes: list[str]
) -> Iterator[list[Any]]:
    """Rows of the files table for one study, streamed from its manifests."""
    acc = entry.study.accession
    prefix = ctx.data_file_url(acc, "")
    for ds in entry.study.datasets:
        summary = entry.manifests.get(ds.id)
        if summary is None or ds.files is None:
            continue
        positions: tuple[int, int, int | None, list[int | None]] | None = None
        for head, cells in iter_cells(content / entry.folder / ds.files):
            if positions is None:
                index = {name: i for i, name in enumerate(head)}
                by_column: dict[str, int] = {}
                for c in summary.columns:
                    by_column.setdefault(table_column(c).casefold(), index[c])
                positions = (
                    index["path"],
                    index["size"],
                    index.get("sha256"),
                    [by_column.get(a.casefold()) for a in attributes],
                )
            pi, si, hi, ai = positions
            path = cells[pi]
            raw = cells[si].strip()
            sha = cells[hi].strip() if hi is not None else ""
            yield [
                acc,
                ds.id,
                path,
                int(raw) if raw.isdigit() else None,
                sha or None,
                file_format(path),
                prefix + quote(path, safe="/"),
                *((cells[i] if i is not None and cells[i] != "" else None) for i in ai),
            ]


class _TableWriter:
    """Row groups of ROW_GROUP rows to a Parquet file (and optionally CSV), streamed."""

    def __init__(self, fh: IO[bytes], attributes: list[str], csv_fh: IO[bytes] | None = None):
        import pyarrow.parquet as pq

        self.pa = _pyarrow()
        self.schema = files_schema(attributes)
        self.names = self.schema.names
        self.writer = pq.ParquetWriter(fh, self.schema, compression="zstd")
        self.columns: list[list[Any]] = [[] for _ in self.names]
        self.csv_fh = csv_fh
        self.csv_text: io.StringIO | None = None
        if csv_fh is not None:
            self.csv_text = io.StringIO()
            self._csv = csv.writer(self.csv_text, lineterminator="\n")
            self._csv.writerow(self.names)
        self.rows = 0

    def add(self, row: list[Any]) -> None:
        for column, value in zip(self.columns, row, strict=True):
            column.append(value)
        if self.csv_text is not None:
            self._csv.writerow([_csv_cell(v) for v in row])
        self.rows += 1
        if len(self.columns[0]) >= ROW_GROUP:
            self.flush()

    def flush(self) -> None:
        if self.columns[0]:
            arrays = [
                self.pa.array(values, type=field.type)
                for values, field in zip(self.columns, self.schema, strict=True)
            ]
            self.writer.write_table(self.pa.Table.from_arrays(arrays, schema=self.schema))
            for column in self.columns:
                column.clear()
        if self.csv_text is not None and self.csv_fh is not None:
            self.csv_fh.write(self.csv_text.getvalue().encode("utf-8"))
            self.csv_text.seek(0)
            self.csv_text.truncate()

    def close(self) -> None:
        self.flush()
        self.writer.close()


def _write_files(
    ctx: RenderContext,
    content: Path,
    entries: tuple[StudyEntry, ...] | list[StudyEntry],
    parquet: str,
    csv_path: str | None,
    open_output: Any,
) -> StepResult:
    attributes = attribute_columns(entries)
    with open_output(parquet) as fh:
        csv_fh = open_output(csv_path) if csv_path else None
        try:
            writer = _TableWriter(fh, attributes, csv_fh)
            for entry in entries:
                for row in file_rows(ctx, entry, content, attributes):
                    writer.add(row)
            writer.close()
        finally:
            if csv_fh is not None:
                csv_fh.close()
    return StepResult(files={}, info={"rows": writer.rows})


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


def bulk_steps(ctx: RenderContext, content: Path) -> list[Step]:
    public = ctx.catalogue.public()
    total = total_files(ctx)
    with_csv = total <= CSV_FILE_LIMIT
    base = digest_of(BULK_VERSION, ROW_GROUP, ctx.site.model_dump(mode="json"))
    studies_digest = digest_of(
        base, with_csv, [[e.source_digest, date_modified(ctx, e)] for e in public]
    )
    steps = [
        Step(
            id="bulk:studies",
            outputs=("api/v1/studies.parquet", *(["api/v1/studies.csv"] if with_csv else [])),
            digest=studies_digest,
            make=lambda: _studies(ctx, with_csv),
        )
    ]
    # the manifests' bytes and the study metadata the rows carry (dataset ids, files)
    files_digest = digest_of(base, with_csv, [e.source_digest for e in public])
    csv_path = "api/v1/files.csv" if with_csv else None
    steps.append(
        Step(
            id="bulk:files",
            outputs=("api/v1/files.parquet", *([csv_path] if csv_path else [])),
            digest=files_digest,
            make=lambda open_output: _write_files(
                ctx, content, public, "api/v1/files.parquet", csv_path, open_output
            ),
            streams=True,
        )
    )
    if total > PARTITION_FILE_LIMIT:
        for entry in public:
            out = partition_path(entry.study.accession)
            steps.append(
                Step(
                    id=f"bulk:files:{entry.study.accession}",
                    outputs=(out,),
                    digest=digest_of(base, entry.source_digest),
                    make=lambda open_output, entry=entry, out=out: _write_files(
                        ctx, content, [entry], out, None, open_output
                    ),
                    streams=True,
                )
            )
    return steps
