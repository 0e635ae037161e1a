"""Loading many uncached study folders spreads over --jobs processes: the catalogue and
every message must be exactly those of loading them one by one, broken studies included."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from catalogue import problems as problems_mod
from catalogue.readers import tree

SYNTH = Path(__file__).resolve().parent.parent / "scripts" / "synth.py"
TODAY = dt.date(2026, 12, 2)


@pytest.fixture(scope="module")
def content(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """More studies than the parallel threshold, three of them broken in different ways."""
    out = tmp_path_factory.mktemp("load") / "content"
    studies = tree.MIN_FORKED_LOAD + 16
    subprocess.run(
        [sys.executable, str(SYNTH), "--studies", str(studies), "--files-per-study", "5"]
        + ["--out", str(out)],
        check=True,
        capture_output=True,
    )
    folders = sorted((out / "studies").iterdir())
    (folders[3] / "study.yaml").write_text("format: 1\ntitle: [unclosed\n")
    yaml = folders[7] / "study.yaml"
    yaml.write_text(yaml.read_text().replace("license: CC0-1.0", "license: 12"))
    manifest = next(folders[11].glob("*.files.tsv"))
    manifest.write_text(manifest.read_text() + "short\trow\n")
    return out


def _load(content: Path, cache: Path, jobs: int, monkeypatch: pytest.MonkeyPatch) -> tuple:
    monkeypatch.setenv("CATALOGUE_CACHE_DIR", str(cache))
    catalogue, problems = tree.load(content, TODAY, keep_going=True, jobs=jobs)
    assert catalogue is not None
    return catalogue.model_dump(mode="json"), problems_mod.render(problems)


def test_two_processes_load_what_one_does(
    content: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pids = tmp_path / "pids"
    real = tree.load_study

    def noting_pid(*args, **kwargs):  # type: ignore[no-untyped-def]
        with pids.open("a") as fh:
            fh.write(f"{os.getpid()}\n")
        return real(*args, **kwargs)

    one = _load(content, tmp_path / "one", 1, monkeypatch)
    monkeypatch.setattr(tree, "load_study", noting_pid)
    two = _load(content, tmp_path / "two", 2, monkeypatch)
    loaders = set(pids.read_text().split())
    assert str(os.getpid()) not in loaders and len(loaders) == 2  # both workers loaded
    assert two == one
    left_out = {item["folder"] for item in one[0]["left_out"]}
    assert len(left_out) == 3, left_out  # the three broken studies, reported, not loaded
    assert all(code in one[1] for code in ("E001 YAML syntax", "(got 12)", "E042"))
    # read back from the cache the workers filled: the same again, nothing re-read
    pids.unlink()
    assert _load(content, tmp_path / "two", 2, monkeypatch) == one
    assert not pids.exists()


def test_few_folders_load_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "content"
    subprocess.run(
        [sys.executable, str(SYNTH), "--studies", "3", "--out", str(out)],
        check=True,
        capture_output=True,
    )
    pids: list[int] = []
    real = tree.load_study

    def noting_pid(*args, **kwargs):  # type: ignore[no-untyped-def]
        pids.append(os.getpid())
        return real(*args, **kwargs)

    monkeypatch.setattr(tree, "load_study", noting_pid)
    catalogue, _ = _load(out, tmp_path / "cache", 2, monkeypatch)
    assert pids == [os.getpid()] * 3 and len(catalogue["studies"]) == 3
