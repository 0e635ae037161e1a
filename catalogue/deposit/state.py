"""What ``add-files`` already hashed, so that a re-run reads only new or changed files.

One SQLite database per deposit folder (named by a hash of its absolute path) in the
catalogue cache (``$CATALOGUE_CACHE_DIR/deposit``, else ``~/.cache/catalogue/deposit``),
outside the content tree and the data. Each row is a file's relative path, size,
modification time, digest and harvested header values. A file whose size and mtime are
unchanged is not read again. Rows are committed every few seconds while hashing runs, so
an interrupted run keeps what it did. SQLite keeps lookups on disk: a million-file folder
costs the same memory as a small one.

With the cache switched off (``CATALOGUE_CACHE_DIR=""``) the state lives in a temporary
file for one run only.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

VERSION = 1
COMMIT_EVERY = 2.0  # seconds


def state_dir() -> Path | None:
    env = os.environ.get("CATALOGUE_CACHE_DIR")
    if env is not None:
        return Path(env) / "deposit" if env else None
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "catalogue" / "deposit"


class HashState:
    def __init__(self, folder: Path):
        folder_key = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:24]
        directory = state_dir()
        self.temporary = directory is None
        if directory is None:
            fd, name = tempfile.mkstemp(prefix="catalogue-deposit-", suffix=".sqlite")
            os.close(fd)
            self.path = Path(name)
        else:
            directory.mkdir(parents=True, exist_ok=True)
            self.path = directory / f"{folder_key}.v{VERSION}.sqlite"
        self.db = sqlite3.connect(self.path)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS hashed (path TEXT PRIMARY KEY, size INTEGER, "
            "mtime_ns INTEGER, sha256 TEXT, harvest TEXT, harvested TEXT)"
        )
        self._pending: list[tuple[Any, ...]] = []
        self._last = time.monotonic()

    def lookup(self, rel: str, size: int, mtime_ns: int, harvest: bool) -> dict[str, Any] | None:
        """The recorded result when the file is unchanged (and was harvested if asked)."""
        row = self.db.execute(
            "SELECT size, mtime_ns, sha256, harvest, harvested FROM hashed WHERE path = ?",
            (rel,),
        ).fetchone()
        if row is None or row[0] != size or row[1] != mtime_ns:
            return None
        if harvest and not row[3]:
            return None
        return {"sha256": row[2], "values": json.loads(row[4]) if row[4] else {}}

    def record(self, result: dict[str, Any], harvest: bool) -> None:
        self._pending.append(
            (
                result["rel"],
                result["size"],
                result["mtime_ns"],
                result["sha256"],
                1 if harvest else 0,
                json.dumps(result["values"], sort_keys=True) if result.get("values") else "",
            )
        )
        if time.monotonic() - self._last > COMMIT_EVERY:
            self.flush()

    def flush(self) -> None:
        if self._pending:
            self.db.executemany(
                "INSERT OR REPLACE INTO hashed VALUES (?, ?, ?, ?, ?, ?)", self._pending
            )
            self._pending = []
        self.db.commit()
        self._last = time.monotonic()

    def close(self) -> None:
        self.flush()
        self.db.close()
        if self.temporary:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
