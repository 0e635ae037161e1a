"""Rebuilds cost what changed, and still write exactly what a clean build writes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from catalogue.readers import tree
from catalogue.readers.tree import load

from .conftest import TODAY, copy_root


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    """The study folders whose study.yaml was parsed and validated (not taken from cache)."""
    monkeypatch.setenv("CATALOGUE_CACHE_DIR", str(tmp_path / "cache"))
    seen: list[str] = []
    real = tree.load_study

    def spy(folder: Path, *args: object, **kw: object):  # type: ignore[no-untyped-def]
        seen.append(folder.name)
        return real(folder, *args, **kw)

    monkeypatch.setattr(tree, "load_study", spy)
    return seen


def test_unchanged_studies_are_not_parsed_again(tmp_path: Path, parsed: list[str]):
    content = copy_root(tmp_path, "minimal")
    first, _ = load(content, TODAY)
    assert sorted(parsed) == ["S-BIAD1", "S-BIAD2"]
    parsed.clear()
    again, _ = load(content, TODAY)
    assert parsed == [] and again == first
    # another day can change what a study's checks say: nothing is reused across days
    load(content, TODAY.replace(year=TODAY.year + 1))
    assert sorted(parsed) == ["S-BIAD1", "S-BIAD2"]


def test_an_edit_that_keeps_size_and_time_stamp_is_still_seen(tmp_path: Path, parsed: list[str]):
    content = copy_root(tmp_path, "minimal")
    path = content / "studies" / "S-BIAD1" / "study.yaml"
    load(content, TODAY)
    stat = path.stat()
    path.write_text(path.read_text().replace("Worm fluorescence", "Wurm fluorescence"))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # within one clock tick
    assert path.stat().st_size == stat.st_size
    parsed.clear()
    edited, _ = load(content, TODAY)
    assert parsed == ["S-BIAD1"]
    assert edited is not None
    assert edited.studies[0].study.title == "Wurm fluorescence in sixteen bits"
    # touched but unchanged: hashed, found equal, not parsed
    parsed.clear()
    os.utime(path)
    load(content, TODAY)
    assert parsed == []
