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
STATE_VERSION = 1


@dataclass
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

    def to_bytes(self) -> bytes:
        data = {
            "version": STATE_VERSION,
            "steps": {
                k: {
                    "digest": v.digest,
                    "outputs": v.outputs,
                    "warnings": v.warnings,
                    "info": v.info,
                }
                for k, v in sorted(self.steps.items())
            },
            "sources": dict(sorted(self.sources.items())),
        }
        # compact: the C encoder (an indented dump is pure Python, seconds at 10,000 studies)
        text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
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
    if data.get("version") != STATE_VERSION:
        return (
            BuildState(),
            f"build state version changed ({data.get('version')} → {STATE_VERSION})",
        )
    steps = {
        k: StepRecord(
            v["digest"], list(v["outputs"]), list(v.get("warnings", [])), v.get("info", {})
        )
        for k, v in data.get("steps", {}).items()
    }
    return (
        BuildState(
            steps=steps,
            sources=dict(data.get("sources", {})),
        ),
        None,
    )
