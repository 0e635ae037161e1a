"""Re-importing a record that changed at its source, without losing a curator's edits.

Every import (PageTab, EMPIAR, IDR) also writes ``import-baseline.yaml`` beside
``study.yaml``: the study exactly as the importer made it. When the record is imported
again, each field is decided by comparing three values, the baseline (last import), the
study as it is now, and the new import:

- the study still has the baseline value (nobody edited it): it takes the new value;
- the curator changed it and the record did not: the curator's value is kept;
- both changed, differently: the curator's value is kept and reported, with the record's
  new value, for a human to decide;
- a field the curator added (absent from the baseline) is kept.

Mappings are compared key by key, datasets by id, other lists item by item when their
lengths agree (else as one value). Manifests are the record's: they are replaced. The new
import becomes the next baseline. Without a baseline (a study imported before baselines
existed, or written by hand) nothing can tell an edit from an old import, so the command
asks for ``--force``, which replaces the study.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

BASELINE = "import-baseline.yaml"

_MISSING: Any = object()


@dataclass
class Merge:
    study: dict[str, Any]
    kept: list[str] = field(default_factory=list)  # curator's values kept over a new one


def _short(value: Any, width: int = 50) -> str:
    text = "(absent)" if value is _MISSING else " ".join(repr(value).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _by_id(items: list[Any]) -> dict[str, Any] | None:
    if all(isinstance(i, dict) and isinstance(i.get("id"), str) for i in items):
        ids = [i["id"] for i in items]
        if len(set(ids)) == len(ids):
            return {i["id"]: i for i in items}
    return None


def _merge(base: Any, cur: Any, new: Any, path: str, kept: list[str]) -> Any:
    if all(isinstance(v, dict) for v in (base, cur, new)):
        out: dict[str, Any] = {}
        for key in [*new, *(k for k in cur if k not in new)]:
            value = _merge(
                base.get(key, _MISSING),
                cur.get(key, _MISSING),
                new.get(key, _MISSING),
                f"{path}.{key}" if path else str(key),
                kept,
            )
            if value is not _MISSING:
                out[key] = value
        return out
    if all(isinstance(v, list) for v in (base, cur, new)):
        maps = [_by_id(v) for v in (base, cur, new)]
        if all(m is not None for m in maps) and (base or cur or new):
            b, c, n = maps
            assert b is not None and c is not None and n is not None
            merged = []
            for key in [*n, *(k for k in c if k not in n)]:
                value = _merge(
                    b.get(key, _MISSING), c.get(key, _MISSING), n.get(key, _MISSING),
                    f"{path}[{key}]", kept,
                )  # fmt: skip
                if value is not _MISSING:
                    merged.append(value)
            return merged
        if len(base) == len(cur) == len(new):
            return [
                _merge(b, c, n, f"{path}.{i}", kept)
                for i, (b, c, n) in enumerate(zip(base, cur, new, strict=True))
            ]
    if cur == base:
        return new  # untouched since the last import: the record's value
    if new in (base, cur):
        return cur  # edited here, unchanged at the source
    kept.append(f"{path}: kept {_short(cur)} (edited here); the record now says {_short(new)}")
    return cur


def merge(baseline: dict[str, Any], current: dict[str, Any], new: dict[str, Any]) -> Merge:
    kept: list[str] = []
    study = _merge(baseline, current, new, "", kept)
    return Merge(study=study, kept=kept)


def read_baseline(folder: Path) -> dict[str, Any] | None:
    path = folder / BASELINE
    if not path.is_file():
        return None
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else None


def snapshot(folder: Path) -> Path:
    """A copy of the study folder's YAML and manifests, to describe the change against."""
    copy = Path(tempfile.mkdtemp(prefix="catalogue-reimport-")) / folder.name
    copy.mkdir()
    for path in [folder / "study.yaml", *folder.glob("*.files.tsv")]:
        if path.is_file():
            shutil.copy2(path, copy / path.name)
    return copy
