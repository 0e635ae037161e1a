"""PageTab import, REMBI sections: biosamples, specimens, acquisitions, annotations,
analyses and correlations, each a keyed record of the study.

They are read before the datasets, which refer to them by key (made from the section's
title) or by the loose title or accno the submission's associations use. Organisms and
imaging methods given as free text get their NCBI Taxonomy and FBbi ids inferred from the
offline lists, and each inference is reported.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from catalogue import ontology
from catalogue.pagetab.conversion import Conversion
from catalogue.pagetab.people import keep_children
from catalogue.pagetab.vocabulary import (
    FBBI_ONTOLOGY_NAMES,
    REMBI,
    Section,
    _qualifiers,
    _unique,
    norm,
    slug,
)
from catalogue.placeholders import todo


def add_rembi(conv: Conversion, s: Section, kind: str, title: str | None = None) -> str:
    """Map one REMBI section to a record of the study and return its key; ``title`` names
    it when the section has no Title of its own (one nested in a study component)."""
    section_name, _ = REMBI[kind]
    taken = conv.keys.setdefault(kind, set())
    given = s.take_one("Title")
    label = given or title or s.accno or kind
    key = _unique(slug(label, kind), taken, 200)
    path = f"{section_name}.{key}"
    if given and given != key:
        conv.bags.setdefault(path, {})["Title"] = given
    lookup = conv.titles.setdefault(kind, {})
    for alias in (given, s.accno, key):
        if alias:
            lookup.setdefault(norm(alias), key)
    record = _RECORDS[kind](conv, s, path)
    conv.records[kind][key] = record
    conv.study.setdefault(section_name, {})[key] = record
    conv.keep(path, s)
    keep_children(conv, s, path, skip={"organism", "method", "channel"})
    return key


def _biosample(conv: Conversion, s: Section, path: str) -> dict[str, Any]:
    record: dict[str, Any] = {}
    organisms = [organism_text(a) for a in s.take_raw("Organism")]
    flat = len(organisms)  # free text ("Homo sapiens (human)"): ids may be inferred
    for sub in (x for x in s.subsections if x.kind == "organism"):
        organisms.append(_organism_section(conv, sub, f"{path}.organism.{len(organisms)}"))
    organisms = clean_organisms(conv, organisms, path)
    if organisms:
        record["organism"] = organisms[0] if len(organisms) == 1 else organisms
        infer_taxa(conv, organisms[:flat], path)
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


def organism_text(attr: dict[str, Any]) -> dict[str, Any]:
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


def _organism_section(conv: Conversion, s: Section, path: str) -> dict[str, Any]:
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
            conv.bags.setdefault(path, {})["NCBI taxon ID"] = taxon
            conv.note(f"{path}: NCBI taxon ID {taxon!r} not understood; kept in extra")
    bag = s.rest()
    if bag:
        org["_bag"] = bag
    return org


def infer_taxa(conv: Conversion, organisms: list[dict[str, Any]], path: str) -> None:
    for i, org in enumerate(organisms):
        if "ncbi_taxon" not in org:
            number = ontology.taxon_for_name(org["scientific_name"])
            if number:
                org["ncbi_taxon"] = number
                conv.note(
                    f"{path}.organism.{i}: ncbi_taxon {number} inferred from "
                    f"{org['scientific_name']!r} (offline NCBI Taxonomy list)"
                )


def clean_organisms(
    conv: Conversion, organisms: list[dict[str, Any]], path: str
) -> list[dict[str, Any]]:
    """Copies without the importer's '_bag' entries, which go to extra by position."""
    clean = []
    for i, org in enumerate(organisms):
        org = dict(org)
        bag = org.pop("_bag", None)
        if bag:
            conv.bags.setdefault(f"{path}.organism.{i}", {}).update(bag)
        label = ontology.organism_label(org.get("ncbi_taxon"))
        name = str(org.get("scientific_name", ""))
        if label and name != label and name.lower() == label.lower():
            # 'Homo Sapiens': one spelling across pages, facets and search
            org["scientific_name"] = label
            conv.note(f"{path}.organism.{i}: {name!r} written as {label!r}")
        clean.append(org)
    return clean


def _specimen(conv: Conversion, s: Section, path: str) -> dict[str, Any]:
    record: dict[str, Any] = {}
    prep = s.take_one("Sample preparation protocol", "Sample preparation")
    if prep:
        record["preparation"] = prep
    channels: list[dict[str, Any]] = []
    for sub in (x for x in s.subsections if x.kind == "channel"):
        channel = {}
        for name, key in (("Stain", "stain"), ("Target", "target")):
            value = sub.take_one(name)
            if value:
                channel[key] = value
        bag = sub.rest()
        if bag:
            conv.bags[f"{path}.signal_channels.{len(channels)}"] = bag
        channels.append(channel)
    if channels:
        record["signal_channels"] = channels
    description = s.take_one("Description")
    if description:
        record["description"] = description
    return record


def _acquisition(conv: Conversion, s: Section, path: str) -> dict[str, Any]:
    record: dict[str, Any] = {}
    methods: list[dict[str, Any]] = []
    for attr in s.take_raw("Imaging method"):
        methods.append(method_text(conv, attr, f"{path}.imaging_method.{len(methods)}"))
    for sub in (x for x in s.subsections if x.kind == "method"):
        methods.append(_method_section(conv, sub, f"{path}.imaging_method.{len(methods)}"))
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


def method_text(conv: Conversion, attr: dict[str, Any], path: str) -> dict[str, Any]:
    """An 'Imaging method' attribute, optionally qualified with an FBbi TermId."""
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
        conv.bags.setdefault(path, {})["Ontology Value"] = kept
    _infer_fbbi(conv, method, path)
    return method


def _method_section(conv: Conversion, s: Section, path: str) -> dict[str, Any]:
    name = s.take_one("Ontology Value", "Value", "Name")
    term = s.take_one("Ontology Term ID", "Term ID", "TermId")
    method: dict[str, Any] = {}
    if term and ontology.parse_fbbi_id(term):
        method["fbbi"] = ontology.parse_fbbi_id(term)
    elif term:
        conv.bags.setdefault(path, {})["Ontology Term ID"] = term
    ontology_name = s.take_one("Ontology Name")
    if ontology_name and not (
        (norm(ontology_name) in FBBI_ONTOLOGY_NAMES and "fbbi" in method)
        or (name and norm(ontology_name) == norm(name))
    ):
        if name is None and norm(ontology_name) not in FBBI_ONTOLOGY_NAMES:
            name = ontology_name
        else:
            conv.bags.setdefault(path, {})["Ontology Name"] = ontology_name
    method["name"] = (
        name
        or (ontology.fbbi_label(method.get("fbbi")) if method.get("fbbi") else None)
        or todo("name of the imaging method")
    )
    method = {"name": method["name"], **{k: v for k, v in method.items() if k != "name"}}
    bag = s.rest()
    if bag:
        conv.bags.setdefault(path, {}).update(bag)
    return method  # an ontology section: no id means none was given, none is inferred


def _infer_fbbi(conv: Conversion, method: dict[str, Any], path: str) -> None:
    if "fbbi" in method:
        return
    fbbi = ontology.fbbi_for_name(method["name"])
    if fbbi:
        method["fbbi"] = fbbi
        conv.note(f"{path}: fbbi {fbbi} inferred from {method['name']!r} (offline FBbi list)")


def _annotation(conv: Conversion, s: Section, path: str) -> dict[str, Any]:
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
        conv.pending_annotations.append((path.split(".", 1)[1], record, lists, s.files))
    return record


def _analysis(conv: Conversion, s: Section, path: str) -> dict[str, Any]:
    record: dict[str, Any] = {}
    description = s.take_one("Image analysis overview", "Analysis overview", "Description")
    if description:
        record["description"] = description
    software = s.take("Analysis software", "Software")
    if software:
        record["software"] = software
    return record


def _correlation(conv: Conversion, s: Section, path: str) -> dict[str, Any]:
    record: dict[str, Any] = {}
    description = s.take_one("Spatial and temporal alignment", "Description")
    if description:
        record["description"] = description
    transform = s.take_one("Transformation matrix", "Transform")
    if transform:
        record["transform"] = transform
    return record


# the record each REMBI kind makes: (conversion, section, record path) -> record
_RECORDS: dict[str, Callable[[Conversion, Section, str], dict[str, Any]]] = {
    "biosample": _biosample,
    "specimen": _specimen,
    "acquisition": _acquisition,
    "annotation": _annotation,
    "analysis": _analysis,
    "correlation": _correlation,
}
