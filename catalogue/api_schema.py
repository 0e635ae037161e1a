"""The shapes of the static JSON API, as pydantic models.

Every record the build writes under /api/v1/ is checked against these models before it
is written (so the code cannot drift from the published contract), and their JSON
Schemas are published at /api/v1/schema/<name>.json for machine clients. Adding an
optional field is a compatible change; removing or retyping one is not (docs/urls.md).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from catalogue.model import (
    Affiliation,
    Analysis,
    Annotation,
    Biosample,
    Correlation,
    Funding,
    ImageAcquisition,
    Link,
    Publication,
    RemoteFiles,
    Source,
    Specimen,
)


class ApiRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StudyCore(ApiRecord):
    """What every study record starts with, in the summary and in the full record."""

    accession: str
    title: str
    release_date: dt.date
    date_modified: dt.date  # the last change to the study (git), never before its release
    license: str
    collection: str
    keywords: list[str]
    ai_ready: bool  # publishes Croissant metadata (studies/<ACC>/croissant.json)


class StudySummary(StudyCore):
    """One study in /api/v1/studies.json."""

    organisms: list[str]
    imaging_methods: list[str]
    datasets: int
    files: int  # files listed here (in manifests)
    bytes: int
    # what the source archive declares for datasets not listed here (remote_files), only
    # when some dataset declares a count or a size: files (not images or tilt series:
    # those are per dataset, in remote_files), bytes, and the archives that say so
    declared_files: int | None = None
    declared_bytes: int | None = None
    declared_by: list[str] | None = None
    url: str
    api_url: str


class StudiesIndex(ApiRecord):
    """/api/v1/studies.json and /api/v1/studies/page/<n>.json: the public studies in
    accession order, ``page_size`` a page; follow ``next`` until it is null."""

    api_version: str
    count: int  # public studies in all pages
    page: int
    pages: int
    page_size: int
    next: str | None
    previous: str | None
    studies: list[StudySummary]


class ApiIndex(ApiRecord):
    """/api/v1/index.json: the entry point of the API."""

    api_version: str
    title: str
    site: str
    documents: dict[str, str]
    studies_pages: int
    templates: dict[str, str]
    schemas: dict[str, str]


class PublicAuthor(ApiRecord):
    name: str  # always set: a consortium's literal name, or "given family" of a person
    family_name: str | None = None  # set for a person
    given_name: str | None = None
    orcid: str | None = None
    affiliations: list[str] = []
    roles: list[str] = []


class DatasetDownloads(ApiRecord):
    browse: str
    manifest: str
    urls: str
    sha256sums: str


class PublicDataset(ApiRecord):
    id: str
    title: str
    description: str | None = None
    biosample: list[str] = []
    specimen: list[str] = []
    image_acquisition: list[str] = []
    annotation: list[str] = []
    analysis: list[str] = []
    representative: str | None = None
    file_count: int
    total_size: int
    columns: list[str]
    downloads: DatasetDownloads | None = None
    thumbnail: str | None = None
    remote_files: RemoteFiles | None = None  # files listed at another archive, not here


class VersionChange(ApiRecord):
    status: str
    path: str


class StudyVersion(ApiRecord):
    commit: str
    date: str
    subject: str | None = None
    changes: list[VersionChange] = []


class StudyRecord(StudyCore):
    """/api/v1/studies/<ACCESSION>.json of a public study."""

    description: str
    doi: str | None = None  # the study's own DOI
    source: Source | None = None  # the record it was imported from
    authors: list[PublicAuthor]
    affiliations: dict[str, Affiliation]
    funding: list[Funding]
    publications: list[Publication]
    links: list[Link]
    biosamples: dict[str, Biosample]
    specimens: dict[str, Specimen]
    image_acquisitions: dict[str, ImageAcquisition]
    annotations: dict[str, Annotation]
    analyses: dict[str, Analysis]
    correlations: dict[str, Correlation]
    datasets: list[PublicDataset]
    status: Literal["public"]
    url: str
    versions: list[StudyVersion]


class Withdrawal(ApiRecord):
    date: dt.date
    reason: str


class WithdrawnRecord(ApiRecord):
    """/api/v1/studies/<ACCESSION>.json of a withdrawn study: what happened, no metadata."""

    accession: str
    title: str
    status: Literal["withdrawn"]
    withdrawn: Withdrawal
    url: str


class MovedRecord(ApiRecord):
    """/api/v1/studies/<OLD>.json of a renamed or merged accession."""

    accession: str
    status: Literal["moved"]
    moved_to: str
    url: str
    api_url: str


class Ranked(ApiRecord):
    name: str
    studies: int


class FormatCount(ApiRecord):
    name: str
    files: int


class Growth(ApiRecord):
    year: int
    released: int
    total: int


class Stats(ApiRecord):
    """/api/v1/stats.json: counts over the public studies."""

    studies: int
    datasets: int
    files: int
    bytes: int
    growth: list[Growth]
    organisms: list[Ranked]
    imaging_methods: list[Ranked]
    licences: list[Ranked]
    collections: list[Ranked]
    file_formats: list[FormatCount]


SCHEMAS: dict[str, type[ApiRecord]] = {
    "index": ApiIndex,
    "studies": StudiesIndex,
    "study": StudyRecord,
    "withdrawn": WithdrawnRecord,
    "moved": MovedRecord,
    "stats": Stats,
}


def checked(model: type[ApiRecord], data: dict[str, Any]) -> dict[str, Any]:
    """``data`` unchanged, after making sure it matches the published schema."""
    model.model_validate(data)
    return data


def _open(node: Any) -> Any:
    """The published schemas allow fields they do not list, as the stability promise
    says v1 may add fields (docs/api.md): a client's copy of a schema keeps validating
    newer records. The build itself checks with the closed models (``checked``), so no
    undocumented field, such as an e-mail address, can be written."""
    if isinstance(node, dict):
        return {
            k: _open(v) for k, v in node.items() if k != "additionalProperties" or v is not False
        }
    if isinstance(node, list):
        return [_open(v) for v in node]
    return node


def schema_documents(base_url: str) -> dict[str, dict[str, Any]]:
    out = {}
    for name, model in SCHEMAS.items():
        schema = _open(model.model_json_schema(mode="serialization"))
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"{base_url}/api/v1/schema/{name}.json"
        out[name] = schema
    return out
