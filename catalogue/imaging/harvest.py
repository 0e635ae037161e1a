"""``catalogue harvest``: read image headers of a study's local files into its manifests.

Curators should not type what the files already say. For every manifest row whose file
has a local copy (``content/<data_root>/<ACCESSION>/<path>``), the header is read
(``metadata.inspect_image``: OME-XML, TIFF tags, OME-Zarr metadata; never the
pixels) and its values become manifest columns (``HARVEST_COLUMNS``). A cell a curator
filled is kept unless ``overwrite`` is set. Columns are added only when at least one
file has a value for them.

Manifests can have millions of rows, so they are streamed twice: the first pass reads
the headers (in batches, on any ``Executor``: local processes or Dask) and spools the
harvested values to a temporary file; the second merges them into a new manifest
written beside the old one and swapped in with ``os.replace`` (atomic: a reader sees
the old or the new file, never half of one). A manifest with nothing to change is not
rewritten.

Acquisition metadata (instrument, objective, detectors, pixel sizes, channels) is
gathered too and returned as a proposed ``image_acquisitions`` entry for study.yaml,
which is printed, not written: curators decide what goes into the study.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import yaml

from catalogue.formats import thumbnail_candidate
from catalogue.imaging.metadata import inspect_image
from catalogue.imaging.ngff import is_zarr
from catalogue.paths import escapes
from catalogue.pipeline.executors import Executor, LocalExecutor
from catalogue.readers.manifest import path_problem

HARVEST_COLUMNS = (
    "SizeX",
    "SizeY",
    "SizeZ",
    "SizeC",
    "SizeT",
    "PixelType",
    "PhysicalSizeX",
    "PhysicalSizeXUnit",
    "PhysicalSizeY",
    "PhysicalSizeYUnit",
    "PhysicalSizeZ",
    "PhysicalSizeZUnit",
)
BATCH = 256  # rows whose files are read together (one executor round trip)


class HarvestError(Exception):
    """The study or its manifests cannot be harvested at all (message for the user)."""


@dataclass
class ManifestReport:
    manifest: str  # path relative to the content root
    rows: int = 0
    local: int = 0  # rows with a local copy that is an image
    read: int = 0  # of those, files whose header could be read
    added: list[str] = field(default_factory=list)  # new columns
    filled: int = 0  # cells written
    kept: int = 0  # curator values kept although the file says otherwise
    rewritten: bool = False
    problems: list[str] = field(default_factory=list)  # "path: warning", first few


@dataclass
class HarvestReport:
    accession: str
    manifests: list[ManifestReport]
    proposal: dict[str, Any]  # proposed image_acquisitions entry ({} when nothing found)


def harvest_file(path: str) -> dict[str, Any]:
    """The harvested cells and acquisition facts of one file (picklable, for workers)."""
    record = inspect_image(Path(path))
    return {
        "values": harvested_values(record),
        "warning": record.get("warning"),
        "instrument": record.get("instrument"),
        "channels": record.get("channels") or [],
        "physical_size": record.get("physical_size") or {},
    }


def harvested_values(record: dict[str, Any]) -> dict[str, str]:
    """Manifest cells from an ``inspect_image`` record (empty when it was unreadable)."""
    if not record.get("readable"):
        return {}
    values: dict[str, str] = {}
    for axis, count in (record.get("dimensions") or {}).items():
        values[f"Size{axis}"] = str(int(count))
    if record.get("pixel_type"):
        values["PixelType"] = str(record["pixel_type"])
    for axis, size in (record.get("physical_size") or {}).items():
        values[f"PhysicalSize{axis}"] = f"{float(size['value']):.6g}"
        values[f"PhysicalSize{axis}Unit"] = str(size["unit"])
    return {k: v for k, v in values.items() if k in HARVEST_COLUMNS}


def harvest_study(
    content: Path,
    accession: str,
    *,
    overwrite: bool = False,
    executor: Executor | None = None,
    echo: Callable[[str], None] = lambda _: None,
) -> HarvestReport:
    """Harvest every manifest of one study (see the module docstring)."""
    from catalogue.readers.tree import load_site

    site, _ = load_site(content)
    if site is None:
        raise HarvestError(f"{content / 'site.yaml'} is missing or invalid (run validate)")
    study_file = content / "studies" / accession / "study.yaml"
    try:
        study = yaml.safe_load(study_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise HarvestError(f"no study {accession}: {study_file} not found") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise HarvestError(f"{study_file} cannot be read ({exc}); run validate") from None
    datasets = study.get("datasets") if isinstance(study, dict) else None
    manifests = [
        str(ds["files"])
        for ds in datasets or []
        if isinstance(ds, dict) and ds.get("files") and not path_problem(str(ds["files"]))
    ]
    if not manifests:
        raise HarvestError(f"study {accession} lists no file manifests")
    data = content / site.data_root / accession
    runner = executor or LocalExecutor(1)
    facts = _Facts()
    reports = []
    for name in manifests:
        report = _harvest_manifest(
            study_file.parent / name, content, data, overwrite, runner, facts
        )
        echo(_summary(report))
        reports.append(report)
    return HarvestReport(accession, reports, facts.proposal())


def _summary(report: ManifestReport) -> str:
    added = ", ".join(report.added) if report.added else "none"
    text = (
        f"harvest: {report.manifest}: {report.read} of {report.local} local image files read "
        f"({report.rows} rows); columns added: {added}; {report.filled} cells filled"
    )
    if report.kept:
        text += f"; {report.kept} curator values kept (use --overwrite to replace them)"
    if not report.rewritten:
        text += "; manifest unchanged"
    return text


# --- the two passes ------------------------------------------------------------------


def _lines(path: Path) -> Iterator[str]:
    with path.open("r", encoding="utf-8-sig", newline="") as handle:
        for line in handle:
            yield line.rstrip("\r\n")


def _harvest_manifest(
    manifest: Path, content: Path, data: Path, overwrite: bool, runner: Executor, facts: _Facts
) -> ManifestReport:
    report = ManifestReport(_relative(manifest, content))
    if not manifest.is_file():
        report.problems.append("manifest not found")
        return report
    with tempfile.TemporaryFile("w+", encoding="utf-8") as spool:
        try:
            header, used = _first_pass(manifest, data, runner, facts, report, spool)
        except UnicodeDecodeError:
            report.problems.append("manifest is not valid UTF-8 (run validate)")
            return report
        if header is None or "path" not in header:
            report.problems.append("manifest has no header with a path column (run validate)")
            return report
        try:
            _second_pass(manifest, header, spool, used, overwrite, report)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise HarvestError(f"cannot rewrite {report.manifest}: {reason}") from None
    return report


def _relative(path: Path, content: Path) -> str:
    try:
        return str(path.relative_to(content))
    except ValueError:
        return str(path)


def _first_pass(
    manifest: Path,
    data: Path,
    runner: Executor,
    facts: _Facts,
    report: ManifestReport,
    spool: IO[str],
) -> tuple[list[str] | None, set[str]]:
    """Read the files' headers in batches; spool one JSON line of values per data row."""
    header: list[str] | None = None
    used: set[str] = set()
    batch: list[tuple[int, str, Path | None]] = []  # (row number, path, local file)

    def flush() -> None:
        # absolute paths: a Dask worker may run in another directory
        files = [str(local.absolute()) for _, _, local in batch if local is not None]
        results = iter(runner.map(harvest_file, files))
        for _, rel, local in batch:
            values: dict[str, str] = {}
            if local is not None:
                result = next(results)
                values = result["values"]
                if values:
                    report.read += 1
                    facts.add(result)
                elif result["warning"] and len(report.problems) < 5:
                    report.problems.append(f"{rel}: {result['warning']}")
            used.update(values)
            spool.write(json.dumps(values, sort_keys=True) + "\n")
        batch.clear()

    for number, line in enumerate(_lines(manifest), start=1):
        if header is None:
            if line.strip():
                header = [c.strip() for c in line.split("\t")]
            continue
        if not line.strip():
            continue
        cells = line.split("\t")
        local = None
        if len(cells) == len(header) and "path" in header:
            rel = cells[header.index("path")]
            report.rows += 1
            local = _local_image(data, rel)
            if local is not None:
                report.local += 1
        else:
            rel = ""
        batch.append((number, rel, local))
        if len(batch) >= BATCH:
            flush()
    flush()
    spool.seek(0)
    return header, used


def _local_image(data: Path, rel: str) -> Path | None:
    if path_problem(rel) or not thumbnail_candidate(rel):
        return None
    local = data / rel
    if escapes(local, data):  # a link out of the study's data folder is never read
        return None
    if local.is_file() or is_zarr(local):
        return local
    return None


def _second_pass(
    manifest: Path,
    header: list[str],
    spool: IO[str],
    used: set[str],
    overwrite: bool,
    report: ManifestReport,
) -> None:
    """Merge spooled values into a new manifest and swap it in, if anything changed."""
    added = [c for c in HARVEST_COLUMNS if c in used and c not in header]
    report.added = added
    columns = header + added
    changed = bool(added)
    temp = ""
    try:
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", newline="", dir=manifest.parent, prefix=".harvest-", delete=False
        ) as handle:
            temp = handle.name
            header_done = False
            for line in _lines(manifest):
                if not header_done:
                    if line.strip():
                        handle.write("\t".join(columns) + "\n")
                        header_done = True
                    else:
                        handle.write(line + "\n")
                    continue
                if not line.strip():
                    handle.write(line + "\n")
                    continue
                values: dict[str, str] = json.loads(spool.readline() or "{}")
                cells = line.split("\t")
                if len(cells) != len(header):  # left for validate to report
                    handle.write(line + "\n")
                    continue
                for index, column in enumerate(header):
                    new = values.get(column)
                    if new is None or cells[index].strip() == new:
                        continue
                    if cells[index].strip() and not overwrite:
                        report.kept += 1
                        continue
                    cells[index] = new
                    report.filled += 1
                    changed = True
                for column in added:
                    cells.append(values.get(column, ""))
                    report.filled += column in values
                handle.write("\t".join(cells) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        if changed:
            os.chmod(temp, manifest.stat().st_mode & 0o777)
            os.replace(temp, manifest)
            report.rewritten = True
    finally:
        if temp and os.path.exists(temp):
            os.unlink(temp)


# --- proposed acquisition metadata ---------------------------------------------------


class _Facts:
    """Acquisition facts seen across files, counted, for one proposal per study."""

    def __init__(self) -> None:
        self.files = 0
        self.microscopes: Counter[str] = Counter()
        self.objectives: Counter[str] = Counter()
        self.detectors: Counter[str] = Counter()
        self.channels: Counter[str] = Counter()
        self.pixel_sizes: Counter[str] = Counter()

    def add(self, result: dict[str, Any]) -> None:
        self.files += 1
        instrument = result.get("instrument") or {}
        if instrument.get("microscope"):
            self.microscopes[str(instrument["microscope"])] += 1
        for objective in instrument.get("objectives") or []:
            self.objectives[_objective(objective)] += 1
        for detector in instrument.get("detectors") or []:
            self.detectors[" ".join(str(v) for v in detector.values())] += 1
        for channel in result.get("channels") or []:
            if channel.get("name"):
                self.channels[str(channel["name"])] += 1
        sizes = result.get("physical_size") or {}
        if sizes:
            self.pixel_sizes[_pixel_size(sizes)] += 1

    def proposal(self) -> dict[str, Any]:
        instrument = [m for m, _ in self.microscopes.most_common(3)]
        instrument += [f"objective {o}" for o, _ in self.objectives.most_common(3)]
        instrument += [f"detector {d}" for d, _ in self.detectors.most_common(3)]
        parameters = [f"pixel size {p}" for p, _ in self.pixel_sizes.most_common(3)]
        if self.channels:
            parameters.append("channels: " + ", ".join(c for c, _ in self.channels.most_common(12)))
        entry: dict[str, Any] = {}
        if instrument:
            entry["instrument"] = "; ".join(instrument)
        if parameters:
            entry["parameters"] = "; ".join(parameters)
        if entry:
            files = f"{self.files} file{'' if self.files == 1 else 's'}"
            entry["description"] = f"Harvested from the headers of {files}."
        return entry


def _objective(objective: dict[str, Any]) -> str:
    parts = [str(objective[k]) for k in ("manufacturer", "model") if objective.get(k)]
    if objective.get("magnification") and not any("x" in p.lower() for p in parts):
        parts.append(f"{objective['magnification']:g}x")
    if objective.get("na"):
        parts.append(f"NA {objective['na']:g}")
    if objective.get("immersion"):
        parts.append(str(objective["immersion"]).lower())
    return " ".join(parts)


def _pixel_size(sizes: dict[str, Any]) -> str:
    axes = [a for a in ("X", "Y", "Z") if a in sizes]
    values = " × ".join(f"{float(sizes[a]['value']):g}" for a in axes)
    units = {str(sizes[a]["unit"]) for a in axes}
    unit = units.pop() if len(units) == 1 else "(mixed units)"
    return f"{values} {unit} ({'/'.join(axes)})"


def proposal_yaml(report: HarvestReport) -> str:
    """The proposal as a study.yaml fragment a curator can paste."""
    if not report.proposal:
        return ""
    fragment = {"image_acquisitions": {"harvested": report.proposal}}
    return yaml.safe_dump(fragment, sort_keys=False, allow_unicode=True, width=100)
