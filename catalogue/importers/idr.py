"""An IDR study folder, as the IDR publishes it on GitHub, into one study.

The folder (``github.com/IDR/idrNNNN-name``) holds ``idrNNNN-study.txt`` (tab-separated
``Key<TAB>value<TAB>value…`` lines; one section per screen or experiment, each starting
with ``Screen Number`` / ``Experiment Number``) and one subfolder per screen or
experiment (``screenA/``, ``experimentA/``) with ``*-annotation.csv`` (one row per well
or image), ``*-plates.tsv`` or ``*-filePaths.tsv`` (what IDR imported) and a
``*-bulkmap-config.yml``.

The study gets the title, description, keywords, release date, licence, data DOI,
publication and contact of the study file, the organisms (NCBI Taxonomy ids) and imaging
methods (FBbi ids) it names, and one dataset per screen/experiment whose manifest is the
annotation table: one row per well (``<Plate>/<Well>``) or image (``<Dataset>/<Image>``),
with every annotation column (Plate, Well, Compound, Gene, Organism, …) kept, except the
ontology bookkeeping columns (``Term Source N REF/Accession``), which become the study's
organism ids. The images stay at the IDR: each dataset links there (``remote_files``).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from catalogue import ontology
from catalogue.identifiers import normalise_doi, normalise_orcid, normalise_pmid
from catalogue.names import person, split_name
from catalogue.pagetab.conversion import Manifest
from catalogue.pagetab.importer import Imported
from catalogue.pagetab.vocabulary import _date, _unique, normalise_license, slug
from catalogue.paths import escapes
from catalogue.readers.manifest import path_problem

IDR = "https://idr.openmicroscopy.org"


class IdrError(Exception):
    """A folder that is not an IDR study folder; the message names the file and line."""


@dataclass
class Section:
    kind: str  # study, screen, experiment
    fields: dict[str, list[str]] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)

    def all(self, key: str) -> list[str]:
        return self.fields.get(key, [])

    def one(self, key: str) -> str | None:
        values = self.all(key)
        return values[0] if values else None


def _inside(path: Path, folder: Path) -> Path:
    """``path``, unless a symbolic link leads it out of the study folder: a folder
    downloaded from elsewhere must not import (and publish) a file of this machine."""
    if escapes(path, folder):
        raise IdrError(f"{path}: E043 symbolic link out of {folder}; refused")
    return path


def _values(cells: list[str]) -> list[str]:
    out = [" ".join(c.split()) for c in cells]
    while out and not out[-1]:
        out.pop()
    # hints left in the template ("# leave blank") are not values
    return ["" if v.startswith("#") else v for v in out]


def read_study_file(path: Path) -> list[Section]:
    _inside(path, path.parent)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise IdrError(f"{path}:1: E048 file is not valid UTF-8") from None
    sections = [Section("study")]
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, *cells = line.split("\t")
        key = key.strip()
        if key in ("Screen Number", "Experiment Number"):
            sections.append(Section(key.split()[0].lower()))
        values = [v for v in _values(cells)]
        if any(values):
            sections[-1].fields.setdefault(key, values)
            sections[-1].lines.setdefault(key, number)
    if not sections[0].one("Comment[IDR Study Accession]"):
        raise IdrError(f"{path}:1: E091 not an IDR study file (no 'Comment[IDR Study Accession]')")
    return sections


def _pairs(section: Section, names: str, accessions: str) -> list[tuple[str, str | None]]:
    """Names with their ontology accessions, column by column (blanks kept aligned)."""
    ids = section.all(accessions)
    return [
        (name, ids[i] if i < len(ids) and ids[i] else None)
        for i, name in enumerate(section.all(names))
        if name
    ]


def _taxon(value: str | None) -> int | None:
    return ontology.parse_taxon_id(value) if value else None


def _fbbi(value: str | None) -> str | None:
    return ontology.parse_fbbi_id(value) if value else None


def _study_folder_name(folder: Path, accession: str) -> str:
    return folder.name if folder.name.startswith(accession) else accession


# --- manifests ----------------------------------------------------------------------------

_SKIP = re.compile(r"^Term Source \d+ (REF|Accession)$")


def _annotation_manifest(dataset_id: str, csv_path: Path, kind: str) -> Manifest:
    with csv_path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        try:
            header = [h.strip() for h in next(reader)]
            rows = list(reader)
        except StopIteration:
            raise IdrError(f"{csv_path}:1: E092 empty annotation table") from None
        except UnicodeDecodeError:
            raise IdrError(f"{csv_path}:1: E048 file is not valid UTF-8") from None
        except csv.Error as exc:  # a field over csv's limit, an unclosed quote at the end
            line = max(reader.line_num, 1)
            raise IdrError(f"{csv_path}:{line}: E092 annotation table unreadable: {exc}") from None
    keep = [i for i, h in enumerate(header) if h and not _SKIP.match(h)]
    # a column empty in every row carries nothing
    keep = [i for i in keep if any(i < len(r) and r[i].strip() for r in rows)]
    where = ("Plate", "Well") if kind == "screen" else ("Dataset Name", "Image Name")
    if not all(w in header for w in where):
        raise IdrError(f"{csv_path}:1: E092 annotation table without {' and '.join(where)} columns")
    a, b = (header.index(w) for w in where)
    table: list[list[str]] = []
    for number, row in enumerate(rows, 2):
        if not any(c.strip() for c in row):
            continue
        first, second = (
            (row[a].strip() if a < len(row) else ""),
            (row[b].strip() if b < len(row) else ""),
        )
        path = f"{first}/{second}"
        if path_problem(path):
            raise IdrError(f"{csv_path}:{number}: E092 no {where[0]}/{where[1]} to locate the row")
        cells = [path, "", ""]
        for i in keep:
            value = row[i] if i < len(row) else ""
            cells.append(" ".join(value.split()))
        table.append(cells)
    columns = ["path", "size", "sha256", *(header[i] for i in keep)]
    return Manifest(dataset_id, columns, table, csv_path.name)


def _count_lines(path: Path) -> int:
    with path.open(encoding="utf-8", errors="replace") as fh:
        return sum(1 for line in fh if line.strip())


def _formats(path: Path) -> list[str]:
    out: list[str] = []
    with path.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 2 and "." in parts[1].rsplit("/", 1)[-1]:
                ext = parts[1].rsplit(".", 1)[-1].lower()
                if ext and len(ext) <= 8 and ext not in out:
                    out.append(ext)
    return sorted(out)


# --- the study ----------------------------------------------------------------------------


def import_idr(folder: Path, accession: str) -> Imported:
    if not folder.is_dir():
        raise IdrError(f"{folder}: E040 not a folder")
    study_files = sorted(folder.glob("idr*-study.txt"))
    if not study_files:
        raise IdrError(f"{folder}: E040 no idrNNNN-study.txt in the folder")
    path = study_files[0]
    sections = read_study_file(path)
    top = sections[0]
    idr_id = str(top.one("Comment[IDR Study Accession]"))
    notes: list[str] = []
    manifests: list[Manifest] = []
    search = f"{IDR}/search/?query=Name:{idr_id}"
    study: dict[str, Any] = {"format": 1, "accession": accession}
    study["title"] = top.one("Study Title") or idr_id
    doi = normalise_doi(top.one("Study Data DOI") or "")
    if doi:
        study["doi"] = doi
    release = top.one("Study Public Release Date")
    if release:
        study["release_date"] = _iso_date(release)
    licence = top.one("Study License")
    spdx = normalise_license(licence) if licence else None
    if spdx:
        study["license"] = spdx
        if spdx != licence:
            notes.append(f"license: {licence!r} written as the SPDX id {spdx}")
    elif licence:
        notes.append(f"license: {licence!r} is not an SPDX id; the site default applies")
    study["collection"] = "IDR"
    keywords = [k for k in top.all("Study Key Words") if k]
    if keywords:
        study["keywords"] = keywords
    study["description"] = top.one("Study Description") or f"IDR study {idr_id}."
    study["authors"] = _authors(top)
    pub: dict[str, Any] = {}
    if top.one("Study Publication Title"):
        pub["title"] = top.one("Study Publication Title")
    if top.one("Study Author List"):
        pub["authors"] = top.one("Study Author List")
    pub_doi = normalise_doi(top.one("Study DOI") or "")
    if pub_doi:
        pub["doi"] = pub_doi
    pmid = normalise_pmid(top.one("Study PubMed ID") or "")
    if pmid:
        pub["pmid"] = pmid
    if pub:
        study["publications"] = [pub]
    links: list[dict[str, Any]] = [
        {"type": "IDR", "id": idr_id, "url": search, "description": "The study at the IDR"},
        {
            "type": "GitHub",
            "url": f"https://github.com/IDR/{_study_folder_name(folder, idr_id)}",
            "description": "IDR curation files of the study",
        },
    ]
    bia = top.one("Study BioImage Archive Accession")
    if bia:
        links.append(
            {
                "type": "BioImage Archive",
                "id": bia,
                "url": f"https://www.ebi.ac.uk/biostudies/bioimages/studies/{bia}",
            }
        )
    external = top.one("Study External URL")
    if external and external.startswith(("http://", "https://")):
        links.append({"type": "Website", "url": external})
    pmc = (top.one("Study PMC ID") or "").strip()
    if re.match(r"^PMC\d+$", pmc):
        links.append(
            {"type": "PMC", "id": pmc, "url": f"https://www.ncbi.nlm.nih.gov/pmc/articles/{pmc}/"}
        )
    organisms = []
    for name, acc in _pairs(top, "Study Organism", "Study Organism Term Accession"):
        org: dict[str, Any] = {"scientific_name": name}
        taxon = _taxon(acc)
        if taxon:
            org["ncbi_taxon"] = taxon
        organisms.append(org)
    if organisms:
        study["biosamples"] = {
            "organisms": {"organism": organisms if len(organisms) > 1 else organisms[0]}
        }
    acquisitions: dict[str, Any] = {}
    datasets: list[dict[str, Any]] = []
    taken: set[str] = set()
    for section in sections[1:]:
        ds, acq = _dataset(section, folder, taken, search, manifests, notes)
        if acq:
            acquisitions[ds["id"]] = acq
            ds["image_acquisition"] = ds["id"]
        if organisms:
            ds["biosample"] = "organisms"
        for s in section.all("Screen Data DOI") or section.all("Experiment Data DOI"):
            d = normalise_doi(s)
            if d:
                links.append({"type": "DOI", "id": d, "url": f"https://doi.org/{d}",
                              "description": f"Data DOI of {ds['title']}"})  # fmt: skip
        datasets.append(ds)
    if acquisitions:
        study["image_acquisitions"] = acquisitions
    study["links"] = links
    study["datasets"] = [_ordered(ds) for ds in datasets]
    study["source"] = {"name": "IDR", "url": search, "id": idr_id}
    return Imported(accession, study, manifests, [], notes, [])


def _ordered(ds: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "title", "description", "biosample", "image_acquisition", "files", "remote_files")
    return {k: ds[k] for k in keys if k in ds}


def _authors(top: Section) -> list[dict[str, Any]]:
    contacts = []
    lasts, firsts = top.all("Study Person Last Name"), top.all("Study Person First Name")
    orcids, roles = top.all("Study Person ORCID"), top.all("Study Person Roles")
    for i, last in enumerate(lasts):
        first = firsts[i] if i < len(firsts) else ""
        c: dict[str, Any] = dict(person(first, last))
        orcid = normalise_orcid(orcids[i]) if i < len(orcids) and orcids[i] else None
        if orcid:
            c["orcid"] = orcid
        if i < len(roles) and roles[i]:
            c["roles"] = [r.strip() for r in roles[i].split(",") if r.strip()]
        contacts.append(c)
    authors: list[dict[str, Any]] = []
    names = [n.strip() for n in (top.one("Study Author List") or "").split(",") if n.strip()]
    for n in names:
        a: dict[str, Any] = dict(split_name(n))
        match = next(
            (
                c
                for c in contacts
                if c.get("family_name") == a.get("family_name")
                and str(c.get("given_name", "")).startswith(str(a.get("given_name", ""))[:1])
            ),
            None,
        )
        if match is not None:
            a = dict(match)  # the contact's full given name, ORCID and roles
            contacts.remove(match)
        authors.append(a)
    return authors + contacts or [{"name": "IDR study authors"}]


def _dataset(
    section: Section,
    folder: Path,
    taken: set[str],
    search: str,
    manifests: list[Manifest],
    notes: list[str],
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    kind = section.kind  # screen or experiment
    title_key = "Screen" if kind == "screen" else "Experiment"
    name = section.one(f"Comment[IDR {title_key} Name]") or ""
    sub = name.rsplit("/", 1)[-1] if "/" in name else f"{kind}{len(taken) + 1}"
    if sub in (".", "..") or path_problem(sub):  # only a subfolder of the study's
        sub = f"{kind}{len(taken) + 1}"
    letter = re.sub(r"^(screen|experiment)", "", sub)
    ds: dict[str, Any] = {"id": _unique(slug(f"{kind}-{letter}", kind), taken)}
    described = section.one(f"{title_key} Description")
    ds["title"] = f"{title_key} {letter}" + (f": {described}" if described else "")
    facts = []
    for label in ("Size", "Technology Type", "Type", "Sample Type"):
        value = " ".join(v for v in section.all(f"{title_key} {label}") if v)
        if value:
            facts.append(f"{label}: {value}.")
    organisation = section.one("Raw Image Organization")
    if organisation:
        facts.append(f"Organisation: {organisation}.")
    if facts:
        ds["description"] = " ".join(facts)
    sub_folder = _inside(folder / sub, folder)
    annotation = sorted(sub_folder.glob("*-annotation.csv")) if sub_folder.is_dir() else []
    if annotation:
        manifest = _annotation_manifest(ds["id"], _inside(annotation[0], folder), kind)
        manifests.append(manifest)
        ds["files"] = f"{ds['id']}.files.tsv"
    else:
        notes.append(f"datasets.{ds['id']}: no annotation table in {sub_folder}; no manifest")
    remote: dict[str, Any] = {"url": search, "where": "IDR"}
    plates = sorted(sub_folder.glob("*-plates.tsv")) if sub_folder.is_dir() else []
    paths = sorted(sub_folder.glob("*-filePaths.tsv")) if sub_folder.is_dir() else []
    plates = [_inside(p, folder) for p in plates]
    paths = [_inside(p, folder) for p in paths]
    if plates:
        remote["count"] = _count_lines(plates[0])
        remote["count_of"] = "plates"
    elif paths:
        remote["count"] = _count_lines(paths[0])
        remote["count_of"] = "files"
        formats = _formats(paths[0])
        if formats:
            remote["formats"] = formats
    ds["remote_files"] = remote
    methods = []
    for method, acc in _pairs(
        section, f"{title_key} Imaging Method", f"{title_key} Imaging Method Term Accession"
    ):
        m: dict[str, Any] = {"name": method}
        fbbi = _fbbi(acc) or ontology.fbbi_for_name(method)
        if fbbi:
            m["fbbi"] = fbbi
        methods.append(m)
    acq = {"imaging_method": methods if len(methods) > 1 else methods[0]} if methods else None
    return ds, acq


def _iso_date(text: str) -> object:
    """A date (written unquoted in YAML), or the text when it is not ISO: validation
    then names it."""
    return _date(text) or text
