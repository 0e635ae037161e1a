#!/usr/bin/env python3
"""Build random content trees with embargoed studies hidden in their git history,
redirects and links (tests/embargo_trees.py) and search every output byte for them.

    PYTHONPATH=. python3 scripts/embargo_trial.py --trees 10
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from catalogue.pipeline.builder import BuildOptions, run_build  # noqa: E402
from tests.embargo_trees import leaks, make_tree, site_bytes  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trees", type=int, default=10)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    rnd = random.Random(seed)
    studies = commits = files = size = 0
    found: list[str] = []
    for n in range(args.trees):
        with tempfile.TemporaryDirectory(prefix="catalogue-embargo-") as tmp:
            tree = make_tree(rnd.randrange(2**32), Path(tmp))
            out = Path(tmp) / "build"
            options = BuildOptions(content=tree.content, out=out, today=dt.date(2026, 11, 25))
            if not run_build(options, echo=lambda _: None):
                found.append(f"tree {n}: build failed")
                continue
            studies += len(tree.embargoed)
            commits += tree.commits
            for _, data in site_bytes(out):
                files += 1
                size += len(data)
            found += [f"tree {n}: {leak}" for leak in leaks(out, tree.secrets)]
    print(
        f"embargo trial (seed {seed}): {args.trees} trees, {studies} embargoed studies, "
        f"{commits} commits, {files} output files ({size:,} bytes, search index "
        f"decompressed) searched: {len(found)} leaks"
    )
    for line in found:
        print(line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
