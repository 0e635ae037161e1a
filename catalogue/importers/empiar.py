"""EMPIAR entries into index-only studies: the metadata here, the files at EMPIAR.

EMPIAR publishes an entry in three forms, all read here into one ``Entry`` first:

- the XML header of a released entry (``EMPIAR-10934.xml``, namespace
  ``http://pdbe.org/empiar``, as on EMPIAR's FTP site and its REST ``/api/entry/``
  alternative);
- the JSON its REST API returns for an entry (``{"EMPIAR-10934": {...}}``, decoded values
  such as ``"category": "micrographs - multiframe"``);
- a deposition JSON, valid against EMPIAR's deposition schema
  (``empiar_deposition.schema.json`` of the empiar-depositor tool), whose values are codes
  (``"('T2', '')"``) explained in the schema's descriptions and decoded by the tables below.

Each image set becomes a dataset with ``remote_files`` (count, formats, size where EMPIAR
gives them, and the entry's page), cross-references (EMDB, PDB, BioImage Archive, IDR,
other EMPIAR entries) become links, the citation a publication, authors persons with
family names and initials. EMPIAR headers carry no description, organism or licence: the
description is made from the entry's facts (and says so), the licence comes from
site.yaml ``default_license``.
"""

from __future__ import annotations

import html
import json
import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from catalogue import ontology
from catalogue.identifiers import normalise_doi, normalise_orcid, normalise_pmid
from catalogue.names import person, split_name
from catalogue.pagetab.importer import Imported
from catalogue.pagetab.vocabulary import _date, _unique, slug


class EmpiarError(Exception):
    """A file that is not an EMPIAR entry in a form we read; the message names it."""


NS = "{http://pdbe.org/empiar}"

# Code tables of the deposition schema (its field descriptions list them).
CATEGORIES = {
    "T1": "micrographs - single frame",
    "T2": "micrographs - multiframe",
    "T3": "micrographs - focal pairs - unprocessed",
    "T4": "micrographs - focal pairs - contrast inverted",
    "T5": "picked particles - single frame - unprocessed",
    "T6": "picked particles - multiframe - unprocessed",
    "T7": "picked particles - single frame - processed",
    "T8": "picked particles - multiframe - processed",
    "T9": "tilt series",
    "T10": "class averages",
    "T11": "stitched maps",
    "T12": "diffraction images",
    "T13": "reconstructed volumes",
    "T14": "subtomograms",
}
HEADER_FORMATS = {
    "T1": "MRC", "T2": "MRCS", "T3": "TIFF", "T4": "IMAGIC", "T5": "DM3", "T6": "DM4",
    "T7": "SPIDER", "T8": "XML", "T9": "EER", "T10": "PNG", "T11": "JPEG", "T12": "SMV",
    "T13": "EM", "T14": "TPX3",
}  # fmt: skip
DATA_FORMATS = {**HEADER_FORMATS, "T8": "BIG DATA VIEWER HDF5"}
VOXEL_TYPES = {
    "T1": "UNSIGNED BYTE", "T2": "SIGNED BYTE", "T3": "UNSIGNED 16 BIT INTEGER",
    "T4": "SIGNED 16 BIT INTEGER", "T5": "UNSIGNED 32 BIT INTEGER",
    "T6": "SIGNED 32 BIT INTEGER", "T7": "32 BIT FLOAT", "T8": "BIT", "T9": "4 BIT INTEGER",
}  # fmt: skip
EXPERIMENT_TYPES = {
    1: "soft x-ray tomography",
    2: "simulated data",
    3: "EMDB",
    4: "SBF-SEM",
    5: "FIB-SEM",
    6: "integrative hybrid modelling",
    7: "CLEM",
    8: "correlative light X-ray microscopy",
    9: "microcrystal electron diffraction",
    11: "ATUM-SEM",
    12: "hard X-ray/X-ray microCT",
    13: "ssET",
}
# experiment type (as EMPIAR writes it) -> FBbi label, looked up in the offline list
METHODS = {
    "emdb": "electron microscopy",
    "sbf-sem": "serial block face SEM (SBFSEM)",
    "fib-sem": "focussed ion beam scanning electron microscopy (FIB-SEM)",
    "atum-sem": "scanning electron microscopy (SEM)",
    "soft x-ray tomography": "X-ray tomography",
    "hard x-ray/x-ray microct": "X-ray computed tomography",
    "clem": "electron microscopy",
    "microcrystal electron diffraction": "electron microscopy",
    "sset": "electron microscopy",
}
UNITS = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12, "PB": 10**15}


@dataclass
class ImageSet:
    name: str
    directory: str | None = None
    category: str | None = None
    header_format: str | None = None
    data_format: str | None = None
    count: int | None = None
    frames_per_image: int | None = None
    voxel_type: str | None = None
    width: int | None = None
    height: int | None = None
    pixel_width: float | None = None
    pixel_height: float | None = None
    details: str | None = None


@dataclass
class Entry:
    """One EMPIAR entry, whatever form it was read from."""

    accession: str | None  # EMPIAR-NNNNN (absent from a deposition)
    title: str
    form: str  # xml, api, deposition
    release_date: str | None = None
    doi: str | None = None
    experiment_type: str | None = None
    size: int | None = None  # bytes of the whole entry
    size_text: str | None = None
    authors: list[dict[str, Any]] = field(default_factory=list)
    people: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # role, person
    citations: list[dict[str, Any]] = field(default_factory=list)
    references: list[tuple[str, str]] = field(default_factory=list)  # (kind, id)
    workflows: list[str] = field(default_factory=list)
    imagesets: list[ImageSet] = field(default_factory=list)


# --- reading the three forms ------------------------------------------------------------


def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip()) if value not in (None, "") else None
    except ValueError:
        return None


def _float(value: Any) -> float | None:
    try:
        return float(str(value).strip()) if value not in (None, "") else None
    except ValueError:
        return None


def _objects(value: Any) -> list[dict[str, Any]]:
    """The objects of a list a record should hold; anything else in their place (a
    record edited by hand, or damaged) is skipped rather than failing on it."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _order(value: dict[str, Any]) -> int:
    order = value.get("order_id")
    return order if isinstance(order, int) and not isinstance(order, bool) else 0


def _text(value: Any) -> str | None:
    """Trimmed text; EMPIAR escapes some entities twice (``&amp;amp;``), undone here."""
    text = " ".join(str(value).split()) if value is not None else ""
    # a JSON escape may encode half a surrogate pair, which no file can hold
    text = text.encode("utf-8", "replace").decode("utf-8")
    for _ in range(2):
        if "&" in text:
            text = html.unescape(text)
    return text or None


def _size(value: Any, units: str | None = None) -> int | None:
    """Bytes from '1.9' with units 'TB', or '260 GB'."""
    text = str(value or "").strip()
    m = re.match(r"^([\d.]+)\s*([KMGTP]?B)?$", text, re.I)
    if not m:
        return None
    unit = (m.group(2) or units or "B").upper()
    try:
        size = float(m.group(1)) * UNITS[unit]
    except (KeyError, ValueError):  # no unit we know, or "1.2.3"
        return None
    return int(size) if math.isfinite(size) else None


def _xml_person(el: ET.Element) -> dict[str, Any]:
    def get(tag: str) -> str | None:
        return _text(el.findtext(NS + tag))

    return {
        "given": " ".join(p for p in (get("firstName"), get("middleName")) if p) or None,
        "family": get("lastName"),
        "orcid": get("authorORCID"),
        "organization": get("organization"),
        "country": get("country"),
    }


def read_xml(path: Path) -> Entry:
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        line = exc.position[0] if exc.position else 1
        raise EmpiarError(f"{path}:{line}: E090 XML syntax error: {exc}") from None
    if root.tag != NS + "entry":
        raise EmpiarError(f"{path}:1: E091 not an EMPIAR entry header (no <entry> of {NS})")
    admin = root.find(NS + "admin")
    if admin is None:
        raise EmpiarError(f"{path}:1: E091 EMPIAR entry without <admin>")
    size_el = admin.find(NS + "datasetSize")
    entry = Entry(
        accession=root.get("accessionCode"),
        title=_text(admin.findtext(NS + "title")) or "",
        form="xml",
        release_date=_text(admin.findtext(f"{NS}keyDates/{NS}releaseDate")),
        doi=_text(admin.findtext(NS + "entryDOI")),
        experiment_type=_text(admin.findtext(NS + "experimentType")),
    )
    if size_el is not None:
        entry.size = _size(size_el.text, size_el.get("units"))
        entry.size_text = f"{_text(size_el.text)} {size_el.get('units') or ''}".strip()
    for a in admin.findall(f"{NS}authorsList/{NS}author"):
        entry.authors.append({"name": _text(a.text), "orcid": a.get("authorORCID")})
    for tag, role in (("correspondingAuthor", "corresponding author"),):
        for el in admin.findall(NS + tag):
            entry.people.append((role, _xml_person(el)))
    for el in admin.findall(NS + "principalInvestigator"):
        entry.people.append(("principal investigator", _xml_person(el)))
    refs = root.find(NS + "crossReferences")
    if refs is not None:
        for el in refs.iter():
            tag = el.tag.removeprefix(NS)
            kind = {
                "emdbEntry": "EMDB",
                "pdbEntry": "PDB",
                "empiarEntry": "EMPIAR",
                "biostudiesEntry": "BioImage Archive",
                "idrEntry": "IDR",
            }.get(tag)
            if kind and _text(el.text):
                entry.references.append((kind, str(_text(el.text))))
        for cit in refs.iter(NS + "journalCitation"):
            entry.citations.append(_xml_citation(cit))
        for cit in refs.iter(NS + "nonJournalCitation"):
            entry.citations.append(_xml_citation(cit))
    for el in root.findall(NS + "imageSet"):
        entry.imagesets.append(
            ImageSet(
                name=_text(el.findtext(NS + "name")) or "image set",
                directory=_text(el.findtext(NS + "directory")),
                category=_text(el.findtext(NS + "category")),
                header_format=_text(el.findtext(NS + "headerFormat")),
                data_format=_text(el.findtext(NS + "dataFormat")),
                count=_int(el.findtext(NS + "numImagesOrTiltSeries")),
                frames_per_image=_int(el.findtext(NS + "framesPerImage")),
                voxel_type=_text(el.findtext(NS + "voxelType")),
                width=_int(el.findtext(f"{NS}dimensions/{NS}imageWidth")),
                height=_int(el.findtext(f"{NS}dimensions/{NS}imageHeight")),
                pixel_width=_float(el.findtext(f"{NS}dimensions/{NS}pixelWidth")),
                pixel_height=_float(el.findtext(f"{NS}dimensions/{NS}pixelHeight")),
                details=_text(el.findtext(NS + "details")),
            )
        )
    return entry


def _xml_citation(cit: ET.Element) -> dict[str, Any]:
    authors = [_text(a.text) for a in cit.findall(NS + "author")]
    out: dict[str, Any] = {
        "title": _text(cit.findtext(NS + "title")),
        "authors": [a for a in authors if a],
        "journal": _text(cit.findtext(NS + "journal")),
        "year": _int(cit.findtext(NS + "year")),
        "published": cit.get("published") != "false",
    }
    for ref in cit.findall(NS + "externalReferences"):
        kind = (ref.get("type") or "").lower()
        if kind in ("doi", "pubmed"):
            out[kind] = _text(ref.text)
    return out


_CODE = re.compile(r"^\('([A-Z]+\d*)',\s*'(.*)'\)$")


def _decode(value: Any, table: dict[str, str]) -> str | None:
    """'T2' codes of a deposition ("('T2', '')", "('OT', 'other text')") or plain text."""
    text = _text(value)
    if text is None:
        return None
    m = _CODE.match(text)
    if not m:
        return text
    code, other = m.groups()
    return other.strip() or None if code == "OT" else table.get(code, code)


def _json_person(p: dict[str, Any]) -> dict[str, Any]:
    """A corresponding author or PI: flat in a deposition, ``{"author": {...}}`` in the REST
    API (its published OpenAPI description, tests/data/empiar/empiar-api.openapi.json)."""
    if isinstance(p.get("author"), dict):
        p = p["author"]
    given = " ".join(x for x in (_text(p.get("first_name")), _text(p.get("middle_name"))) if x)
    return {
        "given": given or None,
        "family": _text(p.get("last_name")),
        "orcid": _orcid(p.get("author_orcid")),
        "organization": _text(p.get("organization")),
        "country": _text(p.get("country")),
    }


def _orcid(value: Any) -> str | None:
    """An ORCID as text; EMPIAR's API description types it as an object holding one."""
    if isinstance(value, dict):
        value = value.get("author_orcid") or value.get("orcid")
    return _text(value)


def _json_author_name(value: Any) -> str | None:
    """'Lancey C' (API) or "('Smith', 'JW')" (deposition: family name, initials)."""
    text = _text(value)
    if text is None:
        return None
    m = re.match(r"^\('(.*)',\s*'(.*)'\)$", text)
    return f"{m.group(1)} {m.group(2)}".strip() if m else text


def read_json_entry(data: dict[str, Any], path: Path) -> Entry:
    """The REST API's record of one entry, or a deposition: the same field names."""
    form = "api"
    accession = None
    if len(data) == 1 and re.match(r"^EMPIAR-[0-9]+$", next(iter(data))):
        accession, data = next(iter(data.items()))
        if not isinstance(data, dict):
            raise EmpiarError(f"{path}:1: E091 {accession}: expected an object")
    if "title" not in data or "imagesets" not in data:
        raise EmpiarError(
            f"{path}:1: E091 not an EMPIAR entry (an API record or a deposition has "
            "'title' and 'imagesets')"
        )
    if (
        data.get("release_date") in ("RE", "EP", "HP", "HO")
        or "experiment_type" in data
        and (isinstance(data.get("experiment_type"), int))
    ):
        form = "deposition"
    experiment = data.get("experiment_type")
    entry = Entry(
        accession=accession or _text(data.get("accession") or data.get("entry_id")),
        title=_text(data.get("title")) or "",
        form=form,
        release_date=None if form == "deposition" else _text(data.get("release_date")),
        doi=_text(data.get("entry_doi")),
        experiment_type=EXPERIMENT_TYPES.get(experiment)
        if isinstance(experiment, int)
        else _text(experiment),
        size=_size(data.get("dataset_size")),
        size_text=_text(data.get("dataset_size")),
    )
    for a in sorted(_objects(data.get("authors")), key=_order):
        entry.authors.append(
            {"name": _json_author_name(a.get("name")), "orcid": _orcid(a.get("author_orcid"))}
        )
    corresponding = data.get("corresponding_author")
    if isinstance(corresponding, dict):
        entry.people.append(("corresponding author", _json_person(corresponding)))
    for pi in _objects(data.get("principal_investigator")):
        entry.people.append(("principal investigator", _json_person(pi)))
    keys = {
        "cross_references": "EMDB",
        "biostudies_references": "BioImage Archive",
        "idr_references": "IDR",
        "empiar_references": "EMPIAR",
        "pdb_references": "PDB",
    }
    for key, kind in keys.items():
        refs = data.get(key)
        for ref in refs if isinstance(refs, list) else []:
            name = _text(ref.get("name") if isinstance(ref, dict) else ref)
            if name:
                entry.references.append((_ref_kind(name, kind), name))
    for wf in _objects(data.get("workflows")):
        if _text(wf.get("url")):
            entry.workflows.append(str(_text(wf.get("url"))))
    for cit in _objects(data.get("citation") or data.get("citations")):
        listed = cit.get("authors")
        authors = [
            _json_author_name(a.get("name") if isinstance(a, dict) else a)
            for a in sorted(
                listed if isinstance(listed, list) else [],
                key=lambda a: _order(a) if isinstance(a, dict) else 0,
            )
        ]
        entry.citations.append(
            {
                "title": _text(cit.get("title")),
                "authors": [a for a in authors if a],
                "journal": _text(cit.get("journal")),
                "year": _int(cit.get("year")),
                "doi": _text(cit.get("doi")),
                "pubmed": _text(cit.get("pubmedid") or cit.get("pubmed_id")),
                "published": cit.get("published") is not False,
            }
        )
    for s in _objects(data.get("imagesets")):
        entry.imagesets.append(
            ImageSet(
                name=_text(s.get("name")) or "image set",
                directory=_text(s.get("directory")),
                category=_decode(s.get("category"), CATEGORIES),
                header_format=_decode(s.get("header_format"), HEADER_FORMATS),
                data_format=_decode(s.get("data_format"), DATA_FORMATS),
                count=_int(s.get("num_images_or_tilt_series")),
                frames_per_image=_int(s.get("frames_per_image")),
                voxel_type=_decode(s.get("voxel_type"), VOXEL_TYPES),
                width=_int(s.get("image_width")),
                height=_int(s.get("image_height")),
                pixel_width=_float(s.get("pixel_width")),
                pixel_height=_float(s.get("pixel_height")),
                details=_text(s.get("details")),
            )
        )
    return entry


def _ref_kind(name: str, default: str) -> str:
    if name.upper().startswith("EMD-"):
        return "EMDB"
    if name.upper().startswith("EMPIAR-"):
        return "EMPIAR"
    if name.upper().startswith("S-"):
        return "BioImage Archive"
    if re.match(r"^idr\d+", name, re.I):
        return "IDR"
    if re.match(r"^\d[a-z0-9]{3}$", name, re.I):
        return "PDB"
    return default


def read_entry(path: Path) -> Entry:
    """An entry from an XML header, an API record or a deposition JSON (by content)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise EmpiarError(f"{path}:1: E040 cannot read: {exc.strerror or exc}") from None
    head = raw.lstrip()[:1]
    if head == b"<":
        return read_xml(path)
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise EmpiarError(f"{path}:1: E048 file is not valid UTF-8") from None
    except json.JSONDecodeError as exc:
        raise EmpiarError(f"{path}:{exc.lineno}: E090 JSON syntax error: {exc.msg}") from None
    if not isinstance(data, dict):
        raise EmpiarError(f"{path}:1: E091 not an EMPIAR entry (expected a JSON object)")
    return read_json_entry(data, path)


# --- the study ----------------------------------------------------------------------------

LINKS = {
    "EMDB": "https://www.ebi.ac.uk/emdb/{id}",
    "PDB": "https://www.ebi.ac.uk/pdbe/entry/pdb/{id}",
    "EMPIAR": "https://www.ebi.ac.uk/empiar/{id}/",
    "BioImage Archive": "https://www.ebi.ac.uk/biostudies/bioimages/studies/{id}",
    "IDR": "https://idr.openmicroscopy.org/search/?query=Name:{id}",
}


def entry_url(accession: str) -> str:
    return f"https://www.ebi.ac.uk/empiar/{accession}/"


def _authors(entry: Entry, notes: list[str]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    affiliations: dict[str, Any] = {}
    by_orcid: dict[str, tuple[str, dict[str, Any]]] = {}
    for role, p in entry.people:
        orcid = normalise_orcid(p.get("orcid") or "")
        if orcid:
            by_orcid.setdefault(orcid, (role, p))
    authors: list[dict[str, Any]] = []
    for a in entry.authors:
        name = a.get("name")
        if not name:
            continue
        author: dict[str, Any] = split_name(name)
        orcid = normalise_orcid(a.get("orcid") or "")
        if orcid:
            author["orcid"] = orcid
        known = by_orcid.get(orcid or "")
        if known:
            role, p = known
            if p.get("family") and p.get("given"):
                # the full given name the contact record spells out
                author = {**person(p["given"], p["family"]), **author}
                author.update(person(p["given"], p["family"]))
            if p.get("organization"):
                key = _unique(slug(p["organization"], "org", 40), set(affiliations), 40)
                match = next(
                    (k for k, v in affiliations.items() if v["name"] == p["organization"]), None
                )
                if match is None:
                    affiliations[key] = {"name": p["organization"]}
                    match = key
                author["affiliations"] = [match]
            author["roles"] = [role]
        authors.append(author)
    if not authors:  # a deposition may list only the contacts
        for role, p in entry.people:
            contact: dict[str, Any] = dict(person(p.get("given"), p.get("family")))
            if contact:
                contact["roles"] = [role]
                authors.append(contact)
    if not authors:
        notes.append("authors: none in the entry")
    return authors, affiliations


def _publication(cit: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    pub: dict[str, Any] = {}
    if cit.get("title"):
        pub["title"] = cit["title"]
    if cit.get("authors"):
        pub["authors"] = ", ".join(cit["authors"])
    if cit.get("year"):
        pub["year"] = cit["year"]
    doi = normalise_doi(cit.get("doi") or "") if cit.get("doi") else None
    if doi:
        pub["doi"] = doi
    pmid = normalise_pmid(cit.get("pubmed") or "") if cit.get("pubmed") else None
    if pmid:
        pub["pmid"] = pmid
    return pub


def _dataset(s: ImageSet, entry: Entry, taken: set[str], single: bool) -> dict[str, Any]:
    ds: dict[str, Any] = {
        "id": _unique(slug(s.name, "image-set", 48), taken),
        "title": s.name,
    }
    facts = []
    if s.category:
        facts.append(f"Category: {s.category}.")
    if s.count is not None:
        what = "tilt series" if s.category and "tilt" in s.category else "images"
        facts.append(
            f"{s.count:,} {what}"
            + (
                f" of {s.frames_per_image} frames each."
                if s.frames_per_image and s.frames_per_image > 1
                else "."
            )
        )
    if s.width and s.height:
        size = f"Image size {s.width} × {s.height} pixels"
        if s.pixel_width:
            size += (
                f", pixel size {s.pixel_width:g}"
                + (
                    f" × {s.pixel_height:g}"
                    if s.pixel_height and s.pixel_height != s.pixel_width
                    else ""
                )
                + " Å"
            )
        facts.append(size + ".")
    if s.voxel_type:
        facts.append(f"Voxel type: {s.voxel_type.lower()}.")
    if s.header_format and s.header_format != s.data_format:
        facts.append(f"Header format: {s.header_format}.")
    if s.directory:
        facts.append(f"Folder in the entry: `{s.directory}`.")
    text = " ".join(facts)
    if s.details:
        text = f"{s.details}\n\n{text}" if text else s.details
    if text:
        ds["description"] = text
    remote: dict[str, Any] = {"url": entry_url(entry.accession or ""), "where": "EMPIAR"}
    if s.count is not None:
        remote["count"] = s.count
        remote["count_of"] = "tilt series" if s.category and "tilt" in s.category else "images"
    if single and entry.size:
        remote["size"] = entry.size
    formats = [f for f in (s.data_format,) if f]
    if formats:
        remote["formats"] = formats
    ds["remote_files"] = remote
    return ds


def _description(entry: Entry) -> str:
    parts = [f"EMPIAR entry {entry.accession}"]
    if entry.experiment_type:
        parts[0] += f" ({entry.experiment_type})"
    sets = len(entry.imagesets)
    parts.append(f"{sets} image set{'s' if sets != 1 else ''}")
    if entry.size_text:
        parts.append(entry.size_text)
    text = ", ".join(parts) + ". The image data are held by EMPIAR."
    for cit in entry.citations[:1]:
        if cit.get("title"):
            text += f" Published as: {cit['title']}"
            if cit.get("journal"):
                text += f" ({cit['journal']}{', ' + str(cit['year']) if cit.get('year') else ''})"
            text += "."
    return text + "\n\n*This description was written by the importer from the entry's facts.*"


def to_study(entry: Entry, accession: str, path: Path) -> Imported:
    """The content-format study of ``entry``, filed under ``accession``."""
    notes: list[str] = []
    if not entry.accession:
        raise EmpiarError(
            f"{path}:1: E091 no EMPIAR accession in the file (a deposition has none until "
            "EMPIAR assigns it); give it with --empiar-id"
        )
    if not entry.title:
        raise EmpiarError(f"{path}:1: E091 {entry.accession} has no title")
    study: dict[str, Any] = {"format": 1, "accession": accession, "title": entry.title}
    doi = normalise_doi(entry.doi or "") if entry.doi else None
    if doi:
        study["doi"] = doi
    if entry.release_date:
        study["release_date"] = _iso_date(entry.release_date)
    else:
        from catalogue.placeholders import todo

        study["release_date"] = todo(
            "YYYY-MM-DD: a deposition has no release date until EMPIAR releases it"
        )
        notes.append("release_date: not in a deposition; fill it in when EMPIAR releases it")
    study["collection"] = "EMPIAR"
    study["description"] = _description(entry)
    authors, affiliations = _authors(entry, notes)
    study["authors"] = authors or [{"name": f"EMPIAR entry {entry.accession} authors"}]
    if affiliations:
        study["affiliations"] = affiliations
    pubs = [_publication(c, notes) for c in entry.citations]
    pubs = [p for p in pubs if p]
    if pubs:
        study["publications"] = pubs
    links: list[dict[str, Any]] = [
        {
            "type": "EMPIAR",
            "id": entry.accession,
            "url": entry_url(entry.accession),
            "description": "The entry at EMPIAR (files, metadata)",
        }
    ]
    seen = {("EMPIAR", entry.accession)}
    for kind, ref in entry.references:
        if (kind, ref) in seen:
            continue
        seen.add((kind, ref))
        links.append({"type": kind, "id": ref, "url": LINKS[kind].format(id=ref)})
    for url in entry.workflows:
        links.append({"type": "Workflow", "url": url, "description": "Processing workflow"})
    study["links"] = links
    method_name = METHODS.get((entry.experiment_type or "").lower())
    if method_name:
        fbbi = ontology.fbbi_for_name(method_name)
        method: dict[str, Any] = {"name": method_name}
        if fbbi:
            method["fbbi"] = fbbi
        study["image_acquisitions"] = {
            "acquisition": {
                "imaging_method": method,
                "description": f"EMPIAR experiment type: {entry.experiment_type}",
            }
        }
    taken: set[str] = set()
    datasets = [_dataset(s, entry, taken, len(entry.imagesets) == 1) for s in entry.imagesets]
    if "image_acquisitions" in study:
        for ds in datasets:
            ds["image_acquisition"] = "acquisition"
    study["datasets"] = [_order_dataset(ds) for ds in datasets]
    study["source"] = {"name": "EMPIAR", "url": entry_url(entry.accession), "id": entry.accession}
    study["extra"] = {"empiar": {"form": entry.form, "experiment_type": entry.experiment_type}}
    notes.append("license: EMPIAR headers state none; the site's default_license applies")
    return Imported(accession, study, [], [], notes, [])


def _order_dataset(ds: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "title", "description", "image_acquisition", "remote_files")
    return {k: ds[k] for k in keys if k in ds}


def _iso_date(text: str) -> object:
    """A date (written unquoted in YAML), or the text when it is not ISO: validation
    then names it."""
    return _date(text) or text
