"""Placeholders: values a human still has to fill in.

``catalogue new`` and ``catalogue import-pagetab`` write ``"TODO: …"`` where only a person
can answer (release date, licence, description, author). Validation names each such field
(E080) instead of reporting it as a malformed date or an unknown licence, so that the
message says what to do, and a study with a placeholder can never be published.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

PREFIX = "TODO:"

Loc = tuple[str | int, ...]


def is_placeholder(value: Any) -> bool:
    return isinstance(value, str) and value.strip().startswith(PREFIX)


def todo(what: str) -> str:
    """The placeholder text for a field: ``TODO: <what to write>``."""
    return f"{PREFIX} {what}"


def find(data: Any, loc: Loc = ()) -> Iterator[tuple[Loc, str]]:
    """Every placeholder in plain YAML data, with its location, in document order."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield from find(value, (*loc, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from find(value, (*loc, i))
    elif is_placeholder(data):
        yield loc, str(data)
