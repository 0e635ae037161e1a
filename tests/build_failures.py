"""A synthetic tree and the failures that the parallel build tests inflict on it (a broken
template, a worker killed mid-build): the same for forked local workers
(``test_parallel.py``) and a Dask cluster (``test_dask_pages.py``)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from catalogue.render import TEMPLATES

SYNTH = Path(__file__).resolve().parent.parent / "scripts" / "synth.py"


def synthetic_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """24 synthetic studies (descriptions, authors, file tables of 30 rows): ~170 steps,
    streaming ones among them."""
    out = tmp_path_factory.mktemp("synth") / "content"
    subprocess.run(
        [sys.executable, str(SYNTH), "--studies", "24", "--files-per-study", "30", "--out", out],
        check=True,
        capture_output=True,
    )
    return out


def broken_study_template(tmp_path: Path) -> Path:
    """A copy of the templates whose study page names an undefined value: every study
    page step fails, nothing else does."""
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    page = templates / "study.html"
    page.write_text(
        page.read_text().replace("{% block main %}", "{% block main %}{{ no_such_value }}", 1)
    )
    return templates


def kill_worker_rendering(monkeypatch: pytest.MonkeyPatch, out: Path) -> Callable[..., Any]:
    """Make the process that renders the sixth study's pages kill itself (as the kernel's
    out-of-memory killer would), unless it is this test's own process; returns the real
    renderer, to be put back."""
    from catalogue.steps import pages

    victim = sorted(p.name for p in (out / "studies").iterdir())[5]
    parent = os.getpid()
    real = pages._render

    def killed(ctx, template, rel, **values):  # type: ignore[no-untyped-def]
        if victim in rel and os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(ctx, template, rel, **values)

    monkeypatch.setattr(pages, "_render", killed)
    return real
