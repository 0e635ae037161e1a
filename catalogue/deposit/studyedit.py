"""Add one dataset to a study.yaml without rewriting the rest of the file.

A study.yaml is written by people: comments, key order, quoting and line breaks are
theirs, and a pull-request diff should show one added dataset, not a reformatted file.
So the file is edited as text at the position PyYAML's node tree gives for ``datasets``
(appended to a block list, or a block list replacing an empty ``[]``, or appended to a
flow list, or a new ``datasets:`` key at the end), and the result is proved right by
parsing both versions: everything but ``datasets`` must be equal and ``datasets`` must
be the old list plus the new entry. Anything else is refused, and nothing is written.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml


class EditError(Exception):
    """study.yaml cannot be edited safely (message for the user)."""


_PLAIN = re.compile(r"^[a-z][a-z0-9_.-]*$")
_RESERVED = {"true", "false", "yes", "no", "on", "off", "null", "y", "n"}


def _q(text: str) -> str:
    """Plain when it cannot be read as anything but this string, else double-quoted."""
    if _PLAIN.match(text) and text not in _RESERVED:
        return text
    return json.dumps(text, ensure_ascii=False)


def _block(entry: dict[str, str], indent: int) -> list[str]:
    pad = " " * indent
    lines = []
    for i, (key, value) in enumerate(entry.items()):
        lead = f"{pad}- " if i == 0 else f"{pad}  "
        lines.append(f"{lead}{key}: {_q(value)}\n")
    return lines


def add_dataset(text: str, entry: dict[str, str]) -> str:
    """``text`` with ``entry`` appended to its ``datasets`` list (see the module docstring)."""
    try:
        before = yaml.safe_load(text)
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        raise EditError(f"is not valid YAML ({exc}); run catalogue validate") from None
    if not isinstance(root, yaml.MappingNode) or not isinstance(before, dict):
        raise EditError("is not a mapping of fields; run catalogue validate")
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    value = next((v for k, v in root.value if k.value == "datasets"), None)
    if value is None:
        new_lines = [*lines, "datasets:\n", *_block(entry, 2)]
    elif isinstance(value, yaml.ScalarNode) and value.value in ("", "~", "null"):
        if value.value == "":  # "datasets:" with nothing after it
            key_line = next(k for k, v in root.value if v is value).start_mark.line
            at = key_line + 1
            new_lines = [*lines[:at], *_block(entry, 2), *lines[at:]]
        else:
            new_lines = _replace(lines, value, "\n" + "".join(_block(entry, 2)).rstrip("\n"))
    elif isinstance(value, yaml.SequenceNode) and value.flow_style:
        if not value.value:
            new_lines = _replace(lines, value, "\n" + "".join(_block(entry, 2)).rstrip("\n"))
        else:
            end = value.end_mark
            flow = json.dumps(entry, ensure_ascii=False)
            line = lines[end.line]
            close = end.column - 1  # the position of "]"
            lines[end.line] = f"{line[:close]}, {flow}{line[close:]}"
            new_lines = lines
    elif isinstance(value, yaml.SequenceNode):
        indent = value.start_mark.column
        at = value.end_mark.line if value.end_mark.column == 0 else value.end_mark.line + 1
        at = min(at, len(lines))
        while at > 0 and (not lines[at - 1].strip() or lines[at - 1].lstrip().startswith("#")):
            at -= 1  # keep comments and blank lines that introduce what follows
        new_lines = [*lines[:at], *_block(entry, indent), *lines[at:]]
    else:
        raise EditError("'datasets' is not a list; run catalogue validate")
    result = "".join(new_lines)
    _prove(before, result, entry)
    return result


def _replace(lines: list[str], node: yaml.Node, replacement: str) -> list[str]:
    start, end = node.start_mark, node.end_mark
    if start.line != end.line:
        raise EditError("'datasets' spans several lines in an unexpected way")
    line = lines[start.line]
    lines[start.line] = line[: start.column].rstrip() + replacement + line[end.column :]
    return lines


def _prove(before: dict[str, Any], result: str, entry: dict[str, str]) -> None:
    try:
        after = yaml.safe_load(result)
    except yaml.YAMLError:
        after = None
    old = before.get("datasets") or []
    ok = (
        isinstance(after, dict)
        and {k: v for k, v in after.items() if k != "datasets"}
        == {k: v for k, v in before.items() if k != "datasets"}
        and after.get("datasets") == [*old, entry]
    )
    if not ok:
        raise EditError(
            "could not add the dataset without changing other fields; add it by hand "
            f"(datasets: - {json.dumps(entry, ensure_ascii=False)})"
        )
