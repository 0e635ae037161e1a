"""The PageTab importer: one submission (and its file lists) into content-format data.

The vocabulary it matches (section kinds, attribute aliases, licences, links) lives in
pagetab.py, shared with the exporter; the layout of ``extra.pagetab`` is described
there too.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from . import ontology
from .identifiers import ACCESSION_RE, DATASET_ID_RE
from .pagetab import (
    ASSOCIATION_KINDS,
    FBBI_ONTOLOGY_NAMES,
    LINK_TYPES,
    REMBI,
    STRUCTURAL_SUBMISSION_KEYS,
    PageTabError,
    Section,
    _bag_add,
    _cell,
    _date,
    _qualifiers,
    _read_tsv_list,
    _strip_doi,
    _unique,
    accession_link,
    file_list_rows,
    license_from_url,
    license_url,
    norm,
    normalise_license,
    read_json,
    slug,
    text_value,
)
from .placeholders import todo
from .readers.manifest import path_problem


@dataclass
class Manifest:
    dataset: str
    columns: list[str]
    rows: list[list[str]]
    source: str


@dataclass
class Imported:
    accession: str
    study: dict[str, Any]
    manifests: list[Manifest]
    kept: list[str]  # what went to extra, by record path
    notes: list[str]  # values normalised or inferred
    missing: list[str]  # file lists named but not found


# --- the importer --------------------------------------------------------------------------


class Importer:
    """One conversion; collects the study, manifests and the report as it goes."""

    def __init__(self, source: Path, file_lists: dict[str, Path], accession: str | None):
        self.source = source
        self.file_lists = file_lists
        self.accession_override = accession
        self.study: dict[str, Any] = {}
        self.extra: dict[str, Any] = {}
        self.bags: dict[str, dict[str, Any]] = {}
        self.notes: list[str] = []
        self.missing: list[str] = []
        self.used_lists: set[Path] = set()
        self.manifests: list[Manifest] = []
        self.keys: dict[str, set[str]] = {}
        self.titles: dict[str, dict[str, str]] = {}  # kind -> loose title/accno/key -> key
        self.dataset_ids: set[str] = set()
        self.datasets: list[dict[str, Any]] = []
        self.records: dict[str, dict[str, dict[str, Any]]] = {k: {} for k in REMBI}
        self.sections: list[dict[str, Any]] = []
        self.links: dict[str, list[dict[str, Any]]] = {}
        self.study_extra: dict[str, Any] = {}  # the study's own extra, exported as JSON
        self.pending_annotations: list[tuple[str, dict[str, Any], list[str], list[Any]]] = []

    # -- helpers --

    def keep(self, path: str, section: Section) -> None:
        bag = section.rest()
        if bag:
            self.bags.setdefault(path, {}).update(bag)

    def note(self, text: str) -> None:
        self.notes.append(text)

    def unknown(self, where: str, section: Section) -> None:
        self.sections.append({"in": where, "section": section.raw})

    # -- entry --

    def run(self, data: Any) -> Imported:
        if isinstance(data, list) and len(data) == 1 and isinstance(data[0], dict):
            data = data[0]
        if not isinstance(data, dict) or not isinstance(data.get("section"), dict):
            raise PageTabError(
                f"{self.source}:1: E091 not a PageTab submission (no 'section' object at the top)"
            )
        top = Section(data, "submission")
        study = Section(data["section"], "study")
        accession = self.accession_override or text_value(data.get("accno"))
        if not accession or not ACCESSION_RE.match(accession):
            raise PageTabError(
                f"{self.source}:1: E091 accno {accession!r} is not an accession of the form "
                "S-ABCD123; give one with --accession"
            )
        fields = {k: v for k, v in data.items() if k not in STRUCTURAL_SUBMISSION_KEYS}
        if data.get("type") not in (None, "submission"):
            fields["type"] = data["type"]
        self.study["format"] = 1
        self.study["accession"] = accession
        self._study_fields(top, study)
        self._sections(study)
        if fields:
            self.extra["fields"] = fields
        self.keep("submission", top)
        self.keep("study", study)
        return self._result(accession)

    # -- study level --

    def _study_fields(self, top: Section, study: Section) -> None:
        title_top = top.take_one("Title")
        title = study.take_one("Title") or title_top
        if title_top and title_top != title:
            self.bags.setdefault("submission", {})["Title"] = title_top
        self.study["title"] = title or todo("title of the study")
        released = top.take_one("ReleaseDate", "Release date")
        section_date = study.take_one("ReleaseDate", "Release date")
        if released is None:
            released = section_date
        elif section_date is not None and section_date[:10] != released[:10]:
            self.bags.setdefault("study", {})["Release date"] = section_date
        date = _date(released)
        if released and date is None:
            self.bags.setdefault("study", {})["ReleaseDate"] = released
        self.study["release_date"] = date or todo("YYYY-MM-DD: no release date in the PageTab")
        self._license(study)
        collection = top.take_one("Collection")
        self.study["collection"] = collection or "direct"
        keywords = study.take("Keyword", "Keywords")
        if keywords:
            self.study["keywords"] = keywords
        description = study.take_one("Description", "Abstract")
        self.study["description"] = description or todo("description of the study (markdown)")
        withdrawn = study.take_one("Withdrawn")
        if withdrawn and _date(withdrawn):
            self.study["withdrawn"] = {
                "date": _date(withdrawn),
                "reason": study.take_one("Withdrawal reason") or todo("reason of the withdrawal"),
            }
        extra_json = top.take_one("Catalogue extra")
        if extra_json:
            try:
                loaded = json.loads(extra_json)
                if isinstance(loaded, dict):
                    self.study_extra = loaded
            except json.JSONDecodeError:
                self.bags.setdefault("submission", {})["Catalogue extra"] = extra_json

    def _license(self, study: Section) -> None:
        attrs = study.take_raw("License")
        if not attrs:
            self.study["license"] = todo(
                "no licence in the PageTab; choose an SPDX id of site.yaml"
            )
            return
        attr = attrs[0]
        for other in attrs[1:]:
            _bag_add(self.bags.setdefault("study", {}), "License", other.get("value"))
        raw = str(attr.get("value")).strip()
        quals = _qualifiers(attr)
        urls = [q.get("value") for q in quals.get("valqual", []) if norm(q.get("name")) == "url"]
        spdx = normalise_license(raw) or next((license_from_url(str(u)) for u in urls), None)
        if spdx is None:
            self.study["license"] = todo(f"licence {raw!r} is not an SPDX id; write its SPDX id")
            _bag_add(self.bags.setdefault("study", {}), "License", {"value": raw, **quals})
            return
        if spdx != raw:
            self.note(f"license: {raw!r} written as the SPDX id {spdx}")
        self.study["license"] = spdx
        if quals and quals != {"valqual": [{"name": "URL", "value": license_url(spdx)}]}:
            _bag_add(self.bags.setdefault("study", {}), "License", quals)

    # -- sections --

    def _sections(self, study: Section) -> None:
        subs = study.subsections
        for s in subs:  # people and papers first: their order is the study's
            kind = s.kind
            if kind == "author":
                self._author(s)
            elif kind == "organization":
                self._organization(s)
            elif kind == "publication":
                self._publication(s)
            elif kind == "funding":
                self._funding(s)
        for s in subs:  # REMBI sections before the datasets that refer to them
            if s.kind in REMBI:
                self._rembi(s, s.kind)
        organisms = self._study_organisms(study)
        for s in subs:  # datasets in document order
            if s.kind == "component":
                self._component(s)
            elif s.kind == "experiment":
                self._experiment(s, organisms)
            elif s.kind == "supplementary":
                self._dataset_from(s, "Supplementary Data")
        self._annotation_datasets()
        if study.files:
            self._study_files(study, organisms)
        elif organisms and not any(s.kind == "experiment" for s in subs):
            self._organism_biosample(organisms)
        for s in subs:
            if s.kind is None or s.kind in ("organism", "method", "associations", "channel"):
                self.unknown("study", s)
        for link in study.links:
            self._link(link, "study")

    def _author(self, s: Section) -> None:
        index = len(self.study.setdefault("authors", []))
        author: dict[str, Any] = {"name": s.take_one("Name") or todo("name of the author")}
        orcid = s.take_one("ORCID", "ORCID iD", "ORCID ID")
        if orcid:
            author["orcid"] = re.sub(r"^https?://orcid\.org/", "", orcid.strip())
        email = s.take_one("Email", "E-mail", "E mail")
        if email:
            author["email"] = email
        affiliations: list[str] = []
        for i, attr in enumerate(s.attributes):
            if i in s.used or norm(attr.get("name")) not in ("affiliation", "organization"):
                continue
            value = text_value(attr.get("value"))
            s.used.add(i)
            if value is None:
                continue
            if not attr.get("reference"):
                value = self._affiliation_by_name(value)
            affiliations.append(value)
        if affiliations:
            author["affiliations"] = affiliations
        roles = [r.strip() for v in s.take("Role", "Roles") for r in v.split(",") if r.strip()]
        if roles:
            author["roles"] = roles
        self.study["authors"].append(author)
        self.keep(f"authors.{index}", s)
        self._children(s, f"authors.{index}")

    def _affiliation_by_name(self, name: str) -> str:
        affiliations = self.study.setdefault("affiliations", {})
        for key, value in affiliations.items():
            if value.get("name") == name:
                return key
        key = _unique(slug(name, "org"), self.keys.setdefault("organization", set()))
        affiliations[key] = {"name": name}
        self.note(f"affiliations.{key}: made from an author's affiliation given as text")
        return key

    def _organization(self, s: Section) -> None:
        affiliations = self.study.setdefault("affiliations", {})
        taken = self.keys.setdefault("organization", set())
        key = s.accno or f"o{len(affiliations) + 1}"
        if s.accno is None:
            self.note(f"affiliations.{key}: an organisation without accno was given the key {key}")
        key = _unique(key, taken)
        record: dict[str, Any] = {"name": s.take_one("Name") or todo("name of the organisation")}
        ror = s.take_one("RORID", "ROR", "ROR ID")
        if ror:
            record["ror"] = ror
        address = s.take_one("Address")
        if address:
            record["address"] = address
        affiliations[key] = record
        self.keep(f"affiliations.{key}", s)
        self._children(s, f"affiliations.{key}")

    def _publication(self, s: Section) -> None:
        index = len(self.study.setdefault("publications", []))
        path = f"publications.{index}"
        pub: dict[str, Any] = {"title": s.take_one("Title") or todo("title of the publication")}
        authors = s.take_one("Authors")
        if authors:
            pub["authors"] = authors
        year = s.take_one("Year")
        if year and year.strip().isdigit():
            pub["year"] = int(year)
        elif year:
            self.bags.setdefault(path, {})["Year"] = year
        doi = s.take_one("DOI")
        if doi:
            doi = _strip_doi(doi)
            if re.match(r"^https?://", doi) and not s.take_one("URL", "Link"):
                pub["url"] = doi  # a link to the article given as its DOI
                self.note(f"{path}: DOI {doi!r} is a web address; written as url")
            else:
                pub["doi"] = doi
        pmid = s.take_one("Pubmed ID", "PMID", "PubMed")
        if pmid and pmid.strip().isdigit():
            pub["pmid"] = pmid.strip()
        elif pmid:
            self.bags.setdefault(path, {})["Pubmed ID"] = pmid
            self.note(f"{path}: Pubmed ID {pmid[:40]!r} is not a number; kept in extra")
        url = s.take_one("URL", "Link")
        if url:
            pub["url"] = url
        self.study["publications"].append(pub)
        self.keep(path, s)
        self._children(s, path)

    def _funding(self, s: Section) -> None:
        index = len(self.study.setdefault("funding", []))
        record: dict[str, Any] = {
            "funder": s.take_one("Agency", "Funder", "Funding agency") or todo("funder")
        }
        grant = s.take_one("grant_id", "Grant ID", "Grant number", "Grant")
        if grant:
            record["grant_id"] = grant
        self.study["funding"].append(record)
        self.keep(f"funding.{index}", s)
        self._children(s, f"funding.{index}")

    def _link(self, raw: dict[str, Any], where: str) -> None:
        url = text_value(raw.get("url"))
        link = Section({"attributes": raw.get("attributes") or []})
        description = link.take_one("Description")
        link_type = link.take_one("Type")
        link_id = link.take_one("ID", "Id", "Accession")
        web = url is not None and (
            "://" in url
            or accession_link(LINK_TYPES.get(norm(link_type), link_type), url) is not None
            or re.match(r"^[\w.-]+\.[a-z]{2,}(/\S*)?$", url, re.I) is not None
        )
        if where != "study" or url is None or not web:
            self.links.setdefault(where, []).append(raw)
            if where == "study":
                self.note(f"link {url!r} is not a web address; kept in extra")
            return
        out: dict[str, Any] = {}
        if link_type:
            normal = LINK_TYPES.get(norm(link_type), link_type)
            if normal != link_type:
                self.note(f"link type {link_type!r} written as {normal!r}")
            out["type"] = normal
        found = accession_link(out.get("type"), url) if "://" not in url else None
        if found:
            link_id = link_id or url
            out.setdefault("type", found[0])
            url = found[1]
            if url:
                self.note(f"link {link_id!r} (an accession) made a link to {url}")
        elif "://" not in url and re.match(r"^[\w.-]+\.[a-z]{2,}(/\S*)?$", url, re.I):
            self.note(f"link {url!r} given the scheme https://")
            url = f"https://{url}"
        if link_id:
            out["id"] = link_id
        if url:
            out["url"] = url
        if description:
            out["description"] = description
        links = self.study.setdefault("links", [])
        bag = link.rest()
        if bag:
            self.bags[f"links.{len(links)}"] = bag
        links.append(out)

    # -- REMBI sections --

    def _rembi(self, s: Section, kind: str, title: str | None = None) -> str:
        section_name, _ = REMBI[kind]
        taken = self.keys.setdefault(kind, set())
        given = s.take_one("Title")
        label = given or title or s.accno or kind
        key = _unique(slug(label, kind), taken, 200)
        path = f"{section_name}.{key}"
        if given and given != key:
            self.bags.setdefault(path, {})["Title"] = given
        lookup = self.titles.setdefault(kind, {})
        for alias in (given, s.accno, key):
            if alias:
                lookup.setdefault(norm(alias), key)
        record = getattr(self, f"_{kind}")(s, path)
        self.records[kind][key] = record
        self.study.setdefault(section_name, {})[key] = record
        self.keep(path, s)
        self._children(s, path, skip={"organism", "method", "channel"})
        return key

    def _biosample(self, s: Section, path: str) -> dict[str, Any]:
        record: dict[str, Any] = {}
        organisms = [self._organism_text(a) for a in s.take_raw("Organism")]
        flat = len(organisms)  # free text ("Homo sapiens (human)"): ids may be inferred
        for sub in (x for x in s.subsections if x.kind == "organism"):
            organisms.append(self._organism_section(sub, f"{path}.organism.{len(organisms)}"))
        organisms = self._clean_organisms(organisms, path)
        if organisms:
            record["organism"] = organisms[0] if len(organisms) == 1 else organisms
            self._infer_taxa(organisms[:flat], path)
        entity = s.take_one("Biological entity")
        if entity:
            record["biological_entity"] = entity
        description = s.take_one("Description")
        if description:
            record["description"] = description
        for name, key in (
            ("Intrinsic variable", "intrinsic_variables"),
            ("Extrinsic variable", "extrinsic_variables"),
            ("Experimental variable", "experimental_variables"),
        ):
            values = s.take(name, name + "s")
            if values:
                record[key] = values
        return record

    def _organism_text(self, attr: dict[str, Any]) -> dict[str, Any]:
        """'Homo sapiens (human)', optionally qualified with an NCBITaxon TermId."""
        text = str(attr.get("value")).strip()
        m = re.match(r"^(.*?)\s*\(([^()]*)\)$", text)
        org: dict[str, Any] = {"scientific_name": m.group(1) if m else text}
        if m and m.group(2):
            org["common_name"] = m.group(2)
        quals = _qualifiers(attr)
        rest = []
        for q in quals.get("valqual", []):
            if norm(q.get("name")) in ("termid", "term id") and ontology.parse_taxon_id(
                str(q.get("value"))
            ):
                org["ncbi_taxon"] = ontology.parse_taxon_id(str(q.get("value")))
            elif norm(q.get("name")) == "ontology" and norm(q.get("value")) in (
                "ncbitaxon",
                "ncbi taxonomy",
            ):
                continue
            else:
                rest.append(q)
        kept = {k: v for k, v in quals.items() if k != "valqual"}
        if rest:
            kept["valqual"] = rest
        if kept:  # under the attribute name the export writes the organism with
            org["_bag"] = {"Scientific name": kept}
        return org

    def _organism_section(self, s: Section, path: str) -> dict[str, Any]:
        org: dict[str, Any] = {
            "scientific_name": s.take_one("Scientific name", "Name")
            or todo("scientific name of the organism")
        }
        common = s.take_one("Common name")
        if common:
            org["common_name"] = common
        taxon = s.take_one("NCBI taxon ID", "NCBI taxon", "Taxon ID", "NCBITaxon")
        if taxon:
            number = ontology.parse_taxon_id(taxon)
            if number:
                org["ncbi_taxon"] = number
            else:
                self.bags.setdefault(path, {})["NCBI taxon ID"] = taxon
                self.note(f"{path}: NCBI taxon ID {taxon!r} not understood; kept in extra")
        bag = s.rest()
        if bag:
            org["_bag"] = bag
        return org

    def _infer_taxa(self, organisms: list[dict[str, Any]], path: str) -> None:
        for i, org in enumerate(organisms):
            if "ncbi_taxon" in org:
                continue
            number = ontology.taxon_for_name(org["scientific_name"])
            if number:
                org["ncbi_taxon"] = number
                self.note(
                    f"{path}.organism.{i}: ncbi_taxon {number} inferred from "
                    f"{org['scientific_name']!r} (offline NCBI Taxonomy list)"
                )

    def _specimen(self, s: Section, path: str) -> dict[str, Any]:
        record: dict[str, Any] = {}
        prep = s.take_one("Sample preparation protocol", "Sample preparation")
        if prep:
            record["preparation"] = prep
        channels = []
        for sub in (x for x in s.subsections if x.kind == "channel"):
            channel = {}
            for name, key in (("Stain", "stain"), ("Target", "target")):
                value = sub.take_one(name)
                if value:
                    channel[key] = value
            bag = sub.rest()
            if bag:
                self.bags[f"{path}.signal_channels.{len(channels)}"] = bag
            channels.append(channel)
        if channels:
            record["signal_channels"] = channels
        description = s.take_one("Description")
        if description:
            record["description"] = description
        return record

    def _acquisition(self, s: Section, path: str) -> dict[str, Any]:
        record: dict[str, Any] = {}
        methods: list[dict[str, Any]] = []
        for attr in s.take_raw("Imaging method"):
            methods.append(self._method_text(attr, f"{path}.imaging_method.{len(methods)}"))
        for sub in (x for x in s.subsections if x.kind == "method"):
            methods.append(self._method_section(sub, f"{path}.imaging_method.{len(methods)}"))
        if methods:
            record["imaging_method"] = methods[0] if len(methods) == 1 else methods
        instrument = s.take_one("Imaging instrument", "Instrument")
        if instrument:
            record["instrument"] = instrument
        params = s.take_one("Image acquisition parameters", "Acquisition parameters")
        if params:
            record["parameters"] = params
        description = s.take_one("Description")
        if description:
            record["description"] = description
        return record

    def _method_text(self, attr: dict[str, Any], path: str) -> dict[str, Any]:
        method: dict[str, Any] = {"name": str(attr.get("value")).strip()}
        quals = _qualifiers(attr)
        rest = []
        for q in quals.get("valqual", []):
            fbbi = ontology.parse_fbbi_id(str(q.get("value")))
            if norm(q.get("name")) in ("termid", "term id") and fbbi:
                method["fbbi"] = fbbi
            elif norm(q.get("name")) == "ontology" and norm(q.get("value")) in FBBI_ONTOLOGY_NAMES:
                continue
            else:
                rest.append(q)
        kept = {k: v for k, v in quals.items() if k != "valqual"}
        if rest:
            kept["valqual"] = rest
        if kept:  # under the attribute name the export writes the method with
            self.bags.setdefault(path, {})["Ontology Value"] = kept
        self._infer_fbbi(method, path)
        return method

    def _method_section(self, s: Section, path: str) -> dict[str, Any]:
        name = s.take_one("Ontology Value", "Value", "Name")
        term = s.take_one("Ontology Term ID", "Term ID", "TermId")
        method: dict[str, Any] = {}
        if term and ontology.parse_fbbi_id(term):
            method["fbbi"] = ontology.parse_fbbi_id(term)
        elif term:
            self.bags.setdefault(path, {})["Ontology Term ID"] = term
        ontology_name = s.take_one("Ontology Name")
        if ontology_name and not (
            (norm(ontology_name) in FBBI_ONTOLOGY_NAMES and "fbbi" in method)
            or (name and norm(ontology_name) == norm(name))
        ):
            if name is None and norm(ontology_name) not in FBBI_ONTOLOGY_NAMES:
                name = ontology_name
            else:
                self.bags.setdefault(path, {})["Ontology Name"] = ontology_name
        method["name"] = (
            name
            or (ontology.fbbi_label(method.get("fbbi")) if method.get("fbbi") else None)
            or todo("name of the imaging method")
        )
        method = {"name": method["name"], **{k: v for k, v in method.items() if k != "name"}}
        bag = s.rest()
        if bag:
            self.bags.setdefault(path, {}).update(bag)
        return method  # an ontology section: no id means none was given, none is inferred

    def _infer_fbbi(self, method: dict[str, Any], path: str) -> None:
        if "fbbi" in method:
            return
        fbbi = ontology.fbbi_for_name(method["name"])
        if fbbi:
            method["fbbi"] = fbbi
            self.note(f"{path}: fbbi {fbbi} inferred from {method['name']!r} (offline FBbi list)")

    def _annotation(self, s: Section, path: str) -> dict[str, Any]:
        record: dict[str, Any] = {}
        for name, key in (
            ("Annotation type", "type"),
            ("Annotation method", "method"),
            ("Annotation overview", "description"),
        ):
            value = s.take_one(name)
            if value:
                record[key] = value
        lists = s.take("File List")
        if lists or s.files:
            self.pending_annotations.append((path.split(".", 1)[1], record, lists, s.files))
        return record

    def _analysis(self, s: Section, path: str) -> dict[str, Any]:
        record: dict[str, Any] = {}
        description = s.take_one("Image analysis overview", "Analysis overview", "Description")
        if description:
            record["description"] = description
        software = s.take("Analysis software", "Software")
        if software:
            record["software"] = software
        return record

    def _correlation(self, s: Section, path: str) -> dict[str, Any]:
        record: dict[str, Any] = {}
        description = s.take_one("Spatial and temporal alignment", "Description")
        if description:
            record["description"] = description
        transform = s.take_one("Transformation matrix", "Transform")
        if transform:
            record["transform"] = transform
        return record

    # -- datasets --

    def _new_dataset(
        self, title: str, description: str | None, given_id: str | None = None
    ) -> dict[str, Any]:
        """A dataset whose id is made from its title, unless the PageTab carries the id
        (export writes a 'Dataset ID' when the id is not the one the title would give)."""
        if given_id and DATASET_ID_RE.match(given_id) and given_id not in self.dataset_ids:
            self.dataset_ids.add(given_id)
        else:
            given_id = _unique(slug(title, "dataset", 64), self.dataset_ids)
        dataset: dict[str, Any] = {"id": given_id}
        dataset["title"] = title
        if description:
            dataset["description"] = description
        self.datasets.append(dataset)
        return dataset

    def _resolve(self, kind: str, value: str) -> str | None:
        return self.titles.get(kind, {}).get(norm(value))

    def _refer(self, dataset: dict[str, Any], kind: str, key: str) -> None:
        if kind == "correlation":
            members = self.records["correlation"][key].setdefault("datasets", [])
            if dataset["id"] not in members:
                members.append(dataset["id"])
            return
        field_name = REMBI[kind][1]
        assert field_name is not None
        refs = dataset.setdefault(field_name, [])
        if key not in refs:
            refs.append(key)

    def _component(self, s: Section) -> None:
        name = s.take_one("Name", "Title")
        dataset = self._new_dataset(
            name or s.accno or "Study component",
            s.take_one("Description"),
            s.take_one("Dataset ID"),
        )
        path = f"datasets.{dataset['id']}"
        if not name:
            dataset["title"] = todo("title of the dataset")
        for sub in s.subsections:
            if sub.kind == "associations":
                self._associations(sub, dataset, path)
            elif sub.kind in REMBI:
                key = self._rembi(sub, sub.kind, title=sub.accno or f"{dataset['id']} {sub.kind}")
                self._refer(dataset, sub.kind, key)
            else:
                self.unknown(path, sub)
        representative = s.take_one("Representative image")
        if representative:
            dataset["representative"] = representative
        self._files(dataset, s.take("File List"), s.files, path)
        self.keep(path, s)
        for link in s.links:
            self._link(link, path)

    def _associations(self, s: Section, dataset: dict[str, Any], path: str) -> None:
        for i, attr in enumerate(s.attributes):
            kind = ASSOCIATION_KINDS.get(norm(attr.get("name")))
            value = text_value(attr.get("value"))
            if kind is None or value is None:
                continue
            key = self._resolve(kind, value)
            if key is None:
                continue
            s.used.add(i)
            self._refer(dataset, kind, key)
        bag = s.rest()
        for name, item in bag.items():
            for one in item if isinstance(item, list) else [item]:
                _bag_add(self.bags.setdefault(path, {}), name, one)
                self.note(f"{path}: association {name} = {one!r} matches no section; kept in extra")

    def _study_organisms(self, study: Section) -> list[dict[str, Any]]:
        """Study-level Organism attributes (old layouts), when no Biosample section exists
        to hold them; otherwise they stay study attributes (kept in extra)."""
        old_layout = any(s.kind == "experiment" for s in study.subsections) or study.files
        if not old_layout and self.records["biosample"]:
            return []
        return [self._organism_text(a) for a in study.take_raw("Organism")]

    def _clean_organisms(self, organisms: list[dict[str, Any]], path: str) -> list[dict[str, Any]]:
        """Copies without the importer's '_bag' entries, which go to extra by position."""
        clean = []
        for i, org in enumerate(organisms):
            org = dict(org)
            bag = org.pop("_bag", None)
            if bag:
                self.bags.setdefault(f"{path}.organism.{i}", {}).update(bag)
            clean.append(org)
        return clean

    def _organism_biosample(self, organisms: list[dict[str, Any]]) -> str:
        names = ", ".join(o["scientific_name"] for o in organisms)
        key = _unique(slug(names, "biosample"), self.keys.setdefault("biosample", set()))
        clean = self._clean_organisms(organisms, f"biosamples.{key}")
        self._infer_taxa(clean, f"biosamples.{key}")
        record = {"organism": clean[0] if len(clean) == 1 else clean}
        self.records["biosample"][key] = record
        self.study.setdefault("biosamples", {})[key] = record
        self.titles.setdefault("biosample", {})[norm(key)] = key
        self.note(f"biosamples.{key}: made from the study's Organism attribute")
        return key

    def _experiment(self, s: Section, organisms: list[dict[str, Any]]) -> None:
        """The oldest BioImages layout: one 'Experiment' section per dataset."""
        dataset = self._new_dataset("Experiment", s.take_one("Description"))
        path = f"datasets.{dataset['id']}"
        entity = s.take_one("Sample type")
        if organisms or entity:
            key = _unique(dataset["id"], self.keys.setdefault("biosample", set()))
            record: dict[str, Any] = {}
            if organisms:
                clean = self._clean_organisms(organisms, f"biosamples.{key}")
                self._infer_taxa(clean, f"biosamples.{key}")
                record["organism"] = clean[0] if len(clean) == 1 else clean
            if entity:
                record["biological_entity"] = entity
            self.records["biosample"][key] = record
            self.study.setdefault("biosamples", {})[key] = record
            self.titles.setdefault("biosample", {})[norm(key)] = key
            dataset["biosample"] = [key]
        method_attrs = s.take_raw("Imaging method")
        if method_attrs:
            key = _unique(dataset["id"], self.keys.setdefault("acquisition", set()))
            apath = f"image_acquisitions.{key}"
            methods = [
                self._method_text(a, f"{apath}.imaging_method.{i}")
                for i, a in enumerate(method_attrs)
            ]
            record = {"imaging_method": methods[0] if len(methods) == 1 else methods}
            self.records["acquisition"][key] = record
            self.study.setdefault("image_acquisitions", {})[key] = record
            self.titles.setdefault("acquisition", {})[norm(key)] = key
            dataset["image_acquisition"] = [key]
        self._files(dataset, s.take("File List"), s.files, path)
        self.keep(path, s)
        for sub in s.subsections:
            self.unknown(path, sub)

    def _dataset_from(self, s: Section, title: str) -> None:
        dataset = self._new_dataset(title, s.take_one("Description"))
        path = f"datasets.{dataset['id']}"
        self._files(dataset, s.take("File List"), s.files, path)
        self.keep(path, s)
        for sub in s.subsections:
            self.unknown(path, sub)

    def _annotation_datasets(self) -> None:
        """Annotations with their own files become datasets that refer to them."""
        for key, record, lists, files in self.pending_annotations:
            title = self.bags.get(f"annotations.{key}", {}).get("Title") or key
            dataset = self._new_dataset(str(title), record.get("description"))
            dataset["annotation"] = [key]
            self._files(dataset, lists, files, f"datasets.{dataset['id']}")

    def _study_files(self, study: Section, organisms: list[dict[str, Any]]) -> None:
        dataset = self._new_dataset("Files", None)
        if organisms:
            dataset["biosample"] = [self._organism_biosample(organisms)]
        self._files(dataset, [], study.files, f"datasets.{dataset['id']}")

    def _children(self, s: Section, path: str, skip: set[str] | None = None) -> None:
        for sub in s.subsections:
            if sub.kind not in (skip or set()):
                self.unknown(path, sub)
        for link in s.links:
            self._link(link, path)

    # -- files --

    def _files(
        self, dataset: dict[str, Any], lists: list[str], inline: list[dict[str, Any]], path: str
    ) -> None:
        entries = list(inline)
        for name in lists:
            self.extra.setdefault("file_lists", {})[dataset["id"]] = name
            found = self._find_file_list(name)
            if found is None:
                self.missing.append(
                    f"{path}: file list {name!r} not given (add --files {Path(name).name}); "
                    "the dataset has no manifest yet"
                )
                continue
            data = read_json(found, "E092") if found.suffix != ".tsv" else _read_tsv_list(found)
            if not isinstance(data, list):
                raise PageTabError(f"{found}:1: E092 a file list is a JSON list of files")
            entries += [e for e in data if isinstance(e, dict)]
        if not entries and not (lists and any(self._find_file_list(n) for n in lists)):
            return
        columns, rows = file_list_rows(entries)
        cleaned = 0
        table: list[list[str]] = []
        for row in rows:
            cells = []
            for name in ["path", "size", *columns]:
                value = row.get(name)
                if name == "size":
                    value = str(value) if isinstance(value, int) else text_value(value) or ""
                cell, changed = _cell(value)
                cleaned += changed
                cells.append(cell)
            cells.insert(2, "")
            table.append(cells)
            if row["type"] != "file":
                types = self.extra.setdefault("file_types", {}).setdefault(dataset["id"], {})
                types[row["path"]] = row["type"]
        if cleaned:
            self.note(f"{path}: {cleaned} cells had tabs or line breaks, written as spaces")
        bad = [r[0] for r in table if path_problem(r[0])]
        if bad:
            self.note(f"{path}: {len(bad)} file paths are unsafe (first: {bad[0]!r}); fix them")
        dataset["files"] = f"{dataset['id']}.files.tsv"
        manifest_columns = ["path", "size", "sha256"]
        for c in columns:
            if c == "sha256" and "sha256" in manifest_columns:
                continue
            manifest_columns.append(c)
        if "sha256" in columns:
            idx = 3 + columns.index("sha256")
            for cells in table:
                cells[2] = cells.pop(idx)
        self.manifests.append(
            Manifest(dataset["id"], manifest_columns, table, ", ".join(lists) or "inline files")
        )

    def _find_file_list(self, name: str) -> Path | None:
        """A file list named in the PageTab: given with --files (matched by file name, with
        or without extension) or found beside the submission JSON."""
        base = Path(name).name
        stem = base.rsplit(".", 1)[0] if "." in base else base
        for candidate in (base, stem):
            if candidate in self.file_lists:
                self.used_lists.add(self.file_lists[candidate])
                return self.file_lists[candidate]
        if path_problem(name) is None:
            for candidate in (
                self.source.parent / name,
                *(self.source.parent / f"{name}{ext}" for ext in (".json", ".tsv")),
            ):
                if candidate.is_file():
                    return candidate
        return None

    # -- result --

    def _result(self, accession: str) -> Imported:
        self.study["datasets"] = self.datasets
        if "authors" not in self.study:
            self.study["authors"] = [{"name": todo("name of at least one author")}]
        bags = {k: v for k, v in self.bags.items() if v}
        if bags:
            self.extra["attributes"] = bags
        if self.links:
            self.extra["links"] = self.links
        if self.sections:
            self.extra["sections"] = self.sections
        extra: dict[str, Any] = dict(self.study_extra)
        if self.extra:
            extra["pagetab"] = _ordered_extra(self.extra)
        if extra:
            self.study["extra"] = extra
        study = _ordered_study(self.study)
        kept = []
        titles = 0
        for path, bag in bags.items():
            names = [n for n in bag if n != "Title"]
            titles += "Title" in bag
            if names:
                kept.append(f"extra.pagetab.attributes.{path}: {', '.join(names)}")
        if titles:
            kept.append(
                f"extra.pagetab.attributes: the Title of {titles} sections "
                "(their keys are made from it)"
            )
        kept += [f"extra.pagetab.links.{p}: {len(v)} link(s)" for p, v in self.links.items()]
        kept += [
            f"extra.pagetab.sections: a '{s['section'].get('type')}' section in {s['in']}"
            for s in self.sections
        ]
        if "fields" in self.extra:
            kept.append(f"extra.pagetab.fields: {', '.join(self.extra['fields'])}")
        for path in sorted(set(self.file_lists.values()) - self.used_lists):
            # a mistyped or foreign file list must not vanish silently
            self.missing.append(
                f"{path}: given with --files, but no study component of the submission "
                "names this file list; it was not imported"
            )
        return Imported(accession, study, self.manifests, kept, self.notes, self.missing)


STUDY_ORDER = [
    "format",
    "accession",
    "title",
    "release_date",
    "license",
    "collection",
    "keywords",
    "description",
    "authors",
    "affiliations",
    "funding",
    "publications",
    "links",
    "biosamples",
    "specimens",
    "image_acquisitions",
    "annotations",
    "analyses",
    "correlations",
    "datasets",
    "withdrawn",
    "extra",
]
EXTRA_ORDER = ("fields", "attributes", "file_lists", "file_types", "links", "sections")


def _ordered_study(study: dict[str, Any]) -> dict[str, Any]:
    out = {k: study[k] for k in STUDY_ORDER if k in study}
    for dataset in out.get("datasets", []):
        for key in ("biosample", "specimen", "image_acquisition", "annotation", "analysis"):
            if key in dataset and len(dataset[key]) == 1:
                dataset[key] = dataset[key][0]
        order = "id title description biosample specimen image_acquisition annotation analysis"
        keys = [*order.split(), "files", "representative"]
        dataset_items = {k: dataset[k] for k in keys if k in dataset}
        dataset.clear()
        dataset.update(dataset_items)
    return out


def _ordered_extra(extra: dict[str, Any]) -> dict[str, Any]:
    return {k: extra[k] for k in EXTRA_ORDER if k in extra}


# --- entry points --------------------------------------------------------------------------


def import_pagetab(
    study_json: Path, file_lists: list[Path], accession: str | None = None
) -> Imported:
    """Convert one PageTab submission (and its file lists) into content-format data."""
    data = read_json(study_json)
    lists: dict[str, Path] = {}
    for path in file_lists:
        if not path.is_file():
            raise PageTabError(f"{path}: E040 file list not found")
        lists[path.name] = path
        lists[path.stem] = path
    return Importer(study_json, lists, accession).run(data)


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump_yaml(data: Any) -> str:
    return yaml.dump(
        data,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        width=100,
        default_flow_style=False,
    )


def write_imported(imported: Imported, folder: Path) -> list[Path]:
    """Write study.yaml and the manifests into ``folder`` (created)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = [folder / "study.yaml"]
    written[0].write_text(dump_yaml(imported.study), encoding="utf-8")
    for manifest in imported.manifests:
        path = folder / f"{manifest.dataset}.files.tsv"
        lines = ["\t".join(manifest.columns)] + ["\t".join(r) for r in manifest.rows]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        written.append(path)
    return written
