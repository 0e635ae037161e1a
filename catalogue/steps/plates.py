"""Plate maps of screening datasets: the wells of each plate with their attributes.

A manifest with a plate column and a well column (``Plate``/``Well``, any case) gets, under
its dataset's ``data/`` folder, an index ``plates.json`` and the wells of every plate in
``plates-<k>.json`` shards. A plate's shard is chosen by a stable hash of its name, so the
number of files is known before the manifest is read (a build step declares its outputs)
and a browser fetches only the shard of the plate a reader opens: at 1,000 plates of 384
wells a shard holds about ten plates. A shard no plate falls in is not written when the
manifest summary knows the plate names (``used_shards``): a screen of 16 files a well has
more shards than plates, and an empty shard is a file nobody fetches.
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Iterable, Sequence
from typing import Any

PLATE_NAMES = ("plate", "plate name", "plate_name", "platename")
WELL_NAMES = ("well", "well name", "well_name", "wellname")
ROWS_PER_SHARD = 4096  # manifest rows per shard file, on average
WELL_RE = re.compile(r"^\s*([A-Za-z]{1,2})\s*0*(\d{1,3})\s*$")
# plate formats by (rows, columns), smallest that fits
FORMATS = ((8, 12), (16, 24), (32, 48))


def plate_columns(columns: Sequence[str]) -> tuple[str, str] | None:
    """The (plate, well) attribute columns of a manifest, or None."""
    lower = {c.lower(): c for c in columns}
    plate = next((lower[n] for n in PLATE_NAMES if n in lower), None)
    well = next((lower[n] for n in WELL_NAMES if n in lower), None)
    return (plate, well) if plate and well else None


def shard_count(rows: int) -> int:
    return max(1, math.ceil(rows / ROWS_PER_SHARD))


def shard_of(plate: str, shards: int) -> int:
    """The shard of a plate, by its name without surrounding blanks: the form in which the
    manifest summary lists a column's values (``ManifestSummary.values``)."""
    return zlib.crc32(plate.strip().encode("utf-8")) % shards


def used_shards(names: Iterable[str] | None, shards: int) -> list[int]:
    """The shards that the plates *names* fall in, or all of them when the names are not
    known (more than the summary keeps, or only numbers, which it leaves out)."""
    if names is None:
        return list(range(shards))
    return sorted({shard_of(n, shards) for n in names})


def parse_well(name: str) -> tuple[int, int] | None:
    """'C07', 'c7', 'AB12' -> (row, column), both from 0; None for anything else."""
    m = WELL_RE.match(name)
    if not m:
        return None
    row = 0
    for ch in m.group(1).upper():
        row = row * 26 + (ord(ch) - 64)
    column = int(m.group(2))
    return (row - 1, column - 1) if column >= 1 else None


def well_label(row: int, column: int) -> str:
    letters = ""
    n = row + 1
    while n:
        n, r = divmod(n - 1, 26)
        letters = chr(65 + r) + letters
    return f"{letters}{column + 1:02d}"


class PlateCollector:
    """Wells per plate as rows stream by; memory grows with wells, not with files.

    A well is kept as [raw well name, values, files, thumbnail or None] with each text
    held once (a screen's 80,000 wells repeat a few hundred compounds and wells): the
    1.3-million-file screen's wells took 55 MiB as dicts of their own strings. The JSON
    documents are made a shard at a time (``shard``)."""

    def __init__(self, attributes: list[str]) -> None:
        self.attributes = attributes
        # plate -> [wells by label, rows, columns]
        self.plates: dict[str, list[Any]] = {}
        self._texts: dict[str, str] = {}

    def add(
        self, plate: str, well: str, values: list[str], thumb: str | None, count: int = 1
    ) -> None:
        """A row of the manifest, or ``count`` rows of one well whose first row has
        ``values`` (the file table adds a block of rows a well at a time)."""
        position = parse_well(well)
        if not plate.strip() or position is None:
            return
        p = self.plates.get(plate)
        if p is None:
            p = self.plates[plate] = [{}, 0, 0]
        label = well_label(*position)
        entry = p[0].get(label)
        if entry is None:
            text = self._texts.setdefault
            entry = p[0][text(label, label)] = [
                text(well, well),
                tuple(text(v, v) for v in values),
                0,
                None,
            ]
            p[1] = max(p[1], position[0] + 1)
            p[2] = max(p[2], position[1] + 1)
        entry[2] += count
        if thumb and entry[3] is None:
            entry[3] = thumb

    def add_block(
        self, plate: Any, well: Any, values: list[Any], thumbs: list[tuple[int, str]]
    ) -> None:
        """``add`` of every row of pyarrow string arrays, one call a distinct (plate, well)
        in the order of their first rows (the order ``add`` row by row creates the wells
        in); ``thumbs``: (row, thumbnail) of the rows that have one, in row order."""
        import numpy as np
        import pyarrow.compute as pc

        if not len(plate):
            return
        codes = pc.dictionary_encode(pc.binary_join_element_wise(plate, well, "\t"))
        indices = codes.indices.to_numpy(zero_copy_only=False)
        first = np.unique(indices, return_index=True)[1]
        counts = np.bincount(indices).tolist()
        rows = first.tolist()
        plates, wells = plate.take(first).to_pylist(), well.take(first).to_pylist()
        kept = [v.take(first).to_pylist() for v in values]
        for k in range(len(rows)):
            self.add(plates[k], wells[k], [v[k] for v in kept], None, counts[k])
        for row, thumb in thumbs:
            self.add(plate[row].as_py(), well[row].as_py(), [], thumb, 0)

    def _format(self, name: str) -> tuple[int, int]:
        _, used_rows, used_cols = self.plates[name]
        return next(
            ((r, c) for r, c in FORMATS if used_rows <= r and used_cols <= c),
            (used_rows, used_cols),
        )

    def index(self, shards: int) -> dict[str, Any]:
        """The plate index (plates.json without ``data``)."""
        plates = []
        for name in sorted(self.plates):
            rows, cols = self._format(name)
            wells = len(self.plates[name][0])
            k = shard_of(name, shards)
            plates.append({"name": name, "shard": k, "wells": wells, "rows": rows, "cols": cols})
        return {"attributes": self.attributes, "plates": plates}

    def shard(self, k: int, shards: int) -> dict[str, Any]:
        """The document of shard ``k``: its plates and their wells."""
        out: dict[str, Any] = {}
        for name in sorted(n for n in self.plates if shard_of(n, shards) == k):
            rows, cols = self._format(name)
            wells = {}
            for label, (well, values, files, thumb) in self.plates[name][0].items():
                wells[label] = {"w": well, "v": list(values), "n": files}
                if thumb is not None:
                    wells[label]["t"] = thumb
            out[name] = {"rows": rows, "cols": cols, "wells": wells}
        return {"plates": out}

    def outputs(self, shards: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The index and the shard documents (every shard, empty ones too)."""
        return self.index(shards), [self.shard(k, shards) for k in range(shards)]
