"""Writing the site: a staging folder beside the output, swapped in only on success.

An interrupted or failed build leaves the previous site as it was.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any, BinaryIO


def dumps_json(value: Any, pretty: bool = False) -> bytes:
    """Deterministic JSON bytes: sorted keys, fixed separators, UTF-8."""
    if pretty:
        text = json.dumps(value, sort_keys=True, ensure_ascii=False, indent=2)
    else:
        text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return (text + "\n").encode("utf-8")


class Staging:
    def __init__(self, out: Path):
        self.out = out.resolve()
        self.root = self.out.parent / f".{self.out.name}.staging-{os.getpid()}"
        self._old = self.out.parent / f".{self.out.name}.old-{os.getpid()}"

    def __enter__(self) -> Staging:
        if self.root.exists():
            shutil.rmtree(self.root)
        self.root.mkdir(parents=True)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.root.exists():
            shutil.rmtree(self.root, ignore_errors=True)

    def write(self, rel: str, data: bytes) -> None:
        target = self._target(rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            target.unlink()  # it may be a hard link into the live site: never write through it
        target.write_bytes(data)

    def open(self, rel: str) -> BinaryIO:
        """A file in the staging tree opened for writing, for steps that stream large outputs."""
        target = self._target(rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            target.unlink()
        return target.open("wb")

    def reuse(self, rel: str) -> bool:
        """Hard-link an unchanged file from the live site (files are never edited in place)."""
        source = self.out / rel
        if not source.is_file():
            return False
        target = self._target(rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, target)
        except OSError:
            shutil.copy2(source, target)
        return True

    def _target(self, rel: str) -> Path:
        target = (self.root / rel).resolve()
        if not target.is_relative_to(self.root):
            raise ValueError(f"output path escapes the site: {rel}")
        return target

    def commit(self) -> None:
        """Swap the staging folder in. Two renames on one file system; the old tree goes last."""
        if self.out.exists():
            os.rename(self.out, self._old)
        os.rename(self.root, self.out)
        if self._old.exists():
            shutil.rmtree(self._old, ignore_errors=True)
