"""PageTab import, people and references: authors, affiliations, funding, publications, links.

These come first in an import, in document order, because their order in the study is
the order the submission gives. Links are here too: any section may carry them, and the
study's own web links become its ``links:``.
"""

from __future__ import annotations

import re
from typing import Any

from catalogue.identifiers import normalise_doi, normalise_orcid, normalise_pmid
from catalogue.names import split_name
from catalogue.pagetab.conversion import Conversion
from catalogue.pagetab.vocabulary import (
    LINK_TYPES,
    Section,
    _strip_doi,
    _unique,
    accession_link,
    norm,
    slug,
    text_value,
)
from catalogue.placeholders import todo


def author_names(written: str) -> dict[str, Any]:
    """Family and given names split from the one string a record gives (catalogue.names);
    the string is kept as ``name`` only when the split does not spell it back."""
    parts = split_name(written)
    if "family_name" not in parts:
        return parts
    spelled = " ".join(p for p in (parts.get("given_name"), parts["family_name"]) if p)
    if spelled != " ".join(written.split()):
        return {"name": " ".join(written.split()), **parts}
    return parts


# a bare host name with an optional path, such as 'example.org/data'
_HOST_RE = r"^[\w.-]+\.[a-z]{2,}(/\S*)?$"


def add_author(conv: Conversion, s: Section) -> None:
    index = len(conv.study.setdefault("authors", []))
    written = s.take_one("Name")
    author: dict[str, Any] = author_names(written) if written else {}
    if not author:
        author = {"name": todo("name of the author")}
    orcid = s.take_one("ORCID", "ORCID iD", "ORCID ID")
    if orcid:
        author["orcid"] = normalise_orcid(orcid) or re.sub(
            r"^https?://orcid\.org/", "", orcid.strip()
        )
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
            value = _affiliation_by_name(conv, value)
        affiliations.append(value)
    if affiliations:
        author["affiliations"] = affiliations
    roles = [r.strip() for v in s.take("Role", "Roles") for r in v.split(",") if r.strip()]
    if roles:
        author["roles"] = roles
    conv.study["authors"].append(author)
    conv.keep(f"authors.{index}", s)
    keep_children(conv, s, f"authors.{index}")


def _affiliation_by_name(conv: Conversion, name: str) -> str:
    """An affiliation given as text rather than as a reference to an organisation: the
    key of the organisation of that name, made if there is none."""
    affiliations = conv.study.setdefault("affiliations", {})
    for key, value in affiliations.items():
        if value.get("name") == name:
            return key
    key = _unique(slug(name, "org"), conv.keys.setdefault("organization", set()))
    affiliations[key] = {"name": name}
    conv.note(f"affiliations.{key}: made from an author's affiliation given as text")
    return key


def add_organization(conv: Conversion, s: Section) -> None:
    affiliations = conv.study.setdefault("affiliations", {})
    taken = conv.keys.setdefault("organization", set())
    key = s.accno or f"o{len(affiliations) + 1}"
    if s.accno is None:
        conv.note(f"affiliations.{key}: an organisation without accno was given the key {key}")
    key = _unique(key, taken)
    record: dict[str, Any] = {"name": s.take_one("Name") or todo("name of the organisation")}
    ror = s.take_one("RORID", "ROR", "ROR ID")
    if ror:
        record["ror"] = ror
    address = s.take_one("Address")
    if address:
        record["address"] = address
    affiliations[key] = record
    conv.keep(f"affiliations.{key}", s)
    keep_children(conv, s, f"affiliations.{key}")


def add_publication(conv: Conversion, s: Section) -> None:
    index = len(conv.study.setdefault("publications", []))
    path = f"publications.{index}"
    pub: dict[str, Any] = {}
    title = s.take_one("Title")
    if title:
        pub["title"] = title
    authors = s.take_one("Authors")
    if authors:
        pub["authors"] = authors
    year = s.take_one("Year")
    if year and year.strip().isdigit():
        pub["year"] = int(year)
    elif year:
        conv.bags.setdefault(path, {})["Year"] = year
    doi = s.take_one("DOI")
    if doi:
        normal = normalise_doi(doi)
        if normal is not None:
            pub["doi"] = normal
            if normal != _strip_doi(doi):
                conv.note(f"{path}: DOI {doi!r} written as {normal}")
        elif normalise_pmid(doi) and not s.has("Pubmed ID", "PMID", "PubMed"):
            pub["pmid"] = normalise_pmid(doi)
            conv.note(f"{path}: DOI {doi!r} is a PubMed id; written as pmid")
        elif re.match(r"^https?://", doi.strip()) and not s.has("URL", "Link"):
            pub["url"] = doi.strip()  # a link to the article given as its DOI
            conv.note(f"{path}: DOI {doi!r} is a web address; written as url")
        else:
            conv.bags.setdefault(path, {})["DOI"] = doi
            conv.note(f"{path}: DOI {doi[:60]!r} is not a DOI; kept in extra")
    pmid = s.take_one("Pubmed ID", "PMID", "PubMed")
    if pmid and normalise_pmid(pmid):
        pub["pmid"] = normalise_pmid(pmid)
    elif pmid:
        conv.bags.setdefault(path, {})["Pubmed ID"] = pmid
        conv.note(f"{path}: Pubmed ID {pmid[:40]!r} is not a number; kept in extra")
    if not title:
        known = [k for k in ("doi", "pmid", "authors") if k in pub]
        conv.note(
            f"{path}: no title in the record; the page shows "
            + (", ".join(known) if known else "that a publication exists")
        )
    url = s.take_one("URL", "Link")
    if url:
        pub["url"] = url
    conv.study["publications"].append(pub)
    conv.keep(path, s)
    keep_children(conv, s, path)


def add_funding(conv: Conversion, s: Section) -> None:
    index = len(conv.study.setdefault("funding", []))
    record: dict[str, Any] = {
        "funder": s.take_one("Agency", "Funder", "Funding agency") or todo("funder")
    }
    grant = s.take_one("grant_id", "Grant ID", "Grant number", "Grant")
    if grant:
        record["grant_id"] = grant
    conv.study["funding"].append(record)
    conv.keep(f"funding.{index}", s)
    keep_children(conv, s, f"funding.{index}")


def add_link(conv: Conversion, raw: dict[str, Any], where: str) -> None:
    """A web link of the study becomes one of its ``links:``; any other link (of another
    record, or not a web address) is kept raw in extra, for export to write back."""
    url = text_value(raw.get("url"))
    link = Section({"attributes": raw.get("attributes") or []})
    description = link.take_one("Description")
    link_type = link.take_one("Type")
    link_id = link.take_one("ID", "Id", "Accession")
    web = url is not None and (
        "://" in url
        or accession_link(LINK_TYPES.get(norm(link_type), link_type), url) is not None
        or re.match(_HOST_RE, url, re.I) is not None
    )
    if where != "study" or url is None or not web:
        conv.links.setdefault(where, []).append(raw)
        if where == "study":
            conv.note(f"link {url!r} is not a web address; kept in extra")
        return
    out: dict[str, Any] = {}
    if link_type:
        normal = LINK_TYPES.get(norm(link_type), link_type)
        if normal != link_type:
            conv.note(f"link type {link_type!r} written as {normal!r}")
        out["type"] = normal
    found = accession_link(out.get("type"), url) if "://" not in url else None
    if found:
        link_id = link_id or url
        out.setdefault("type", found[0])
        url = found[1]
        if url:
            conv.note(f"link {link_id!r} (an accession) made a link to {url}")
    elif "://" not in url and re.match(_HOST_RE, url, re.I):
        conv.note(f"link {url!r} given the scheme https://")
        url = f"https://{url}"
    if link_id:
        out["id"] = link_id
    if url:
        out["url"] = url
    if description:
        out["description"] = description
    links = conv.study.setdefault("links", [])
    bag = link.rest()
    if bag:
        conv.bags[f"links.{len(links)}"] = bag
    links.append(out)


def keep_children(conv: Conversion, s: Section, path: str, skip: set[str] | None = None) -> None:
    """Subsections of a record that nothing maps (those of a kind in ``skip`` were mapped
    by the caller) are kept whole in extra; its links go through ``add_link``."""
    for sub in s.subsections:
        if sub.kind not in (skip or set()):
            conv.unknown(path, sub)
    for link in s.links:
        add_link(conv, link, path)
