"""Cells a spreadsheet would run: the defence against formula injection in downloads.

A manifest value such as ``=cmd|' /C calc'!A0`` or ``@SUM(...)`` is data to this site, but
a spreadsheet opening the file list (TSV) or the bulk CSVs reads it as a formula and may
run it. Such cells are written with a leading apostrophe, the mark spreadsheets take for
"text": ``'=cmd|…``. Only what a spreadsheet would evaluate is touched: numbers (``-5``,
``+3.2e4``) and the genotype-like values of microscopy metadata (``-/-``, ``+/+``) stay
as they are, so a file list read by a script keeps its values.
"""

from __future__ import annotations

import re

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
# what turns a value starting with + or - into a formula that calls something
_ACTIVE = re.compile(r"[(|!\"'=:]")


def looks_like_formula(value: str) -> bool:
    """Whether a spreadsheet would evaluate ``value`` as a formula that calls something."""
    if not value or value[0] not in "=+-@\t\r":
        return False
    if value[0] in "=@\t\r":
        return True
    return not _NUMBER.match(value) and _ACTIVE.search(value) is not None


def safe_cell(value: str) -> str:
    """``value`` as a spreadsheet shows it as text."""
    return "'" + value if looks_like_formula(value) else value
