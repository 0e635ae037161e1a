"""Problems found in content, reported all at once as ``path:line:col: CODE message``.

Readers and checks never raise for bad content: they return problems, so that a
maintainer sees every mistake in one run instead of fixing them one by one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Problem:
    path: str
    line: int
    column: int
    code: str
    message: str

    @property
    def severity(self) -> Severity:
        return Severity.WARNING if self.code.startswith("W") else Severity.ERROR

    def format_text(self) -> str:
        where = self.path
        if self.line:
            where += f":{self.line}"
            if self.column:
                where += f":{self.column}"
        return f"{where}: {self.code} {self.message}"

    def format_github(self) -> str:
        """A GitHub Actions workflow command, which GitHub shows on the changed line.

        Escaped as GitHub's own toolkit does: in the message ``%``, CR and LF; in property
        values also ``:`` and ``,``, which would otherwise end the value (a file name
        with a comma would move the annotation to another file)."""
        kind = "warning" if self.severity is Severity.WARNING else "error"
        parts = [f"file={escape_property(self.path)}"]
        if self.line:
            parts.append(f"line={self.line}")
        if self.column:
            parts.append(f"col={self.column}")
        parts.append(f"title={escape_property(self.code)}")
        return f"::{kind} {','.join(parts)}::{escape_data(f'{self.code} {self.message}')}"

    def as_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "code": self.code,
            "severity": str(self.severity),
            "message": self.message,
        }


def problem(path: str, line: int, code: str, message: str, column: int = 0) -> Problem:
    return Problem(path=path, line=line, column=column, code=code, message=message)


def errors(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity is Severity.ERROR]


def render(problems: list[Problem], fmt: str = "text", limit_per_code: int = 20) -> str:
    """Sorted, with repeats of one code in one file collapsed after ``limit_per_code``.

    A million-row manifest with one systematic mistake must not print a million lines.
    """
    ordered = sorted(problems)
    if fmt == "json":
        return json.dumps([p.as_dict() for p in ordered], indent=2, ensure_ascii=False)
    out: list[str] = []
    seen: dict[tuple[str, str], int] = {}
    for p in ordered:
        key = (p.path, p.code)
        seen[key] = seen.get(key, 0) + 1
        if seen[key] <= limit_per_code:
            out.append(p.format_github() if fmt == "github" else p.format_text())
    for (path, code), n in sorted(seen.items()):
        if n > limit_per_code:
            out.append(f"{path}: {code} … and {n - limit_per_code} more like this")
    return "\n".join(out)


def escape_data(text: str) -> str:
    """The message of a GitHub workflow command."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A property value (``file=…``) of a GitHub workflow command."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def summary(problems: list[Problem]) -> str:
    n_err = len(errors(problems))
    n_warn = len(problems) - n_err
    return f"{n_err} error{'s' if n_err != 1 else ''}, {n_warn} warning{'s' if n_warn != 1 else ''}"
