"""A disk cache of manifest summaries, keyed by the manifest's bytes.

Checking a 1.3-million-row manifest takes seconds; hashing its bytes a fraction of
that. Since a summary (and its problems) is a pure function of the bytes, the path shown
in messages and the checking code, an unchanged manifest is read once and then only
hashed. The cache lives outside the content tree and the site: ``$CATALOGUE_CACHE_DIR``,
else ``$XDG_CACHE_HOME/catalogue``, else ``~/.cache/catalogue``. Set
``CATALOGUE_CACHE_DIR=""`` to switch it off. Anything unreadable is simply a miss.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from catalogue.model import ManifestSummary
from catalogue.problems import Problem

# bump with any change to what summarize() checks or returns
CACHE_VERSION = "6"  # 2: summaries keep distinct attribute values; 3: checksum count;
# 4: Zarr folders counted as images, previews one row per image; 5: E049, formula paths;
# 6: five preview rows (the study page shows five)


def cache_dir() -> Path | None:
    env = os.environ.get("CATALOGUE_CACHE_DIR")
    if env is not None:
        return Path(env) / "manifests" if env else None
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "catalogue" / "manifests"


def _entry(digest: str, rel: str) -> Path | None:
    folder = cache_dir()
    if folder is None:
        return None
    key = hashlib.sha256(f"{CACHE_VERSION}\0{digest}\0{rel}".encode()).hexdigest()
    return folder / key[:2] / f"{key}.json"


def get(digest: str, rel: str) -> tuple[ManifestSummary | None, list[Problem]] | None:
    path = _entry(digest, rel)
    if path is None or not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        summary = ManifestSummary.model_validate(data["summary"]) if data["summary"] else None
        problems = [Problem(**p) for p in data["problems"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return summary, problems


def put(digest: str, rel: str, summary: ManifestSummary | None, problems: list[Problem]) -> None:
    path = _entry(digest, rel)
    if path is None:
        return
    data = {
        "summary": summary.model_dump(mode="json") if summary else None,
        "problems": [
            {
                "path": p.path,
                "line": p.line,
                "column": p.column,
                "code": p.code,
                "message": p.message,
            }
            for p in problems
        ],
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass  # a cache that cannot be written is only slower
