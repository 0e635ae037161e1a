"""The build-state manifest: which step produced which files from which inputs.

Stored in the output folder so that the next build can reuse unchanged files by
content digest (never by mtime). It has its own format version: a state of another
version is ignored, with the reason printed, and everything is rebuilt.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STATE_FILE = ".catalogue-state.json"
STATE_VERSION = 2


@dataclass(slots=True)  # 80,000 of them at 10,000 studies
class StepRecord:
    digest: str
    outputs: list[str]
    warnings: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class BuildState:
    steps: dict[str, StepRecord] = field(default_factory=dict)
    # source file identity cache: relative path -> [size, mtime_ns, sha256]
    sources: dict[str, list[Any]] = field(default_factory=dict)
    # study groups (pipeline/groups.py): accession -> [group key, its step ids, the
    # study's summary (steps/summaries.py) or None when it is not public]
    groups: dict[str, list[Any]] = field(default_factory=dict)

    def to_bytes(self) -> bytes:
        # one list per step, in step order, not one object: at 10,000 studies (80,000
        # steps) objects with sorted keys took seconds to write and to read again
        steps = [
            [k, v.digest, v.outputs, v.warnings, v.info] for k, v in sorted(self.steps.items())
        ]
        data = {
            "version": STATE_VERSION,
            "steps": steps,
            "sources": self.sources,
            "groups": self.groups,
        }
        # compact: the C encoder (an indented dump is pure Python, seconds at 10,000 studies);
        # sorted keys, so that the bytes never depend on the order a step filled its info
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        return (text + "\n").encode()


def load_state(out: Path) -> tuple[BuildState, str | None]:
    """The previous state, or an empty one plus the reason everything will be rebuilt."""
    path = out / STATE_FILE
    if not path.is_file():
        return BuildState(), "no previous build"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return BuildState(), "previous build state unreadable"
    if data.get("version") == 1:  # the object per step of the first format
        data["steps"] = [
            [k, v["digest"], v["outputs"], v.get("warnings", []), v.get("info", {})]
            for k, v in data.get("steps", {}).items()
        ]
    elif data.get("version") != STATE_VERSION:
        return (
            BuildState(),
            f"build state version changed ({data.get('version')} → {STATE_VERSION})",
        )
    try:
        steps = {
            k: StepRecord(digest, outputs, warnings, info)
            for k, digest, outputs, warnings, info in data.get("steps", [])
        }
        if not all(type(r.outputs) is list and type(r.warnings) is list for r in steps.values()):
            raise TypeError("outputs and warnings must be lists")
        # a state written before study groups has none: every group is planned
        groups: dict[str, list[Any]] = {}
        for acc, (key, ids, *summary) in dict(data.get("groups", {})).items():
            kept = dict(summary[0]) if summary and summary[0] else None
            groups[str(acc)] = [str(key), [str(i) for i in ids], kept]
    except (TypeError, ValueError):
        return BuildState(), "previous build state unreadable"
    return (
        BuildState(
            steps=steps,
            sources=dict(data.get("sources", {})),
            groups=groups,
        ),
        None,
    )
