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


# more values than any real study or site file holds: aliases of aliases ("billion
# laughs") would otherwise expand to more values than memory can hold
MAX_VALUES = 1_000_000


# libyaml composes the same node tree, marks included, about 20 times faster; the
# pure-Python loader stays the one that words errors (its messages are the ones
# documented and tested), so a file that libyaml refuses is parsed again by it.
FastLoader: Any = getattr(yaml, "CSafeLoader", None)
BIG_INT = 2**63
_EMPTY = yaml.ScalarNode("tag:yaml.org,2002:null", "")


def load_marked(text: str) -> Marked:
    """Parse one YAML document; raise YamlSyntaxError (with its line) on bad syntax."""
    node = _compose_fast(text) if FastLoader is not None else None
    if node is None:
        node = _compose(text)
    result = Marked(data=None)
    if node is None or node is _EMPTY:
        return result
    constructor = yaml.SafeLoader("")
    try:
        result.data = _build(node, (), result, constructor, set())
    except RecursionError:
        raise YamlSyntaxError(1, 1, "YAML syntax error: values nested too deeply") from None
    return result


def _compose_fast(text: str) -> yaml.Node | None:
    """The node tree from libyaml, ``_EMPTY`` for an empty document, None on any error
    or on characters the pure-Python reader refuses (libyaml accepts a few more)."""
    if yaml.reader.Reader.NON_PRINTABLE.search(text):
        return None
    loader = FastLoader(text)
    try:
        node = loader.get_single_node()
    except (yaml.YAMLError, RecursionError):
        return None
    finally:
        loader.dispose()
    return _EMPTY if node is None else node


def _compose(text: str) -> yaml.Node | None:
    try:
        loader = yaml.SafeLoader(text)  # checks every character before parsing
    except yaml.reader.ReaderError as exc:
        raise _reader_error(text, exc) from None
    try:
        node = loader.get_single_node()
    except yaml.reader.ReaderError as exc:
        raise _reader_error(text, exc) from None
    except RecursionError:
        raise YamlSyntaxError(1, 1, "YAML syntax error: values nested too deeply") from None
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
    return node


def _reader_error(text: str, exc: yaml.reader.ReaderError) -> YamlSyntaxError:
    """A character YAML refuses (NUL, BEL, ESC…), at its line and column."""
    before = text[: max(0, min(exc.position, len(text)))]
    line = before.count("\n") + 1
    column = len(before) - (before.rfind("\n") + 1) + 1
    char = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or " ")
    return YamlSyntaxError(
        line,
        column,
        f"control character U+{char:04X} is not allowed in YAML "
        "(remove it, or write it as an escape such as \\t inside double quotes)",
    )


def _pos(node: yaml.Node) -> tuple[int, int]:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


def _build(node: yaml.Node, loc: Loc, out: Marked, ctor: yaml.SafeLoader, parents: set[int]) -> Any:
    if id(node) in parents:  # `key: &a [*a]`: an alias inside its own anchor
        line, column = _pos(node)
        raise YamlSyntaxError(
            line, column, "YAML syntax error: recursive alias (a value that contains itself)"
        )
    if len(out.values) >= MAX_VALUES:
        raise YamlSyntaxError(
            *_pos(node), f"YAML aliases expand to more than {MAX_VALUES:,} values"
        )
    out.values[loc] = _pos(node)
    if not isinstance(node, yaml.MappingNode | yaml.SequenceNode):
        return _scalar(node, ctor)
    parents.add(id(node))
    try:
        return _collection(node, loc, out, ctor, parents)
    finally:
        parents.discard(id(node))


def _collection(
    node: yaml.Node, loc: Loc, out: Marked, ctor: yaml.SafeLoader, parents: set[int]
) -> Any:
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
            mapping[key] = _build(value_node, child, out, ctor, parents)
        return mapping
    return [_build(item, (*loc, i), out, ctor, parents) for i, item in enumerate(node.value)]


def _scalar(node: yaml.Node, ctor: yaml.SafeLoader) -> Any:
    """Construct a scalar; a value YAML cannot construct (e.g. 2024-13-01) stays a string.

    Keeping the raw text lets the model report "invalid date" at the right line instead
    of the YAML library failing the whole file.
    """
    if not isinstance(node, yaml.ScalarNode):
        return str(node.value)
    try:
        value = ctor.construct_object(node, deep=True)
    except (yaml.YAMLError, ValueError, TypeError, OverflowError):
        return node.value
    if isinstance(value, int) and not -BIG_INT < value < BIG_INT:
        # no field holds a number this large; as text it is named by the field's check
        # instead of failing wherever it is printed (past 4,300 digits Python refuses)
        return node.value
    return value
