"""Syntax and checksum rules of the identifiers that appear in study metadata.

Kept apart from the models so that validation, importers and tests share one
definition of "a valid ORCID" or "a valid DOI".
"""

from __future__ import annotations

import re

ACCESSION_RE = re.compile(r"^S-[A-Z]{2,10}(-?)[0-9]{1,9}$")
ORCID_RE = re.compile(r"^\d{4}-\d{4}-\d{4}-\d{3}[\dX]$")
# the suffix may hold almost anything, but not what would break out of an HTML attribute or
# a URL (quotes, angle brackets, spaces, controls): such DOIs are written percent-encoded
DOI_RE = re.compile(r'^10\.\d{4,9}/[^\s<>"\x00-\x1f\x7f-\x9f]+$')
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
DATASET_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
FBBI_RE = re.compile(r"^FBbi:\d{8}$")


_DOI_PREFIX = re.compile(r"^\s*(https?://(dx\.)?doi\.org/|doi\s*:)\s*", re.I)
_ARXIV_URL = re.compile(
    r"^https?://(?:www\.)?(?:export\.)?arxiv\.org/(?:abs|pdf)/(\S+?)(?:\.pdf)?/?$", re.I
)


def normalise_doi(value: str) -> str | None:
    """The bare DOI of any form records write it in, or None when it is not a DOI.

    Accepts ``doi:`` and doi.org URL forms (even repeated: ``https://doi.org/DOI: 10.1/x``)
    and arXiv identifiers and URLs, which have DOIs of the form ``10.48550/arXiv.<id>``
    since 2022 (old-style ids such as ``hep-th/9901001`` too). Recognising arXiv ids is
    left to idutils, a maintained identifier library.
    """
    import idutils

    text = value.strip()
    while _DOI_PREFIX.match(text):
        text = _DOI_PREFIX.sub("", text, count=1)
    m = _ARXIV_URL.match(text)
    if m:
        text = f"arXiv:{m.group(1)}"
    if not text:
        return None
    if idutils.is_arxiv(text):
        arxiv = re.sub(r"^arxiv:", "", idutils.normalize_arxiv(text), flags=re.I)
        return "10.48550/arXiv." + re.sub(r"v\d+$", "", arxiv)
    return text if doi_ok(text) else None


def normalise_pmid(value: str) -> str | None:
    """A PubMed id from ``PMID: 123``, ``pmid:123`` or a pubmed URL, or None."""
    text = value.strip()
    m = re.match(
        r"^(?:pmid:?\s*|https?://(?:www\.)?(?:pubmed\.ncbi\.nlm\.nih\.gov|ncbi\.nlm\.nih\.gov/pubmed)/)?(\d{1,9})/?$",
        text,
        re.I,
    )
    return m.group(1) if m else None


def normalise_orcid(value: str) -> str | None:
    """The bare ORCID iD of ``https://orcid.org/…``, ``orcid:…`` forms, or None."""
    text = value.strip()
    m = re.match(
        r"^(?:https?://(?:www\.)?orcid\.org/|orcid\.org/|orcid:\s*)?(\d{4}-\d{4}-\d{4}-\d{3}[\dXx])/?$",
        text,
        re.I,
    )
    if not m:
        return None
    orcid = m.group(1).upper()
    return orcid if orcid_checksum_ok(orcid) else None


def orcid_checksum_ok(orcid: str) -> bool:
    """ISO 7064 11,2 check digit, as ORCID specifies."""
    digits = orcid.replace("-", "")
    total = 0
    for ch in digits[:-1]:
        total = (total + int(ch)) * 2
    check = (12 - total % 11) % 11
    expected = "X" if check == 10 else str(check)
    return digits[-1] == expected


def accession_number(accession: str) -> tuple[str, int]:
    """Split ``S-BIAD123`` into (``S-BIAD``, 123) for ordering and allocation."""
    m = re.match(r"^(.*?)(\d+)$", accession)
    if not m:
        return (accession, 0)
    return (m.group(1), int(m.group(2)))


def doi_ok(doi: str) -> bool:
    """Whether a bare DOI (``10.NNNN/suffix``, no ``doi:`` or URL prefix) is acceptable."""
    return bool(DOI_RE.match(doi))


# characters that would end the URL early or break out of an attribute wherever the base
# URL is pasted in front of a path: in href="…", in sitemaps, in server configs
_URL_BREAKERS = re.compile(r"[\"'<>`\\\s?#\x00-\x1f\x7f-\x9f]")


def base_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be the base of every link of a site, or None."""
    if not url.startswith(("http://", "https://")):
        return "must be an absolute http(s) URL"
    bad = _URL_BREAKERS.search(url)
    if bad:
        char = bad.group()
        shown = repr(char) if char.isprintable() and not char.isspace() else f"U+{ord(char):04X}"
        return (
            f"must not contain {shown}: links are made by adding paths to it, and a "
            "query, fragment, quote or space would break every one"
        )
    return None
