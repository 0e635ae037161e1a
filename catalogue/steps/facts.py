"""What every metadata export says about a study, derived in one place.

Citations (BibTeX, RIS, CSL-JSON, DataCite), linked data (schema.org, RO-Crate,
Croissant) and the bulk tables all name the same people, the same identifier and the
same dates; deriving them here keeps those outputs from disagreeing with each other.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from catalogue.model import Author, Study, StudyEntry
from catalogue.steps.context import RenderContext

# words that mark an author entry as an organisation (a consortium, a facility) rather
# than a person: reference managers must not split "Broad Institute" into given/family
_ORGANISATION = re.compile(
    r"\b(institute|institut|platform|consortium|facility|laborator(y|ies)|lab|universit(y|é|ät)"
    r"|centre|center|group|team|network|project|initiative|core|unit|department|society"
    r"|foundation|archive|program(me)?)\b",
    re.IGNORECASE,
)
_PARTICLES = {"van", "von", "der", "den", "de", "del", "della", "da", "di", "du", "le", "la"}


@dataclass(frozen=True)
class PersonName:
    """An author's name as citation formats want it; ``family`` is None for organisations."""

    name: str
    family: str | None
    given: str | None

    @property
    def is_person(self) -> bool:
        return self.family is not None

    def inverted(self) -> str:
        """``Family, Given`` (or the organisation's name as written)."""
        if self.family is None:
            return self.name
        return f"{self.family}, {self.given}" if self.given else self.family


def person_name(author: Author) -> PersonName:
    """Family and given names: as recorded when study.yaml has them, else derived.

    study.yaml may carry ``family_name``/``given_name``; older records only a display
    ``name``, which is split here: "Family, Given" as written, else the last word (with
    particles such as "van der") is the family name. Organisations stay whole.
    """
    name = " ".join(author.name.split())
    family = getattr(author, "family_name", None)
    given = getattr(author, "given_name", None)
    if family:
        return PersonName(name, family, given or None)
    if _ORGANISATION.search(name):
        return PersonName(name, None, None)
    if "," in name:
        fam, _, giv = name.partition(",")
        return PersonName(name, fam.strip(), giv.strip() or None)
    words = name.split()
    if len(words) == 1:
        return PersonName(name, words[0], None)
    cut = len(words) - 1
    while cut > 1 and words[cut - 1].lower() in _PARTICLES:
        cut -= 1
    return PersonName(name, " ".join(words[cut:]), " ".join(words[:cut]))


def study_doi(study: Study) -> str | None:
    """The study's own DOI (not a publication's), when study.yaml records one."""
    doi = getattr(study, "doi", None)
    return str(doi) if doi else None


def stable_url(ctx: RenderContext, study: Study) -> str:
    return ctx.absolute(ctx.study_url(study.accession))


def identifier_url(ctx: RenderContext, study: Study) -> str:
    """What a citation points at: the DOI resolver when there is a DOI, else the page."""
    doi = study_doi(study)
    return f"https://doi.org/{doi}" if doi else stable_url(ctx, study)


def license_url(spdx: str) -> str:
    return f"https://spdx.org/licenses/{spdx}.html"


def date_modified(ctx: RenderContext, entry: StudyEntry) -> dt.date:
    """The last commit that changed the study's folder (git), never before its release:
    changes made under embargo became visible on the release day."""
    released = entry.release_date
    versions = ctx.versions_of(entry.accession)
    if not versions:
        return released
    return max(released, dt.date.fromisoformat(versions[0].date))


def orcid_url(orcid: str | None) -> str | None:
    return f"https://orcid.org/{orcid}" if orcid else None


# IANA media types of the formats catalogue.formats names (encodingFormat in schema.org,
# RO-Crate and Croissant); formats without a registered type keep their name
MEDIA_TYPES = {
    "OME-TIFF": "image/tiff",
    "TIFF": "image/tiff",
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "CSV": "text/csv",
    "TSV": "text/tab-separated-values",
    "Text": "text/plain",
    "JSON": "application/json",
    "XML": "application/xml",
    "ZIP": "application/zip",
    "gzip": "application/gzip",
    "MP4": "video/mp4",
    "PDF": "application/pdf",
    "HDF5": "application/x-hdf5",
    "NIfTI": "application/x-nifti",
}


def media_type(fmt: str) -> str:
    return MEDIA_TYPES.get(fmt, fmt)
