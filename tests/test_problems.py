"""GitHub annotations (``validate --format github``) survive any path and message:
GitHub reads them back exactly as written, on the right file and line."""

from __future__ import annotations

import re

import pytest

from catalogue.problems import Problem, escape_data, escape_property


def unescape(text: str) -> str:
    """What GitHub's runner does to a value (the inverse of the toolkit's escaping)."""
    for escaped, plain in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        text = text.replace(escaped, plain)
    return text


def parse(line: str) -> tuple[str, dict[str, str], str]:
    """A workflow command as the runner splits it: ``::cmd k=v,k=v::message``."""
    found = re.fullmatch(r"::(\w+) ([^:]*)::(.*)", line, re.S)
    assert found, line
    command, props, message = found.groups()
    properties = {}
    for item in props.split(","):
        key, _, value = item.partition("=")
        properties[key] = unescape(value)
    return command, properties, unescape(message)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("content/studies/S-BIAD1/study.yaml", "unknown field 'keywrds'"),
        ("content/data/S-BIAD1/a,b:c.files.tsv", "a comma, a colon: and 100% in the path"),
        ("content/studies/S-BIAD1/study.yaml", "first line\nsecond line\r\nthird, with : and %0A"),
        ("content/x%2Cy/study.yaml", "a path that already looks escaped"),
    ],
)
def test_annotation_round_trips_through_githubs_parsing(path: str, message: str):
    problem = Problem(path, 12, 3, "E011", message)
    line = problem.format_github()
    assert "\n" not in line and "\r" not in line  # one command, one line
    command, properties, text = parse(line)
    assert command == "error"
    assert properties == {"file": path, "line": "12", "col": "3", "title": "E011"}
    assert text == f"E011 {message}"


def test_warnings_are_warnings_and_missing_positions_are_left_out():
    line = Problem("content/site.yaml", 0, 0, "W101", "a warning").format_github()
    command, properties, _ = parse(line)
    assert command == "warning"
    assert properties == {"file": "content/site.yaml", "title": "W101"}


def test_escaping_is_githubs():
    assert escape_data("100%\r\n:,") == "100%25%0D%0A:,"
    assert escape_property("100%\r\n:,") == "100%25%0D%0A%3A%2C"
