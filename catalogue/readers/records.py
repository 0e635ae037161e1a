"""Validate marked YAML against a pydantic model and turn its errors into located problems."""

from __future__ import annotations

import difflib
import typing
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from catalogue.placeholders import is_placeholder
from catalogue.problems import Problem, problem
from catalogue.readers.yamlmarks import Loc, Marked


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models reachable in a type annotation (through Optional, tuple, dict...)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        found.extend(_models_in(arg))
    return found


def _model_at(root: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """The model class whose fields are valid at ``loc`` (used for "did you mean")."""
    current: type[BaseModel] | None = root
    for part in loc:
        if current is None:
            return None
        if isinstance(part, str) and part in current.model_fields:
            models = _models_in(current.model_fields[part].annotation)
            current = models[0] if models else None
        elif isinstance(part, int) or current is None:
            continue
        else:
            # a key of a dict[str, Model] field: the model stays the one found for the field
            continue
    return current


def _where(loc: Loc) -> str:
    return ".".join(str(p) for p in loc) or "document"


M = TypeVar("M", bound=BaseModel)

CODE_BY_FIELD = {"orcid": "E015", "doi": "E016", "fbbi": "E018", "ncbi_taxon": "E081"}


def validate_marked(
    model: type[M], marked: Marked, path: str, context: dict[str, Any] | None = None
) -> tuple[M | None, list[Problem]]:
    problems: list[Problem] = []
    for loc, line, col in marked.duplicates:
        problems.append(problem(path, line, "E002", f"duplicate key '{loc[-1]}'", col))
    if not isinstance(marked.data, dict):
        problems.append(problem(path, 1, "E012", "expected a mapping of fields at the top level"))
        return None, problems
    try:
        value = model.model_validate(marked.data, context=context)
    except ValidationError as exc:
        problems.extend(_problems_from(exc, model, marked, path))
        marked.errors = exc.errors(include_url=False)
        return None, problems
    return value, problems


def _problems_from(
    exc: ValidationError, model: type[BaseModel], marked: Marked, path: str
) -> list[Problem]:
    out: list[Problem] = []
    all_errors = exc.errors(include_url=False)
    for err in all_errors:
        loc: Loc = tuple(err["loc"])
        if is_placeholder(_value_at(marked.data, loc)):
            continue  # a "TODO: …" left to fill in: reported once, as E080, by the checks
        kind = err["type"]
        if kind == "too_short" and any(
            len(e["loc"]) > len(loc) and tuple(e["loc"][: len(loc)]) == loc for e in all_errors
        ):
            continue  # "too few items" only because the items themselves are wrong
        msg = str(err["msg"]).removeprefix("Value error, ")
        field = str(loc[-1]) if loc else ""
        if kind == "missing":
            line, col = marked.position(loc[:-1])
            out.append(problem(path, line, "E010", f"missing required field '{_where(loc)}'", col))
        elif kind == "extra_forbidden":
            line, col = marked.position(loc, prefer_key=True)
            parent = _model_at(model, loc[:-1])
            hint = ""
            if parent is not None:
                close = difflib.get_close_matches(field, list(parent.model_fields), n=1)
                if close:
                    hint = f" (did you mean '{close[0]}'?)"
            out.append(problem(path, line, "E011", f"unknown field '{_where(loc)}'{hint}", col))
        elif kind.startswith("date") or (kind == "value_error" and "date" in msg):
            line, col = marked.position(loc)
            got = _value_at(marked.data, loc)
            shown = repr(got) if isinstance(got, str) else f"'{got}'"
            out.append(
                problem(path, line, "E013", f"{_where(loc)}: invalid date {shown} ({msg})", col)
            )
        else:
            line, col = marked.position(loc)
            code = CODE_BY_FIELD.get(field, "E012")
            if kind == "value_error":
                text = f"{_where(loc)}: {msg}"
            else:
                got = _value_at(marked.data, loc)
                shown = (
                    f" (got {got!r})"
                    if got is not None and not isinstance(got, dict | list)
                    else ""
                )
                text = f"{_where(loc)}: {msg}{shown}"
            out.append(problem(path, line, code, text, col))
    return out


def _value_at(data: Any, loc: Loc) -> Any:
    for part in loc:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


__all__ = ["validate_marked"]


def salvage(
    model: type[M],
    data: dict[str, Any],
    exc_errors: list[ErrorDetails],
    placeholders: dict[str, Any],
) -> tuple[M | None, set[str], dict[str, list[int]]]:
    """A best-effort model of a record that failed validation, for the cross-record checks.

    Failing items of lists and mappings are dropped (and failing scalars replaced by
    placeholders), so that references, licences and manifests of the rest can still be
    checked and every problem is reported in one run. Returns the model, the top-level
    fields that were replaced, and for each list field the original index of each kept item.
    """
    data = dict(data)
    broken: set[str] = set()
    drop: dict[str, set[Any]] = {}
    for err in exc_errors:
        loc = tuple(err["loc"])
        if not loc:
            continue
        top = str(loc[0])
        value = data.get(top)
        if (
            len(loc) >= 2
            and isinstance(value, list | dict)
            and loc[1] in (range(len(value)) if isinstance(value, list) else value)
        ):
            drop.setdefault(top, set()).add(loc[1])
        else:
            broken.add(top)
    index_map: dict[str, list[int]] = {}
    for top, items in drop.items():
        value = data[top]
        if isinstance(value, list):
            kept = [i for i in range(len(value)) if i not in items]
            index_map[top] = kept
            data[top] = [value[i] for i in kept]
        else:
            data[top] = {k: v for k, v in value.items() if k not in items}
    for top in broken:
        if top in placeholders:
            data[top] = placeholders[top]
        else:
            data.pop(top, None)
    try:
        return model.model_validate(data), broken, index_map
    except ValidationError:
        return None, broken, index_map
