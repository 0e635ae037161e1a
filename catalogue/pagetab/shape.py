"""The structure of a PageTab document, checked once before any conversion.

The converter reads sections, attributes and qualifiers in many places; checking their
structure here, at the boundary, means a document that has (say) a qualifier that is a
list instead of an object gets one message naming where it is, instead of a traceback
from deep inside the conversion. Only the structure is checked (which keys hold lists,
objects or plain values); what the values mean is the converter's business, and keys
this module does not know are let through untouched.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, StrictBool, StrictFloat, StrictInt, StrictStr
from pydantic import ValidationError as PydanticValidationError
from typing_extensions import TypeAliasType

Scalar = StrictStr | StrictInt | StrictFloat | StrictBool | None


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Qualifier(_Open):
    name: Scalar = None
    value: Scalar = None


class Attribute(_Open):
    name: Scalar = None
    value: Scalar = None
    valqual: list[Qualifier] | None = None
    nmqual: list[Qualifier] | None = None


class FileEntry(_Open):
    path: Scalar = None
    filePath: Scalar = None  # noqa: N815 (PageTab's own key names)
    relPath: Scalar = None  # noqa: N815
    fileName: Scalar = None  # noqa: N815
    size: Scalar = None
    type: Scalar = None
    attributes: list[Attribute] | None = None


class Link(_Open):
    url: Scalar = None
    attributes: list[Attribute] | None = None


# PageTab allows tables: lists of lists
Files = TypeAliasType("Files", "list[FileEntry | Files]")
Links = TypeAliasType("Links", "list[Link | Links]")
Sections = TypeAliasType("Sections", "list[Section | Sections]")


class Section(_Open):
    type: Scalar = None
    accno: Scalar = None
    attributes: list[Attribute] | None = None
    subsections: Sections | None = None
    files: Files | None = None
    links: Links | None = None


class Submission(_Open):
    accno: Scalar = None
    type: Scalar = None
    attributes: list[Attribute] | None = None
    section: Section


class FileList(BaseModel):
    entries: Files


Section.model_rebuild()


def shape_problem(data: Any, file_list: bool = False) -> str | None:
    """Where ``data`` is not shaped like a PageTab submission (or file list), or None."""
    try:
        if file_list:
            FileList.model_validate({"entries": data})
        else:
            Submission.model_validate(data)
    except PydanticValidationError as exc:
        errors = exc.errors()
        if any(e["type"] == "recursion_loop" for e in errors):
            return "sections nested too deeply"
        error = max(errors, key=lambda e: len(e["loc"]))  # the most specific
        where = _where(tuple(error["loc"])[1:] if file_list else tuple(error["loc"]))
        return f"{where or 'the document'}: {_expected(error)}"
    except RecursionError:
        return "sections nested too deeply"
    return None


def check_shape(data: Any, source: Path | str, code: str, file_list: bool = False) -> None:
    from catalogue.pagetab.vocabulary import PageTabError

    why = shape_problem(data, file_list)
    if why is not None:
        raise PageTabError(f"{source}:1: {code} not a PageTab {_kind(file_list)}: {why}")


def _kind(file_list: bool) -> str:
    return "file list" if file_list else "submission"


def _where(loc: tuple[Any, ...]) -> str:
    """('section', 'subsections', 0, 'attributes', 2) → section.subsections[0].attributes[2]

    pydantic adds the name of the union member it tried (``Section``, ``list[…]``) to the
    location; those are not keys of the document and are left out."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in _MEMBERS or "[" in str(part) or part.startswith("function-"):
            continue
        else:
            out += f".{part}" if out else str(part)
    return out


_MEMBERS = {"Section", "FileEntry", "Link", "Qualifier", "Attribute", "str", "int", "float", "bool"}


def _expected(error: Any) -> str:
    kind = str(error.get("type", ""))
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"must be an object, not {_json_type(error.get('input'))}"
    if kind == "list_type":
        return f"must be a list, not {_json_type(error.get('input'))}"
    if kind == "missing":
        return "is missing"
    return f"must be a text, number or true/false, not {_json_type(error.get('input'))}"


def _json_type(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a text"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    return "a number"
