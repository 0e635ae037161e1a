"""Syntax and checksum rules of the identifiers that appear in study metadata.

Kept apart from the models so that validation, importers and tests share one
definition of "a valid ORCID" or "a valid DOI".
"""

from __future__ import annotations

import re

ACCESSION_RE = re.compile(r"^S-[A-Z]{2,10}(-?)[0-9]{1,9}$")
ORCID_RE = re.compile(r"^\d{4}-\d{4}-\d{4}-\d{3}[\dX]$")
DOI_RE = re.compile(r"^10\.\d{4,9}/\S+$")
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
