"""Random trees (tests/embargo_trees.py) with embargoed studies moved, renamed and named
through git history, redirects and links: no accession, title word, organism or file
name of an embargoed study in any byte of the public site (search index decompressed),
nor in a reviewer preview of another embargoed study; on their release day they appear."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner

from catalogue.cli import main

from .conftest import build_site
from .embargo_trees import leaks, make_tree

SEEDS = [3, 11]


@pytest.mark.parametrize("seed", SEEDS)
def test_no_embargoed_byte_in_a_random_tree(tmp_path: Path, seed: int):
    tree = make_tree(seed, tmp_path)
    out = tmp_path / "build"
    build_site(tree.content, out)
    assert leaks(out, tree.secrets) == []
    # a reviewer preview of one embargoed study shows nothing of the others
    previews = tmp_path / "previews"
    result = CliRunner().invoke(
        main,
        [
            "preview",
            tree.embargoed[0],
            "--content",
            str(tree.content),
            "--out",
            str(previews),
            "--today",
            "2026-11-25",
        ],
    )
    assert result.exit_code == 0, result.output
    first = tree.embargoed[0]
    others = [s for acc in tree.embargoed[1:] for s in tree.secrets_of[acc]]
    assert leaks(previews, others) == []
    assert leaks(previews, tree.secrets_of[first][:1])  # the preview does show its study
    # the search would have found them: released, they are everywhere
    released = tmp_path / "released"
    build_site(tree.content, released, today=dt.date(2031, 1, 2))
    for acc in tree.embargoed:
        assert leaks(released, tree.secrets_of[acc][:1]), acc
