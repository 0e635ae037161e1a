"""BioStudies / BioImage Archive PageTab: the vocabulary shared by import and export.

The importer is importer.py, the exporter exporter.py.

PageTab is a tree of typed sections with name/value attributes. Real submissions differ
a lot (template v4 and v5, older "Experiment" layouts, REMBI conversion scripts, hand-made
"Default" ones), so the importer matches section types and attribute names loosely
(case, spaces, hyphens and underscores ignored), maps what the content format has a field
for, and keeps everything else in ``extra.pagetab`` in a shape that
``exporter`` writes back to the same place. Nothing is dropped silently: every
attribute kept in ``extra``, every value normalised or inferred, and every file list not
found is reported to the maintainer.

Layout of ``extra.pagetab`` (all optional):

- ``attributes``: ``{record path: {attribute name: value}}``; a record path is
  ``submission``, ``study``, ``authors.0``, ``biosamples.<key>``,
  ``biosamples.<key>.organism.0``, ``datasets.<id>``, …; a repeated attribute has a list
  of values; a value with qualifiers is ``{value: …, valqual: […]}``, and qualifiers of an
  attribute that *was* mapped to a field are ``{valqual: […]}`` without a value.
- ``file_lists``: ``{dataset id: name of the PageTab file list}``.
- ``file_types``: ``{dataset id: {path: type}}`` for entries that are not plain files.
- ``links``: ``{record path: [raw PageTab links]}`` that are not web links.
- ``sections``: ``[{in: record path, section: raw PageTab section}]`` of unknown types.
- ``fields``: top-level keys of the submission other than its sections.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from catalogue import ontology

# --- names ---------------------------------------------------------------------------------


def norm(name: Any) -> str:
    """Attribute and section names compared loosely: 'Image_Acquisition' == 'image acquisition'."""
    text = re.sub(r"[\s_\-]+", " ", str(name or "").strip().lower())
    return text.replace("licence", "license").replace("organisation", "organization")


SECTION_KINDS: dict[str, str] = {
    "author": "author",
    "organization": "organization",
    "affiliation": "organization",
    "publication": "publication",
    "funding": "funding",
    "biosample": "biosample",
    "specimen": "specimen",
    "image acquisition": "acquisition",
    "annotation": "annotation",
    "annotations": "annotation",
    "image annotation": "annotation",
    "image analysis": "analysis",
    "analysis": "analysis",
    "image correlation": "correlation",
    "correlation": "correlation",
    "study component": "component",
    "experiment": "experiment",
    "supplementary data": "supplementary",
    "organism": "organism",
    "imaging method": "method",
    "associations": "associations",
    "association": "associations",
    "signal channel": "channel",
}

# content-format section name for each REMBI kind, and the dataset field that refers to it
REMBI = {
    "biosample": ("biosamples", "biosample"),
    "specimen": ("specimens", "specimen"),
    "acquisition": ("image_acquisitions", "image_acquisition"),
    "annotation": ("annotations", "annotation"),
    "analysis": ("analyses", "analysis"),
    "correlation": ("correlations", None),
}
ASSOCIATION_KINDS = {
    "biosample": "biosample",
    "specimen": "specimen",
    "image acquisition": "acquisition",
    "annotation": "annotation",
    "annotations": "annotation",
    "image analysis": "analysis",
    "analysis": "analysis",
    "image correlation": "correlation",
    "correlation": "correlation",
}
STRUCTURAL_SUBMISSION_KEYS = {"accno", "attributes", "section", "type"}
SECTION_KEYS = {"type", "accno", "attributes", "subsections", "links", "files"}
FBBI_ONTOLOGY_NAMES = {
    "fbbi",
    "biological imaging methods ontology",
    "biological imaging methods ontology (fbbi)",
}
EXPORT_FBBI_ONTOLOGY_NAME = "Biological Imaging Methods Ontology (FBbi)"
LINK_TYPES = {
    "empiar": "EMPIAR",
    "image data resource": "IDR",
    "image data resource (idr)": "IDR",
    "idr": "IDR",
    "biostudies": "BioStudies",
    "emdb": "EMDB",
    "doi": "DOI",
}
ACCESSION_LINKS: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (re.compile(r"^EMPIAR-\d+$"), "EMPIAR", "https://www.ebi.ac.uk/empiar/{id}/"),
    (re.compile(r"^EMD-\d+$"), "EMDB", "https://www.ebi.ac.uk/emdb/{id}"),
    (re.compile(r"^idr\d{4}$"), "IDR", ""),  # no stable URL per IDR study: id only
    (
        re.compile(r"^S-[A-Z]{2,10}-?\d+$"),
        "BioStudies",
        "https://www.ebi.ac.uk/biostudies/studies/{id}",
    ),
)


def accession_link(link_type: str | None, link_id: str) -> tuple[str, str | None] | None:
    """(database, canonical URL or None) of a database accession used as a PageTab link
    url, as BioStudies does ('EMPIAR-11380' with Type 'EMPIAR'); None if it is not one."""
    for pattern, kind, url in ACCESSION_LINKS:
        if pattern.match(link_id) and (link_type in (None, kind)):
            return kind, (url.format(id=link_id) if url else None)
    return None


def link_url_for(link_type: str | None, link_id: str) -> str | None:
    """The canonical URL of a database accession, when the database has one."""
    found = accession_link(link_type, link_id)
    return found[1] if found else None


def license_url(spdx: str) -> str | None:
    """Legal-code URL of a Creative Commons licence (BioStudies attaches it as a qualifier)."""
    if spdx == "CC0-1.0":
        return "https://creativecommons.org/publicdomain/zero/1.0/legalcode"
    m = re.match(r"^CC-(BY(?:-NC)?(?:-ND|-SA)?)-(\d\.\d)$", spdx)
    if m:
        return f"https://creativecommons.org/licenses/{m.group(1).lower()}/{m.group(2)}/legalcode"
    return None


def normalise_license(text: str) -> str | None:
    """SPDX id of a licence as written in submissions: 'CC BY 4.0', 'CC-BY 4.0', 'CC0'…"""
    raw = text.strip()
    if ontology.spdx_id(raw):
        return ontology.spdx_id(raw)
    t = re.sub(r"\b(license|licence|international|attribution)\b", " ", raw, flags=re.I)
    t = re.sub(r"[\s_]+", "-", t.strip()).strip("-").upper()
    t = re.sub(r"-+", "-", t)
    if t in ("CC0", "CC-0", "CC-ZERO", "PUBLIC-DOMAIN-CC0"):
        return "CC0-1.0"
    t = re.sub(r"^CC-?BY", "CC-BY", t)
    t = re.sub(r"-V?(\d)(?:\.(\d))?$", lambda m: f"-{m.group(1)}.{m.group(2) or '0'}", t)
    return ontology.spdx_id(t)


def license_from_url(url: str) -> str | None:
    m = re.search(r"creativecommons\.org/licenses/([a-z-]+)/(\d\.\d)", url)
    if m:
        return ontology.spdx_id(f"CC-{m.group(1).upper()}-{m.group(2)}")
    if "publicdomain/zero/1.0" in url:
        return "CC0-1.0"
    return None


def slug(text: str, fallback: str = "item", limit: int | None = None) -> str:
    """A key or dataset id from a title: lower-case words joined by '-'; dataset ids, used
    in URLs, are cut at ``limit`` characters (on a word boundary when possible)."""
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    if limit is not None and len(s) > limit:
        s = s[:limit].rsplit("-", 1)[0] if "-" in s[:limit] else s[:limit]
    return s or fallback


def _unique(base: str, taken: set[str], limit: int = 64) -> str:
    key, n = base, 2
    while key in taken:
        suffix = f"-{n}"
        key = base[: limit - len(suffix)] + suffix
        n += 1
    taken.add(key)
    return key


def text_value(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return str(value)


# --- reading sections ----------------------------------------------------------------------


def _flatten(items: Any) -> list[Any]:
    """PageTab allows lists of lists (table sections, file tables): one flat list."""
    out: list[Any] = []
    for item in items or []:
        if isinstance(item, list):
            out.extend(_flatten(item))
        else:
            out.append(item)
    return out


@dataclass
class Section:
    """One PageTab section, with the attributes not yet mapped to a field."""

    raw: dict[str, Any]
    path: str = ""
    used: set[int] = field(default_factory=set)
    quals: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def type(self) -> str:
        return str(self.raw.get("type") or "")

    @property
    def kind(self) -> str | None:
        return SECTION_KINDS.get(norm(self.type))

    @property
    def accno(self) -> str | None:
        return text_value(self.raw.get("accno"))

    @property
    def attributes(self) -> list[dict[str, Any]]:
        return [a for a in self.raw.get("attributes") or [] if isinstance(a, dict)]

    @property
    def subsections(self) -> list[Section]:
        return [Section(s) for s in _flatten(self.raw.get("subsections")) if isinstance(s, dict)]

    @property
    def links(self) -> list[dict[str, Any]]:
        return [x for x in _flatten(self.raw.get("links")) if isinstance(x, dict)]

    @property
    def files(self) -> list[dict[str, Any]]:
        return [x for x in _flatten(self.raw.get("files")) if isinstance(x, dict)]

    def take(self, canonical: str, *aliases: str, first: bool = False) -> list[str]:
        """Values of the attributes named ``canonical`` or an alias, marked as mapped.

        Qualifiers of a mapped attribute are kept under ``canonical``, the name the export
        writes, so that they return to the same attribute.
        """
        names = {norm(canonical), *(norm(a) for a in aliases)}
        out: list[str] = []
        for i, attr in enumerate(self.attributes):
            if i in self.used or norm(attr.get("name")) not in names:
                continue
            value = text_value(attr.get("value"))
            if value is None and not _qualifiers(attr):
                self.used.add(i)  # an empty attribute carries nothing
                continue
            if value is None:
                continue
            self.used.add(i)
            if _qualifiers(attr):
                self.quals.setdefault(canonical, []).append(_qualifiers(attr))
            out.append(value)
            if first:
                break
        return out

    def has(self, canonical: str, *aliases: str) -> bool:
        """Whether an attribute of that name is still to be taken (does not take it)."""
        names = {norm(canonical), *(norm(a) for a in aliases)}
        return any(
            i not in self.used and norm(a.get("name")) in names and text_value(a.get("value"))
            for i, a in enumerate(self.attributes)
        )

    def take_one(self, canonical: str, *aliases: str) -> str | None:
        values = self.take(canonical, *aliases, first=True)
        return values[0] if values else None

    def take_raw(self, canonical: str, *aliases: str) -> list[dict[str, Any]]:
        """Whole attributes (with qualifiers), for fields whose qualifiers carry meaning."""
        names = {norm(canonical), *(norm(a) for a in aliases)}
        out = []
        for i, attr in enumerate(self.attributes):
            if i not in self.used and norm(attr.get("name")) in names:
                if text_value(attr.get("value")) is None:
                    self.used.add(i)
                    continue
                self.used.add(i)
                out.append(attr)
        return out

    def rest(self) -> dict[str, Any]:
        """The attributes no field took, as a bag for ``extra.pagetab.attributes``."""
        bag: dict[str, Any] = {}
        for name, items in self.quals.items():
            for q in items:
                _bag_add(bag, name, q)
        for i, attr in enumerate(self.attributes):
            if i in self.used:
                continue
            value = attr.get("value")
            if value is None and not _qualifiers(attr) and not attr.get("reference"):
                continue
            item: Any = value
            extra = _qualifiers(attr)
            if attr.get("reference"):
                extra["reference"] = True
            if extra:
                item = {"value": value, **extra}
            _bag_add(bag, str(attr.get("name") or ""), item)
        return bag


def _qualifiers(attr: dict[str, Any]) -> dict[str, Any]:
    return {k: attr[k] for k in ("valqual", "nmqual") if attr.get(k)}


def _bag_add(bag: dict[str, Any], name: str, item: Any) -> None:
    if name not in bag:
        bag[name] = item
    elif isinstance(bag[name], list):
        bag[name].append(item)
    else:
        bag[name] = [bag[name], item]


# --- errors ----------------------------------------------------------------------------------


class PageTabError(Exception):
    """Input that is not a PageTab submission; ``str()`` is a ``path:line: CODE message``."""


# --- file lists ----------------------------------------------------------------------------


def read_json(path: Path, code: str = "E090") -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PageTabError(f"{path}: E040 file not found") from None
    except UnicodeDecodeError:
        raise PageTabError(f"{path}:1: E048 file is not valid UTF-8") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise PageTabError(f"{path}:{exc.lineno}: {code} JSON syntax error: {exc.msg}") from None
    except RecursionError:
        raise PageTabError(f"{path}:1: {code} JSON nested too deeply") from None


def file_list_rows(entries: list[dict[str, Any]]) -> tuple[list[str], list[dict[str, Any]]]:
    """Columns and rows of PageTab file entries; attributes become columns in order."""
    columns: list[str] = []
    rows: list[dict[str, Any]] = []
    for entry in entries:
        path = next(
            (entry[k] for k in ("path", "filePath", "relPath", "fileName") if entry.get(k)), ""
        )
        row: dict[str, Any] = {"path": str(path), "size": entry.get("size")}
        for key, value in entry.items():
            if key in ("path", "filePath", "relPath", "fileName", "size", "type", "attributes"):
                continue
            if not isinstance(value, dict | list):
                row[str(key)] = value
        for attr in entry.get("attributes") or []:
            if not isinstance(attr, dict):
                continue
            name = str(attr.get("name") or "").strip()
            if name in ("path", "size"):
                name = f"{name} (attribute)"
            value = attr.get("value")
            row[name] = f"{row[name]}; {value}" if name in row else value
        row["type"] = entry.get("type") or "file"
        for name in row:
            if name not in ("path", "size", "type") and name not in columns:
                columns.append(name)
        rows.append(row)
    return columns, rows


def _cell(value: Any) -> tuple[str, bool]:
    """A TSV cell: tabs and line breaks become spaces (reported)."""
    text = "" if value is None else str(value)
    clean = re.sub(r"[\t\r\n]+", " ", text)
    return clean.strip(), bool(re.search(r"[\t\r\n]", text))


def _read_tsv_list(path: Path) -> list[dict[str, Any]]:
    """A BioStudies TSV file list: a 'Files' column and one column per attribute."""
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines:
        return []
    header = lines[0].split("\t")
    out = []
    for line in lines[1:]:
        if not line.strip():
            continue
        cells = line.split("\t")
        entry: dict[str, Any] = {"path": cells[0], "attributes": []}
        for name, value in zip(header[1:], cells[1:], strict=False):
            if name.strip().lower() == "type" and value.strip() in ("file", "directory"):
                entry["type"] = value.strip()  # a folder listed as one entry
            else:
                entry["attributes"].append({"name": name, "value": value})
        out.append(entry)
    return out


def _strip_doi(doi: str) -> str:
    """'10.1/x' from 'https://doi.org/10.1/x', 'doi: 10.1/x', even 'https://doi.org/DOI: 10.1/x'."""
    pattern = re.compile(r"^\s*(https?://(dx\.)?doi\.org/|doi\s*:)\s*", re.I)
    while pattern.match(doi):
        doi = pattern.sub("", doi, count=1)
    return doi.strip()


def _date(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None
