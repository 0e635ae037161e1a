"""Export of a study to PageTab (BioStudies submission JSON), the inverse of pagetab.py.

The shape is that of BioImage Archive REMBI submissions (template v4 sections, organisms
and imaging methods as ontology subsections, study components with associations), so
BioStudies-compatible tools can read it. Everything the importer kept in
``extra.pagetab`` goes back where it came from, and import → export → import gives an
equal study: that is the contract the tests hold this module to.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from catalogue.pagetab.vocabulary import (
    EXPORT_FBBI_ONTOLOGY_NAME,
    REMBI,
    _unique,
    license_url,
    link_url_for,
    norm,
    slug,
)
from catalogue.placeholders import is_placeholder
from catalogue.readers.manifest import iter_rows, path_problem

SECTION_TYPES = {
    "biosample": "Biosample",
    "specimen": "Specimen",
    "acquisition": "Image acquisition",
    "annotation": "Annotations",
    "analysis": "Image analysis",
    "correlation": "Image correlation",
}
ASSOCIATION_NAMES = {
    "biosample": "Biosample",
    "specimen": "Specimen",
    "acquisition": "Image acquisition",
    "annotation": "Annotation",
    "analysis": "Image analysis",
    "correlation": "Image correlation",
}


def _spelled(author: dict[str, Any]) -> str | None:
    """ "Given Family" of an author written with name parts only."""
    parts = [author.get("given_name"), author.get("family_name")]
    return " ".join(str(p) for p in parts if p) or None


def _attr(name: str, value: Any, **extra: Any) -> dict[str, Any]:
    return {"name": name, "value": value, **extra}


@dataclass
class Exported:
    submission: dict[str, Any]
    file_lists: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # name -> files
    warnings: list[str] = field(default_factory=list)


class Exporter:
    def __init__(self, study: dict[str, Any], folder: Path, inline_files: bool):
        self.study = study
        self.folder = folder
        self.inline = inline_files
        pagetab = (study.get("extra") or {}).get("pagetab") or {}
        self.pagetab = pagetab if isinstance(pagetab, dict) else {}
        self.bags: dict[str, dict[str, Any]] = dict(self.pagetab.get("attributes") or {})
        self.used: set[str] = set()
        self.out = Exported({})

    def attrs(self, path: str, mapped: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Mapped attributes followed by those kept in extra for ``path``; qualifiers kept
        for a mapped attribute are put back on it."""
        bag = self.bags.get(path) or {}
        self.used.add(path)
        # placeholders are not data: a re-import writes the same "TODO: …" again
        out = [a for a in mapped if a.get("value") is not None and not is_placeholder(a["value"])]
        for name, item in bag.items():
            for one in item if isinstance(item, list) else [item]:
                if isinstance(one, dict) and "value" not in one:
                    target = next(
                        (a for a in out if norm(a["name"]) == norm(name) and "_q" not in a), None
                    )
                    if target is not None:
                        target.update(one)
                        target["_q"] = True
                        continue
                    out.append({"name": name, **one})
                elif isinstance(one, dict):
                    out.append({"name": name, **one})
                else:
                    out.append(_attr(name, one))
        for a in out:
            a.pop("_q", None)
        return out

    def extras_for(self, path: str, section: dict[str, Any]) -> dict[str, Any]:
        """Links and unknown subsections the importer kept for ``path``."""
        links = (self.pagetab.get("links") or {}).get(path)
        if links:
            section.setdefault("links", []).extend(links)
        for entry in self.pagetab.get("sections") or []:
            if isinstance(entry, dict) and entry.get("in") == path:
                section.setdefault("subsections", []).append(entry.get("section"))
        return section

    def title(self, path: str, key: str) -> list[dict[str, Any]]:
        """A Title attribute unless the importer kept the original one in extra."""
        return [] if "Title" in (self.bags.get(path) or {}) else [_attr("Title", key)]

    # -- whole submission --

    def run(self, accession: str) -> Exported:
        s = self.study
        top = [_attr("Title", s.get("title")), _attr("ReleaseDate", str(s.get("release_date")))]
        if s.get("doi"):
            top.append(_attr("DOI", s["doi"]))
        if s.get("source"):  # where an EMPIAR or IDR index record came from
            text = json.dumps(s["source"], sort_keys=True, ensure_ascii=False)
            top.append(_attr("Catalogue source", text))
        if s.get("collection", "direct") != "direct":
            top.append(_attr("Collection", s["collection"]))
        if s.get("ai_ready"):
            top.append(_attr("AI ready", "true"))
        own_extra = {k: v for k, v in (s.get("extra") or {}).items() if k != "pagetab"}
        if own_extra:
            text = json.dumps(own_extra, sort_keys=True, ensure_ascii=False, default=str)
            top.append(_attr("Catalogue extra", text))
        submission: dict[str, Any] = {
            "accno": accession,
            "attributes": self.attrs("submission", top),
        }
        submission.update(self.pagetab.get("fields") or {})
        submission["section"] = self.study_section()
        submission.setdefault("type", "submission")
        unused = sorted(set(self.bags) - self.used)
        for path in unused:
            self.out.warnings.append(
                f"extra.pagetab.attributes.{path} names no record of the study; not exported"
            )
        self.out.submission = submission
        return self.out

    def study_section(self) -> dict[str, Any]:
        s = self.study
        mapped = [_attr("Title", s.get("title")), _attr("Description", s.get("description"))]
        license_id = s.get("license")
        if license_id:
            url = license_url(str(license_id))
            quals = {"valqual": [{"name": "URL", "value": url}]} if url else {}
            mapped.append(_attr("License", license_id, **quals))
        mapped += [_attr("Keyword", k) for k in s.get("keywords") or []]
        withdrawn = s.get("withdrawn")
        if isinstance(withdrawn, dict):
            mapped.append(_attr("Withdrawn", str(withdrawn.get("date"))))
            mapped.append(_attr("Withdrawal reason", withdrawn.get("reason")))
        section: dict[str, Any] = {"type": "Study", "attributes": self.attrs("study", mapped)}
        links = [self.link(i, link) for i, link in enumerate(s.get("links") or [])]
        if links:
            section["links"] = links
        subs: list[dict[str, Any]] = []
        subs += [self.author(i, a) for i, a in enumerate(s.get("authors") or [])]
        subs += [self.organisation(k, a) for k, a in (s.get("affiliations") or {}).items()]
        subs += [self.publication(i, p) for i, p in enumerate(s.get("publications") or [])]
        subs += [self.funding(i, f) for i, f in enumerate(s.get("funding") or [])]
        for kind, (section_name, _) in REMBI.items():
            for n, (key, record) in enumerate((s.get(section_name) or {}).items(), start=1):
                subs.append(self.rembi(kind, key, record or {}, n))
        subs += [self.component(i, d) for i, d in enumerate(s.get("datasets") or [])]
        section["subsections"] = subs
        for entry in self.pagetab.get("sections") or []:
            if isinstance(entry, dict) and entry.get("in") == "study":
                kept = entry.get("section")
                if isinstance(kept, dict):
                    subs.append(kept)
        if (self.pagetab.get("links") or {}).get("study"):
            section.setdefault("links", []).extend(self.pagetab["links"]["study"])
        return section

    # -- people and papers --

    def author(self, i: int, a: dict[str, Any]) -> dict[str, Any]:
        path = f"authors.{i}"
        mapped = [
            _attr("Name", a.get("name") or _spelled(a)),
            _attr("E-mail", a.get("email")),
            _attr("ORCID", a.get("orcid")),
            _attr("Role", ", ".join(a.get("roles") or []) or None),
        ]
        mapped += [_attr("affiliation", k, reference=True) for k in a.get("affiliations") or []]
        return self.extras_for(path, {"type": "author", "attributes": self.attrs(path, mapped)})

    def organisation(self, key: str, a: dict[str, Any]) -> dict[str, Any]:
        path = f"affiliations.{key}"
        mapped = [
            _attr("Name", a.get("name")),
            _attr("Address", a.get("address")),
            _attr("RORID", a.get("ror")),
        ]
        section = {"type": "organisation", "accno": key, "attributes": self.attrs(path, mapped)}
        return self.extras_for(path, section)

    def publication(self, i: int, p: dict[str, Any]) -> dict[str, Any]:
        path = f"publications.{i}"
        mapped = [
            _attr("Title", p.get("title")),
            _attr("Authors", p.get("authors")),
            _attr("Year", None if p.get("year") is None else str(p["year"])),
            _attr("DOI", p.get("doi")),
            _attr("Pubmed ID", None if p.get("pmid") is None else str(p["pmid"])),
            _attr("URL", p.get("url")),
        ]
        return self.extras_for(
            path, {"type": "Publication", "attributes": self.attrs(path, mapped)}
        )

    def funding(self, i: int, f: dict[str, Any]) -> dict[str, Any]:
        path = f"funding.{i}"
        mapped = [_attr("Agency", f.get("funder")), _attr("grant_id", f.get("grant_id"))]
        return self.extras_for(path, {"type": "Funding", "attributes": self.attrs(path, mapped)})

    def link(self, i: int, link: dict[str, Any]) -> dict[str, Any]:
        url, link_id, link_type = link.get("url"), link.get("id"), link.get("type")
        mapped = [_attr("Description", link.get("description")), _attr("Type", link_type)]
        if link_id and url == link_url_for(link_type, str(link_id)):
            url = link_id  # BioStudies links to databases by accession
        elif link_id:
            mapped.append(_attr("ID", link_id))
        return {"url": url, "attributes": self.attrs(f"links.{i}", mapped)}

    # -- REMBI sections --

    def section_title(self, kind: str, key: str) -> str:
        """How a dataset's association names the section: its title, or its key when two
        sections share a title (the importer resolves keys too)."""
        section_name = REMBI[kind][0]
        bag = self.bags.get(f"{section_name}.{key}") or {}
        title = bag.get("Title") if isinstance(bag.get("Title"), str) else None
        if title is None:
            return key
        others = [
            (self.bags.get(f"{section_name}.{k}") or {}).get("Title")
            for k in (self.study.get(section_name) or {})
            if k != key
        ]
        return key if title in others else title

    def rembi(self, kind: str, key: str, r: dict[str, Any], n: int) -> dict[str, Any]:
        section_name = REMBI[kind][0]
        path = f"{section_name}.{key}"
        mapped = self.title(path, key)
        subs: list[dict[str, Any]] = []
        if kind == "biosample":
            mapped += [
                _attr("Biological entity", r.get("biological_entity")),
                _attr("Description", r.get("description")),
            ]
            for name, field_name in (
                ("Intrinsic variable", "intrinsic_variables"),
                ("Extrinsic variable", "extrinsic_variables"),
                ("Experimental variable", "experimental_variables"),
            ):
                mapped += [_attr(name, v) for v in r.get(field_name) or []]
            organisms = r.get("organism") or []
            for i, org in enumerate(organisms if isinstance(organisms, list) else [organisms]):
                subs.append(self.organism(f"{path}.organism.{i}", org))
        elif kind == "specimen":
            mapped += [
                _attr("Sample preparation protocol", r.get("preparation")),
                _attr("Description", r.get("description")),
            ]
            for i, ch in enumerate(r.get("signal_channels") or []):
                cpath = f"{path}.signal_channels.{i}"
                attrs = [_attr("Stain", ch.get("stain")), _attr("Target", ch.get("target"))]
                subs.append({"type": "Signal channel", "attributes": self.attrs(cpath, attrs)})
        elif kind == "acquisition":
            mapped += [
                _attr("Imaging instrument", r.get("instrument")),
                _attr("Image acquisition parameters", r.get("parameters")),
                _attr("Description", r.get("description")),
            ]
            methods = r.get("imaging_method") or []
            for i, m in enumerate(methods if isinstance(methods, list) else [methods]):
                subs.append(self.method(f"{path}.imaging_method.{i}", m))
        elif kind == "annotation":
            mapped += [
                _attr("Annotation overview", r.get("description")),
                _attr("Annotation method", r.get("method")),
                _attr("Annotation type", r.get("type")),
            ]
        elif kind == "analysis":
            mapped.append(_attr("Image analysis overview", r.get("description")))
            mapped += [_attr("Analysis software", v) for v in r.get("software") or []]
        elif kind == "correlation":
            mapped += [
                _attr("Spatial and temporal alignment", r.get("description")),
                _attr("Transformation matrix", r.get("transform")),
            ]
        section: dict[str, Any] = {
            "type": SECTION_TYPES[kind],
            "accno": f"{SECTION_TYPES[kind]}-{n}",
            "attributes": self.attrs(path, mapped),
        }
        if subs:
            section["subsections"] = subs
        return self.extras_for(path, section)

    def organism(self, path: str, org: dict[str, Any]) -> dict[str, Any]:
        taxon = org.get("ncbi_taxon")
        mapped = [
            _attr("Scientific name", org.get("scientific_name")),
            _attr("Common name", org.get("common_name")),
            _attr("NCBI taxon ID", None if taxon is None else f"NCBI:txid{taxon}"),
        ]
        return {"type": "Organism", "attributes": self.attrs(path, mapped)}

    def method(self, path: str, m: dict[str, Any]) -> dict[str, Any]:
        mapped = [_attr("Ontology Value", m.get("name"))]
        if m.get("fbbi"):
            mapped.append(_attr("Ontology Name", EXPORT_FBBI_ONTOLOGY_NAME))
            mapped.append(_attr("Ontology Term ID", m["fbbi"]))
        return {"type": "Imaging Method", "attributes": self.attrs(path, mapped)}

    # -- datasets --

    def component(self, i: int, d: dict[str, Any]) -> dict[str, Any]:
        dataset_id = str(d.get("id"))
        path = f"datasets.{dataset_id}"
        mapped = [_attr("Name", d.get("title")), _attr("Description", d.get("description"))]
        if self.needs_id(i):
            mapped.append(_attr("Dataset ID", dataset_id))
        file_list = (self.pagetab.get("file_lists") or {}).get(dataset_id)
        files = self.files(dataset_id, d.get("files"))
        if file_list:
            mapped.append(_attr("File List", file_list))
        if d.get("representative"):
            mapped.append(_attr("Representative image", d["representative"]))
        if d.get("remote_files"):
            text = json.dumps(d["remote_files"], sort_keys=True, ensure_ascii=False)
            mapped.append(_attr("Catalogue remote files", text))
        section: dict[str, Any] = {
            "type": "Study Component",
            "attributes": self.attrs(path, mapped),
        }
        associations: list[dict[str, Any]] = []
        for kind, (_, field_name) in REMBI.items():
            if field_name is None:
                continue
            refs = d.get(field_name) or []
            for key in refs if isinstance(refs, list) else [refs]:
                associations.append(_attr(ASSOCIATION_NAMES[kind], self.section_title(kind, key)))
        for key, corr in (self.study.get("correlations") or {}).items():
            if dataset_id in ((corr or {}).get("datasets") or []):
                title = self.section_title("correlation", key)
                associations.append(_attr(ASSOCIATION_NAMES["correlation"], title))
        if associations:
            section["subsections"] = [{"type": "Associations", "attributes": associations}]
        if file_list and path_problem(file_list):
            self.out.warnings.append(f"{path}: file list name {file_list!r} is unsafe; inlined")
            file_list = None
        if files is not None:
            if file_list and not self.inline:
                self.out.file_lists[file_list] = files
            else:
                section["files"] = files
                if file_list:
                    self.out.warnings.append(
                        f"{path}: files inlined (file list {file_list!r} needs -o to be written)"
                    )
        return self.extras_for(path, section)

    def needs_id(self, i: int) -> bool:
        """Whether an import would not give dataset ``i`` its id from the title alone
        (hand-written ids, or a clash), so the export must carry a 'Dataset ID'."""
        taken: set[str] = set()
        for j, d in enumerate(self.study.get("datasets") or []):
            made = _unique(slug(str(d.get("title") or "Study component"), "dataset"), set(taken))
            if j == i:
                return made != d.get("id")
            taken.add(made if made == d.get("id") else str(d.get("id")))
        return False

    def files(self, dataset_id: str, manifest: str | None) -> list[dict[str, Any]] | None:
        if not manifest or path_problem(manifest) or "/" in manifest:
            return None
        path = self.folder / manifest
        if not path.is_file():
            return None
        types = ((self.pagetab.get("file_types") or {}).get(dataset_id)) or {}
        out = []
        for row in iter_rows(path):
            entry: dict[str, Any] = {"path": row.path}
            if row.size is not None:
                entry["size"] = row.size
            attrs = []
            if row.sha256:
                attrs.append(_attr("sha256", row.sha256))
            for name, value in row.attributes:
                if name.endswith(" (attribute)") and name[: -len(" (attribute)")] in (
                    "path",
                    "size",
                ):
                    name = name[: -len(" (attribute)")]
                attrs.append(_attr(name, value))
            entry["attributes"] = attrs
            entry["type"] = types.get(row.path, "file")
            out.append(entry)
        return out


def export_study(study: dict[str, Any], folder: Path, inline_files: bool = False) -> Exported:
    """PageTab of a study as plain data (study.yaml loaded as YAML, manifests in ``folder``)."""
    return Exporter(study, folder, inline_files).run(str(study.get("accession")))


def write_exported(exported: Exported, out: Path) -> list[Path]:
    """The submission JSON at ``out`` and its file lists beside it, as BioStudies expects."""
    out.parent.mkdir(parents=True, exist_ok=True)
    written = [out]
    text = json.dumps(exported.submission, indent=2, ensure_ascii=False) + "\n"
    out.write_text(text, encoding="utf-8")
    for name, files in exported.file_lists.items():
        target = out.parent / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(files, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(target)
    return written
