"""Offline term lists: SPDX licences, NCBI Taxonomy organisms, FBbi imaging methods.

The build never goes to the network, so the labels readers see for an organism or an
imaging method come from small lists shipped in ``catalogue/data/`` instead of an
ontology service: a study that says ``ncbi_taxon: 9606`` is shown as *Homo sapiens*
whatever free text it carries, and one term gets one label across the whole site (and
one search facet value). The lists of labels are deliberately small. Whether a taxon id
exists at all is answered by ``ncbi-taxon-ids.bin``, a bitmap of every id of an NCBI
Taxonomy snapshot (derived by ``scripts/derive_taxon_ids.py``, about 130 kB), so a real
but rare organism (9534, *Chlorocebus aethiops*) is never reported as unknown, while a
mistyped id still is (a warning, never an error).

EFO is not shipped: no field of content format 1 carries an EFO id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

FBBI_ID_RE = re.compile(r"^FBbi:\d{8}$")


@dataclass(frozen=True)
class Taxon:
    taxon_id: int
    scientific_name: str
    common_name: str | None
    synonyms: tuple[str, ...]


@dataclass(frozen=True)
class Term:
    id: str
    label: str
    synonyms: tuple[str, ...]


def _rows(name: str) -> list[list[str]]:
    """Rows of a shipped TSV after its '#' comment lines and its header."""
    text = resources.files("catalogue").joinpath("data", name).read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    return [ln.split("\t") for ln in lines[1:]]


@cache
def spdx_licenses() -> dict[str, tuple[str, bool]]:
    """SPDX id -> (full name, deprecated)."""
    return {r[0]: (r[1], r[2] == "yes") for r in _rows("spdx-licenses.tsv")}


@cache
def _spdx_by_lower() -> dict[str, str]:
    return {k.lower(): k for k in spdx_licenses()}


def spdx_id(value: str) -> str | None:
    """The SPDX id spelled canonically, or None when ``value`` is not an SPDX id."""
    return _spdx_by_lower().get(value.strip().lower())


@cache
def taxa() -> dict[int, Taxon]:
    out: dict[int, Taxon] = {}
    for r in _rows("ncbi-taxa.tsv"):
        out[int(r[0])] = Taxon(
            taxon_id=int(r[0]),
            scientific_name=r[1],
            common_name=r[2] or None,
            synonyms=tuple(s for s in r[3].split("|") if s),
        )
    return out


@cache
def _taxon_bitmap() -> tuple[str, bytes]:
    import zlib

    raw = resources.files("catalogue").joinpath("data", "ncbi-taxon-ids.bin").read_bytes()
    header, _, body = raw.partition(b"\n")
    return header.decode().split()[-1], zlib.decompress(body)


def taxonomy_snapshot() -> str:
    """The date of the NCBI Taxonomy snapshot the id bitmap was derived from."""
    return _taxon_bitmap()[0]


def taxon_exists(taxon_id: int) -> bool:
    """Whether ``taxon_id`` is an id of the shipped NCBI Taxonomy snapshot (or listed)."""
    if taxon_id in taxa():
        return True
    bits = _taxon_bitmap()[1]
    byte = taxon_id >> 3
    return 0 <= byte < len(bits) and bool(bits[byte] >> (taxon_id & 7) & 1)


@cache
def fbbi_terms() -> dict[str, Term]:
    return {
        r[0]: Term(id=r[0], label=r[1], synonyms=tuple(s for s in r[2].split("|") if s))
        for r in _rows("fbbi-imaging-methods.tsv")
    }


@lru_cache(maxsize=4096)  # asked several times per study by every page and digest
def organism_label(taxon_id: int | str | None) -> str | None:
    """Scientific name of an NCBI Taxonomy id from the shipped list; None when unknown.

    Templates show this instead of the free-text ``scientific_name`` whenever it exists.
    """
    number = parse_taxon_id(taxon_id) if taxon_id is not None else None
    taxon = taxa().get(number) if number is not None else None
    return taxon.scientific_name if taxon else None


def organism_common_name(taxon_id: int | str | None) -> str | None:
    """GenBank common name of a listed taxon (e.g. 'zebrafish'), or None."""
    number = parse_taxon_id(taxon_id) if taxon_id is not None else None
    taxon = taxa().get(number) if number is not None else None
    return taxon.common_name if taxon else None


@lru_cache(maxsize=4096)
def fbbi_label(fbbi_id: str | None) -> str | None:
    """Label of an FBbi imaging method from the shipped list; None when unknown."""
    if fbbi_id is None:
        return None
    normal = parse_fbbi_id(fbbi_id)
    term = fbbi_terms().get(normal) if normal else None
    return term.label if term else None


_TAXON_FORMS = (
    re.compile(r"^(\d+)$"),
    re.compile(r"^(?:https?://purl\.obolibrary\.org/obo/)?NCBITaxon[_:](\d+)$", re.I),
    re.compile(r"^(?:NCBI:)?txid(\d+)$", re.I),
    re.compile(r"^https?://www\.ncbi\.nlm\.nih\.gov/.*[?&]id=(\d+)", re.I),
)


def parse_taxon_id(value: int | str) -> int | None:
    """9606 from the spellings found in submissions: 9606, NCBITaxon_9606, NCBI:txid9606,
    an OBO PURL or an NCBI browser URL. None when it is none of these."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    text = str(value).strip()
    for form in _TAXON_FORMS:
        m = form.match(text)
        if m:
            number = int(m.group(1))
            return number if number > 0 else None
    return None


def parse_fbbi_id(value: str) -> str | None:
    """``FBbi:00000246`` from FBbi:00000246, FBbi_00000246 or the OBO PURL; else None."""
    m = re.match(
        r"^(?:https?://purl\.obolibrary\.org/obo/)?(?:obo:)?FBbi[_:](\d{8})$",
        str(value).strip(),
        re.I,
    )
    return f"FBbi:{m.group(1)}" if m else None


def _key(name: str) -> str:
    return re.sub(r"[\s_-]+", " ", name.strip().lower())


@cache
def _taxa_by_name() -> dict[str, int]:
    out: dict[str, int] = {}
    for taxon in taxa().values():
        for name in (taxon.scientific_name, *taxon.synonyms):
            out.setdefault(_key(name), taxon.taxon_id)
    return out


def taxon_for_name(scientific_name: str) -> int | None:
    """The listed taxon whose scientific name (or a recorded synonym) is ``scientific_name``.

    Used by importers to fill in ``ncbi_taxon`` for "Homo sapiens (human)" style text; only
    exact matches count, so a typo is never turned into a confident id.
    """
    return _taxa_by_name().get(_key(scientific_name))


def name_matches_taxon(scientific_name: str, taxon_id: int) -> bool:
    """Whether free text names the listed taxon (its name or a synonym, case-insensitive)."""
    taxon = taxa().get(taxon_id)
    if taxon is None:
        return True
    names = {_key(n) for n in (taxon.scientific_name, *taxon.synonyms)}
    return _key(scientific_name) in names


@cache
def _fbbi_by_name() -> dict[str, str]:
    out: dict[str, str] = {}
    for term in fbbi_terms().values():
        label = _key(term.label)
        out.setdefault(label, term.id)
        # "transmission electron microscopy (TEM)" is written without its abbreviation
        out.setdefault(_key(re.sub(r"\s*\([^)]*\)$", "", term.label)), term.id)
    return out


def fbbi_for_name(name: str) -> str | None:
    """The FBbi id whose label (with or without its abbreviation) is ``name``.

    Synonyms are not used: FBbi's are mostly RELATED ones ("photograph", "X-ray") that
    would turn loose free text into a wrong id.
    """
    return _fbbi_by_name().get(_key(name))


@cache
def data_digest() -> str:
    """A hash of the shipped term lists: labels on pages change when they do."""
    import hashlib

    h = hashlib.sha256()
    for name in (
        "spdx-licenses.tsv",
        "fbbi-imaging-methods.tsv",
        "ncbi-taxa.tsv",
        "ncbi-taxon-ids.bin",
    ):
        h.update(resources.files("catalogue").joinpath("data", name).read_bytes())
    return h.hexdigest()
