"""Citation exports of each public study, for people, reference managers and indexers.

Per study, under ``studies/<ACC>/``: ``citation.bib`` (BibTeX), ``citation.ris`` (RIS),
``citation.json`` (CSL-JSON, what Zotero, Pandoc and citeproc processors read) and
``datacite.xml`` (DataCite Metadata Schema kernel 4.6, what DOI registration and
harvesters such as OpenAIRE read). All name authors by family and given name, and point
at the study's DOI when it has one, else at its stable URL. ``cite_styles`` formats the
same facts as text for the cite box on the study page.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

from catalogue.model import StudyEntry
from catalogue.pipeline.plan import Step, StepResult, digest_of
from catalogue.steps.context import RenderContext
from catalogue.steps.facts import (
    date_modified,
    identifier_url,
    license_url,
    person_name,
    stable_url,
    study_doi,
)

CITATION_VERSION = "2"
DATACITE_NS = "http://datacite.org/schema/kernel-4"
DATACITE_XSD = "http://schema.datacite.org/meta/kernel-4.6/metadata.xsd"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
_LATEX = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def latex(text: str) -> str:
    return "".join(_LATEX.get(ch, ch) for ch in " ".join(text.split()))


def _one_line(text: str) -> str:
    return " ".join(text.split())


def citation_files(accession: str) -> dict[str, str]:
    """format -> site path of each export (the page links them all)."""
    base = f"studies/{accession}/"
    return {
        "BibTeX": base + "citation.bib",
        "RIS": base + "citation.ris",
        "CSL-JSON": base + "citation.json",
        "DataCite XML": base + "datacite.xml",
    }


def bibtex(ctx: RenderContext, entry: StudyEntry) -> str:
    s = entry.study
    url = stable_url(ctx, s)
    names = []
    for a in s.authors:
        p = person_name(a)
        if p.family is None:  # braces keep an organisation from being split into names
            names.append("{" + latex(p.name) + "}")
        else:
            family = "{" + latex(p.family) + "}" if " " in p.family else latex(p.family)
            names.append(f"{family}, {latex(p.given)}" if p.given else family)
    fields = [
        ("author", " and ".join(names)),
        ("title", "{" + latex(s.title) + "}"),
        ("year", str(s.release_date.year)),
        ("month", s.release_date.strftime("%b").lower()),
        ("publisher", latex(ctx.site.title)),
        ("howpublished", r"\url{" + url + "}"),
        ("url", url),
    ]
    doi = study_doi(s)
    if doi:
        fields.append(("doi", latex(doi)))
    fields.append(("note", f"Accession {latex(s.accession)}"))
    key = s.accession.replace("-", "")
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@misc{{{key},\n{body}\n}}\n"


def ris(ctx: RenderContext, entry: StudyEntry) -> str:
    s = entry.study
    lines = ["TY  - DATA", f"TI  - {_one_line(s.title)}"]
    lines += [f"AU  - {person_name(a).inverted()}" for a in s.authors]
    lines += [
        f"PY  - {s.release_date.year}",
        f"DA  - {s.release_date.strftime('%Y/%m/%d')}",
        f"PB  - {ctx.site.title}",
        f"UR  - {stable_url(ctx, s)}",
    ]
    doi = study_doi(s)
    if doi:
        lines.append(f"DO  - {doi}")
    lines += [
        f"AN  - {s.accession}",
        f"ID  - {s.accession}",
        *(f"KW  - {_one_line(k)}" for k in s.keywords),
        "ER  - ",
    ]
    return "\r\n".join(lines) + "\r\n"  # RIS lines end in CRLF by its specification


def csl_item(ctx: RenderContext, entry: StudyEntry) -> dict[str, Any]:
    """One CSL-JSON item (citation-style-language schema ``csl-data.json``)."""
    s = entry.study
    authors: list[dict[str, str]] = []
    for a in s.authors:
        p = person_name(a)
        if p.family is None:
            authors.append({"literal": p.name})
        else:
            authors.append({"family": p.family, **({"given": p.given} if p.given else {})})
    item: dict[str, Any] = {
        "id": s.accession,
        "type": "dataset",
        "title": _one_line(s.title),
        "author": authors,
        "issued": {"date-parts": [[s.release_date.year, s.release_date.month, s.release_date.day]]},
        "publisher": ctx.site.title,
        "URL": stable_url(ctx, s),
        "number": s.accession,
        "genre": "Dataset",
    }
    doi = study_doi(s)
    if doi:
        item["DOI"] = doi
    if s.keywords:
        item["keyword"] = ", ".join(s.keywords)
    return item


def datacite_xml(ctx: RenderContext, entry: StudyEntry) -> bytes:
    """A DataCite kernel 4.6 record (valid against its XSD: see tests/test_fair.py)."""
    s = entry.study
    ET.register_namespace("", DATACITE_NS)
    ET.register_namespace("xsi", XSI)

    def el(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        e = ET.SubElement(parent, f"{{{DATACITE_NS}}}{tag}", attrs)
        if text is not None:
            e.text = text
        return e

    root = ET.Element(
        f"{{{DATACITE_NS}}}resource", {f"{{{XSI}}}schemaLocation": f"{DATACITE_NS} {DATACITE_XSD}"}
    )
    doi = study_doi(s)
    if doi:
        el(root, "identifier", doi, identifierType="DOI")
    else:
        el(root, "identifier", stable_url(ctx, s), identifierType="URL")
    creators = el(root, "creators")
    for a in s.authors:
        p = person_name(a)
        c = el(creators, "creator")
        if p.family is None:
            el(c, "creatorName", p.name, nameType="Organizational")
        else:
            el(c, "creatorName", p.inverted(), nameType="Personal")
            if p.given:
                el(c, "givenName", p.given)
            el(c, "familyName", p.family)
        if a.orcid:
            el(
                c,
                "nameIdentifier",
                f"https://orcid.org/{a.orcid}",
                nameIdentifierScheme="ORCID",
                schemeURI="https://orcid.org",
            )
        for key in a.affiliations:
            aff = s.affiliations.get(key)
            if aff is None:
                continue
            attrs = (
                {"affiliationIdentifier": aff.ror, "affiliationIdentifierScheme": "ROR"}
                if aff.ror
                else {}
            )
            el(c, "affiliation", _one_line(aff.name), **attrs)
    titles = el(root, "titles")
    el(titles, "title", _one_line(s.title))
    el(root, "publisher", ctx.site.title)
    el(root, "publicationYear", str(s.release_date.year))
    el(root, "resourceType", "Bioimaging study", resourceTypeGeneral="Dataset")
    if s.keywords or s.organisms or s.imaging_methods:
        subjects = el(root, "subjects")
        for k in s.keywords:
            el(subjects, "subject", _one_line(k))
        for o in s.organisms:
            if o.ncbi_taxon:
                el(
                    subjects,
                    "subject",
                    o.label,
                    subjectScheme="NCBI Taxonomy",
                    valueURI=f"http://purl.obolibrary.org/obo/NCBITaxon_{o.ncbi_taxon}",
                )
            else:
                el(subjects, "subject", o.label)
        for m in s.imaging_methods:
            if m.fbbi:
                el(
                    subjects,
                    "subject",
                    m.label,
                    subjectScheme="FBbi",
                    valueURI="http://purl.obolibrary.org/obo/" + m.fbbi.replace(":", "_"),
                )
            else:
                el(subjects, "subject", m.label)
    dates = el(root, "dates")
    el(dates, "date", s.release_date.isoformat(), dateType="Issued")
    el(dates, "date", date_modified(ctx, entry).isoformat(), dateType="Updated")
    el(root, "language", "en")
    alternates = el(root, "alternateIdentifiers")
    el(alternates, "alternateIdentifier", s.accession, alternateIdentifierType="Accession")
    if doi:
        el(alternates, "alternateIdentifier", stable_url(ctx, s), alternateIdentifierType="URL")
    related = [
        (p.doi, "DOI") if p.doi else (p.url, "URL") for p in s.publications if p.doi or p.url
    ]
    if related:
        rel = el(root, "relatedIdentifiers")
        for value, kind in related:
            el(
                rel,
                "relatedIdentifier",
                value or "",
                relatedIdentifierType=kind,
                relationType="IsSupplementTo",
            )
    sizes = [f"{sum(m.count for m in entry.manifests.values())} files"]
    total = sum(m.total_size for m in entry.manifests.values())
    if total:
        sizes.append(f"{total} bytes")
    el_sizes = el(root, "sizes")
    for size in sizes:
        el(el_sizes, "size", size)
    formats = sorted({f for m in entry.manifests.values() for f, _ in m.formats})
    if formats:
        el_formats = el(root, "formats")
        for f in formats:
            el(el_formats, "format", f)
    rights = el(root, "rightsList")
    el(
        rights,
        "rights",
        s.license,
        rightsURI=license_url(s.license),
        rightsIdentifier=s.license,
        rightsIdentifierScheme="SPDX",
        schemeURI="https://spdx.org/licenses/",
    )
    descriptions = el(root, "descriptions")
    el(descriptions, "description", _one_line(s.description), descriptionType="Abstract")
    if s.funding:
        funding = el(root, "fundingReferences")
        for grant in s.funding:
            ref = el(funding, "fundingReference")
            el(ref, "funderName", _one_line(grant.funder))
            if grant.grant_id:
                el(ref, "awardNumber", grant.grant_id)
    ET.indent(root)
    # to text, then bytes: the same bytes as encoding="utf-8", without a codec call per
    # fragment (a third of the time of a record)
    text = ET.tostring(root, encoding="unicode")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + text.encode() + b"\n"


def _initials(given: str | None) -> str:
    return "".join(w[0] for w in (given or "").replace("-", " ").split() if w[:1].isalpha())


def cite_styles(ctx: RenderContext, entry: StudyEntry) -> list[tuple[str, str]]:
    """(style name, formatted citation) for the cite box: the same facts as the exports."""
    s = entry.study
    people = [person_name(a) for a in s.authors]
    link = identifier_url(ctx, s)
    year = s.release_date.year
    title = _one_line(s.title)

    def apa_name(p: Any) -> str:
        if p.family is None:
            return p.name
        initials = " ".join(f"{c}." for c in _initials(p.given))
        return f"{p.family}, {initials}" if initials else p.family

    apa_names = [apa_name(p) for p in people]
    if len(apa_names) > 1:
        apa_authors = ", ".join(apa_names[:-1]) + ", & " + apa_names[-1]
    else:
        apa_authors = apa_names[0]
    apa = f"{apa_authors} ({year}). {title} [Data set]. {ctx.site.title}. {link}"
    vancouver_names = [
        p.name if p.family is None else f"{p.family} {_initials(p.given)}".strip() for p in people
    ]
    if len(vancouver_names) > 6:
        vancouver_names = [*vancouver_names[:6], "et al"]
    vancouver = (
        f"{', '.join(vancouver_names)}. {title} [dataset]. {ctx.site.title}; {year}. "
        f"{s.accession}. Available from: {link}"
    )
    return [
        ("APA", apa),
        ("Vancouver", vancouver),
        ("BibTeX", bibtex(ctx, entry)),
        ("RIS", ris(ctx, entry).replace("\r\n", "\n")),
    ]


def citation_steps(ctx: RenderContext) -> list[Step]:
    return [citation_step(ctx, entry) for entry in ctx.catalogue.public()]


def citation_step(ctx: RenderContext, entry: StudyEntry) -> Step:
    """The four citation files of one public study."""
    acc = entry.accession
    paths = citation_files(acc)
    bib, ris_path = paths["BibTeX"], paths["RIS"]
    csl, datacite = paths["CSL-JSON"], paths["DataCite XML"]
    return Step(
        id=f"citation:{acc}",
        outputs=(bib, ris_path, csl, datacite),
        digest=digest_of(
            CITATION_VERSION,
            ctx.site_digest,
            entry.source_digest,
            date_modified(ctx, entry),
        ),
        make=lambda: StepResult(
            files={
                bib: bibtex(ctx, entry).encode("utf-8"),
                ris_path: ris(ctx, entry).encode("utf-8"),
                csl: (
                    json.dumps([csl_item(ctx, entry)], indent=2, ensure_ascii=False) + "\n"
                ).encode("utf-8"),
                datacite: datacite_xml(ctx, entry),
            }
        ),
    )
