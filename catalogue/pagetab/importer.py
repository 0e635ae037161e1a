"""The PageTab importer: one submission (and its file lists) into content-format data.

The vocabulary it matches (section kinds, attribute aliases, licences, links) lives in
pagetab.py, shared with the exporter; the layout of ``extra.pagetab`` is described
there too.

This module holds the entry points and the order of the conversion; the stages it runs
write into one ``Conversion`` (conversion) and live beside it, along the
pipeline: people (authors, affiliations, funding, publications, links),
sections (REMBI sections), datasets (study components and older layouts)
and files (file lists and inline files into manifests).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from catalogue.identifiers import ACCESSION_RE, normalise_doi
from catalogue.pagetab.conversion import Conversion, Manifest
from catalogue.pagetab.datasets import (
    add_annotation_datasets,
    add_component,
    add_dataset_from,
    add_experiment,
    add_study_files,
    organism_biosample,
    study_organisms,
)
from catalogue.pagetab.people import (
    add_author,
    add_funding,
    add_link,
    add_organization,
    add_publication,
)
from catalogue.pagetab.sections import add_rembi
from catalogue.pagetab.shape import check_shape
from catalogue.pagetab.vocabulary import (
    REMBI,
    STRUCTURAL_SUBMISSION_KEYS,
    PageTabError,
    Section,
    _bag_add,
    _date,
    _qualifiers,
    license_from_url,
    license_url,
    norm,
    normalise_license,
    read_json,
    text_value,
)
from catalogue.placeholders import todo

__all__ = ["Imported", "Importer", "Manifest", "dump_yaml", "import_pagetab", "write_imported"]


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
    """One conversion: runs the stages in order, then makes the study and the report."""

    def __init__(self, source: Path, file_lists: dict[str, Path], accession: str | None):
        self.conv = Conversion(source, file_lists)
        self.accession_override = accession

    # -- entry --

    def run(self, data: Any) -> Imported:
        conv = self.conv
        if isinstance(data, list) and len(data) == 1 and isinstance(data[0], dict):
            data = data[0]
        if not isinstance(data, dict) or not isinstance(data.get("section"), dict):
            raise PageTabError(
                f"{conv.source}:1: E091 not a PageTab submission (no 'section' object at the top)"
            )
        check_shape(data, conv.source, "E091")
        top = Section(data, "submission")
        study = Section(data["section"], "study")
        accession = self.accession_override or text_value(data.get("accno"))
        if not accession or not ACCESSION_RE.match(accession):
            raise PageTabError(
                f"{conv.source}:1: E091 accno {accession!r} is not an accession of the form "
                "S-ABCD123; give one with --accession"
            )
        fields = {k: v for k, v in data.items() if k not in STRUCTURAL_SUBMISSION_KEYS}
        if data.get("type") not in (None, "submission"):
            fields["type"] = data["type"]
        conv.study["format"] = 1
        conv.study["accession"] = accession
        self._study_fields(top, study)
        self._provenance(top, text_value(data.get("accno")))
        self._sections(study)
        if fields:
            conv.extra["fields"] = fields
        conv.keep("submission", top)
        conv.keep("study", study)
        return self._result(accession)

    # -- study level --

    def _study_fields(self, top: Section, study: Section) -> None:
        conv = self.conv
        title_top = top.take_one("Title")
        title = study.take_one("Title") or title_top
        if title_top and title_top != title:
            conv.bags.setdefault("submission", {})["Title"] = title_top
        conv.study["title"] = title or todo("title of the study")
        released = top.take_one("ReleaseDate", "Release date")
        section_date = study.take_one("ReleaseDate", "Release date")
        if released is None:
            released = section_date
        elif section_date is not None and section_date[:10] != released[:10]:
            conv.bags.setdefault("study", {})["Release date"] = section_date
        date = _date(released)
        if released and date is None:
            conv.bags.setdefault("study", {})["ReleaseDate"] = released
        conv.study["release_date"] = date or todo("YYYY-MM-DD: no release date in the PageTab")
        self._license(study)
        collection = top.take_one("Collection")
        conv.study["collection"] = collection or "direct"
        if (top.take_one("AI ready") or "").strip().lower() in ("true", "yes"):
            conv.study["ai_ready"] = True
        keywords = study.take("Keyword", "Keywords")
        if keywords:
            conv.study["keywords"] = keywords
        description = study.take_one("Description", "Abstract")
        conv.study["description"] = description or todo("description of the study (markdown)")
        withdrawn = study.take_one("Withdrawn")
        if withdrawn and _date(withdrawn):
            conv.study["withdrawn"] = {
                "date": _date(withdrawn),
                "reason": study.take_one("Withdrawal reason") or todo("reason of the withdrawal"),
            }
        extra_json = top.take_one("Catalogue extra")
        if extra_json:
            try:
                loaded = json.loads(extra_json)
                if isinstance(loaded, dict):
                    conv.study_extra = loaded
            except json.JSONDecodeError:
                conv.bags.setdefault("submission", {})["Catalogue extra"] = extra_json

    def _provenance(self, top: Section, accno: str | None) -> None:
        """The study's own DOI and the record it came from (its BioStudies page)."""
        conv = self.conv
        doi = top.take_one("DOI")
        if doi:
            normal = normalise_doi(doi)
            if normal:
                conv.study["doi"] = normal
            else:
                conv.bags.setdefault("submission", {})["DOI"] = doi
                conv.note(f"doi: {doi[:60]!r} is not a DOI; kept in extra")
        written = top.take_one("Catalogue source")  # an export of an index record
        if written:
            from catalogue.pagetab.datasets import _json_attr

            source = _json_attr(written)
            if source is not None:
                conv.study["source"] = source
                return
            conv.bags.setdefault("submission", {})["Catalogue source"] = written
        attach = [
            norm(text_value(a.get("value")))
            for a in top.attributes
            if norm(a.get("name")) == "attachto"
        ]
        # only records that BioStudies holds name the collection they are attached to;
        # an export of a hand-written study does not, and gets no source
        if accno and ACCESSION_RE.match(accno) and attach:
            if "bioimages" in attach:
                name, url = (
                    "BioImage Archive",
                    "https://www.ebi.ac.uk/biostudies/bioimages/studies/",
                )
            else:
                name, url = "BioStudies", "https://www.ebi.ac.uk/biostudies/studies/"
            conv.study["source"] = {"name": name, "url": url + accno, "id": accno}

    def _license(self, study: Section) -> None:
        conv = self.conv
        attrs = study.take_raw("License")
        if not attrs:
            # left out: the site's default_license applies (with a warning naming the
            # study); the command writes a placeholder when the site has none
            conv.note("license: none in the record; the site's default_license applies")
            return
        attr = attrs[0]
        for other in attrs[1:]:
            _bag_add(conv.bags.setdefault("study", {}), "License", other.get("value"))
        raw = str(attr.get("value")).strip()
        quals = _qualifiers(attr)
        urls = [q.get("value") for q in quals.get("valqual", []) if norm(q.get("name")) == "url"]
        spdx = normalise_license(raw) or next((license_from_url(str(u)) for u in urls), None)
        if spdx is None:
            conv.study["license"] = todo(f"licence {raw!r} is not an SPDX id; write its SPDX id")
            _bag_add(conv.bags.setdefault("study", {}), "License", {"value": raw, **quals})
            return
        if spdx != raw:
            conv.note(f"license: {raw!r} written as the SPDX id {spdx}")
        conv.study["license"] = spdx
        if quals and quals != {"valqual": [{"name": "URL", "value": license_url(spdx)}]}:
            _bag_add(conv.bags.setdefault("study", {}), "License", quals)

    # -- sections, in pipeline order --

    def _sections(self, study: Section) -> None:
        conv = self.conv
        subs = study.subsections
        for s in subs:  # people and papers first: their order is the study's
            kind = s.kind
            if kind == "author":
                add_author(conv, s)
            elif kind == "organization":
                add_organization(conv, s)
            elif kind == "publication":
                add_publication(conv, s)
            elif kind == "funding":
                add_funding(conv, s)
        for s in subs:  # REMBI sections before the datasets that refer to them
            if s.kind in REMBI:
                add_rembi(conv, s, s.kind)
        organisms = study_organisms(conv, study)
        for s in subs:  # datasets in document order
            if s.kind == "component":
                add_component(conv, s)
            elif s.kind == "experiment":
                add_experiment(conv, s, organisms)
            elif s.kind == "supplementary":
                add_dataset_from(conv, s, "Supplementary Data")
        add_annotation_datasets(conv)
        if study.files:
            add_study_files(conv, study, organisms)
        elif organisms and not any(s.kind == "experiment" for s in subs):
            organism_biosample(conv, organisms)
        for s in subs:
            if s.kind is None or s.kind in ("organism", "method", "associations", "channel"):
                conv.unknown("study", s)
        for link in study.links:
            add_link(conv, link, "study")

    # -- result --

    def _result(self, accession: str) -> Imported:
        conv = self.conv
        conv.study["datasets"] = conv.datasets
        source = conv.study.get("source")
        named = conv.extra.get("file_lists") or {}
        for ds in conv.datasets:
            if source and "files" not in ds and ds["id"] in named and "remote_files" not in ds:
                # the file list is at the source only: say where the files are
                ds["remote_files"] = {"url": source["url"], "where": source["name"]}
        if "authors" not in conv.study:
            conv.study["authors"] = [{"name": todo("name of at least one author")}]
        bags = {k: v for k, v in conv.bags.items() if v}
        if bags:
            conv.extra["attributes"] = bags
        if conv.links:
            conv.extra["links"] = conv.links
        if conv.sections:
            conv.extra["sections"] = conv.sections
        extra: dict[str, Any] = dict(conv.study_extra)
        if conv.extra:
            extra["pagetab"] = _ordered_extra(conv.extra)
        if extra:
            conv.study["extra"] = extra
        study = _ordered_study(conv.study)
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
        kept += [f"extra.pagetab.links.{p}: {len(v)} link(s)" for p, v in conv.links.items()]
        kept += [
            f"extra.pagetab.sections: a '{s['section'].get('type')}' section in {s['in']}"
            for s in conv.sections
        ]
        if "fields" in conv.extra:
            kept.append(f"extra.pagetab.fields: {', '.join(conv.extra['fields'])}")
        for unused in sorted(set(conv.file_lists.values()) - conv.used_lists):
            # a mistyped or foreign file list must not vanish silently
            conv.missing.append(
                f"{unused}: given with --files, but no study component of the submission "
                "names this file list; it was not imported"
            )
        return Imported(accession, study, conv.manifests, kept, conv.notes, conv.missing)


STUDY_ORDER = [
    "format",
    "accession",
    "title",
    "doi",
    "release_date",
    "license",
    "collection",
    "ai_ready",
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
    "source",
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
        keys = [*order.split(), "files", "representative", "remote_files"]
        dataset_items = {k: dataset[k] for k in keys if k in dataset}
        dataset.clear()
        dataset.update(dataset_items)
    return out


def with_license_placeholder(study: dict[str, Any]) -> dict[str, Any]:
    """The study with a licence placeholder, for a site without ``default_license``."""
    study = dict(study)
    study["license"] = todo(
        "no licence in the record; choose an SPDX id of site.yaml (or set default_license)"
    )
    return _ordered_study(study)


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
