"""YAML loading that remembers where every value came from.

pydantic reports errors by location (``("authors", 0, "orcid")``); to tell a maintainer
*which line* is wrong we keep a map from such locations to source positions, built from
PyYAML's composed node tree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from pydantic_core import ErrorDetails

Loc = tuple[str | int, ...]


@dataclass
class Marked:
    """Plain Python data plus the (line, column) of each value and each mapping key."""

    data: Any
    values: dict[Loc, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Loc, tuple[int, int]] = field(default_factory=dict)
    duplicates: list[tuple[Loc, int, int]] = field(default_factory=list)
    errors: list[ErrorDetails] = field(default_factory=list)  # validation errors, if any

    def position(self, loc: Loc, prefer_key: bool = False) -> tuple[int, int]:
        """Best source position for ``loc``: the value, else its key, else the nearest parent."""
        loc = tuple(loc)
        while True:
            table = (self.keys, self.values) if prefer_key else (self.values, self.keys)
            for t in table:
                if loc in t:
                    return t[loc]
            if not loc:
                return (1, 1)
            loc = loc[:-1]


class YamlSyntaxError(Exception):
    def __init__(self, line: int, column: int, message: str):
        super().__init__(message)
        self.line = line
        self.column = column
        self.message = message


def load_marked(text: str) -> Marked:
    """Parse one YAML document; raise YamlSyntaxError (with its line) on bad syntax."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if exc.context_mark is not None and "<stream end>" in str(exc.problem or ""):
            mark = exc.context_mark  # "unexpected end": the unclosed bracket is the useful place
        line = mark.line + 1 if mark else 1
        col = mark.column + 1 if mark else 1
        msg = " ".join(str(x) for x in (exc.context, exc.problem) if x) or str(exc)
        raise YamlSyntaxError(line, col, f"YAML syntax error: {msg}") from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(1, 1, f"YAML syntax error: {exc}") from None
    finally:
        loader.dispose()
    result = Marked(data=None)
    if node is None:
        return result
    constructor = yaml.SafeLoader("")
    result.data = _build(node, (), result, constructor)
    return result


def _pos(node: yaml.Node) -> tuple[int, int]:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


def _build(node: yaml.Node, loc: Loc, out: Marked, ctor: yaml.SafeLoader) -> Any:
    out.values[loc] = _pos(node)
    if isinstance(node, yaml.MappingNode):
        ctor.flatten_mapping(node)
        mapping: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node, ctor)
            if not isinstance(key, str | int):
                key = str(key)
            child = (*loc, key)
            if key in mapping:
                out.duplicates.append((child, *_pos(key_node)))
                continue
            out.keys[child] = _pos(key_node)
            mapping[key] = _build(value_node, child, out, ctor)
        return mapping
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*loc, i), out, ctor) for i, item in enumerate(node.value)]
    return _scalar(node, ctor)


def _scalar(node: yaml.Node, ctor: yaml.SafeLoader) -> Any:
    """Construct a scalar; a value YAML cannot construct (e.g. 2024-13-01) stays a string.

    Keeping the raw text lets the model report "invalid date" at the right line instead
    of the YAML library failing the whole file.
    """
    if not isinstance(node, yaml.ScalarNode):
        return str(node.value)
    try:
        return ctor.construct_object(node, deep=True)
    except (yaml.YAMLError, ValueError, TypeError, OverflowError):
        return node.value
