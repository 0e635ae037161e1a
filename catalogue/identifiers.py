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
