"""Rewrite ``- name: Given Family`` authors of study.yaml files as family/given names.

Content written before authors had ``family_name``/``given_name`` stays valid (a ``name``
alone is a literal name), but citations can then only treat each author as one string.
This script applies the importers' rule (catalogue.names) to each author line that has a
plain ``name:`` and nothing else on the line, keeps names that read as organisations, and
edits the files in place line by line, so comments and layout survive. Review the diff.

    python3 scripts/migrate_author_names.py content/studies/*/study.yaml
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from catalogue.names import split_name

_AUTHOR = re.compile(r"^(?P<indent>\s*)- name: (?P<name>[^'\"#{}\[\]]+?)\s*$")


def migrate(text: str) -> tuple[str, int]:
    out: list[str] = []
    in_authors = False
    changed = 0
    for line in text.splitlines(keepends=True):
        if re.match(r"^[^\s-]", line):
            in_authors = line.startswith("authors:")
        m = _AUTHOR.match(line.rstrip("\n")) if in_authors else None
        parts = split_name(m.group("name")) if m else {}
        if m and "family_name" in parts:
            indent = m.group("indent")
            out.append(f"{indent}- family_name: {parts['family_name']}\n")
            if parts.get("given_name"):
                out.append(f"{indent}  given_name: {parts['given_name']}\n")
            changed += 1
            continue
        out.append(line)
    return "".join(out), changed


def main(paths: list[str]) -> int:
    for name in paths:
        path = Path(name)
        text, changed = migrate(path.read_text(encoding="utf-8"))
        if changed:
            tmp = path.with_suffix(".yaml.tmp")
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(path)
            print(f"{path}: {changed} author(s) split into family and given names")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
