"""No broken link inside a built site (scripts/link_check.py over the demo build)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "link_check.py"


def link_check():  # noqa: ANN201
    spec = importlib.util.spec_from_file_location("link_check", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_every_internal_link_of_the_demo_resolves(demo_site: Path):
    checked, broken = link_check().broken_links(demo_site, "http://localhost:8000")
    assert checked > 1000
    assert broken == []


def test_the_checker_finds_a_broken_link(tmp_path: Path):
    (tmp_path / "a").mkdir()
    (tmp_path / "index.html").write_text(
        '<a href="/a/">ok</a><a href="a/missing.html">gone</a><img src="/x.png">'
        '<a href="https://elsewhere.org/x">outside</a>'
    )
    (tmp_path / "a" / "index.html").write_text('<a href="../index.html#top">up</a>')
    checked, broken = link_check().broken_links(tmp_path, "http://localhost:8000")
    assert checked == 4
    assert broken == ["index.html: a/missing.html", "index.html: /x.png"]
