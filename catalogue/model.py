"""The catalogue model: frozen pydantic records built once per run from content/.

Everything a reader sees (HTML, JSON API, search index, sitemap) is rendered from these
objects, so the outputs cannot disagree with each other, for example about an embargo.
"""

from __future__ import annotations

import datetime as dt
import pickle
import re
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    SerializationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import core_schema

from catalogue.identifiers import (
    DATASET_ID_RE,
    FBBI_RE,
    ORCID_RE,
    base_url_problem,
    doi_ok,
    normalise_doi,
    orcid_checksum_ok,
)

FORMAT_VERSION = 1


# One set object per distinct set of fields given, shared by the models read back from the
# study cache (see ``Record.__setstate__``).
_FIELDS_SETS: dict[frozenset[str], set[str]] = {}


class Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    def __setstate__(self, state: dict[Any, Any]) -> None:
        """Unpickled models share their set of given fields: a set per model was a quarter
        of the memory of 10,000 loaded studies (21 models each, 8.7 kB of sets a study).
        Sharing is safe because records are frozen (pydantic only adds to that set on
        assignment) and a copy gets a set of its own."""
        given = state.get("__pydantic_fields_set__")
        if isinstance(given, set):
            state["__pydantic_fields_set__"] = _FIELDS_SETS.setdefault(frozenset(given), given)
        super().__setstate__(state)


def _one_or_many(value: Any) -> Any:
    """REMBI allows one or several organisms/methods/references; store a tuple always."""
    if value is None:
        return ()
    if isinstance(value, list | tuple):
        return tuple(value)
    return (value,)


def _date_only(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        raise ValueError("expected a date (YYYY-MM-DD), not a date and time")
    return value


Date = Annotated[dt.date, BeforeValidator(_date_only)]


def _web_url(v: Any) -> Any:
    """Links readers click must be web addresses: never javascript:, data: or file:."""
    if v is None:
        return v
    text = str(v).strip()
    if not text.lower().startswith(("https://", "http://")) or any(c.isspace() for c in text):
        raise ValueError(f"{text!r} is not an http(s) URL")
    return text


WebUrl = Annotated[str | None, BeforeValidator(_web_url)]


def _known_format(v: int) -> int:
    """site.yaml and study.yaml say which format they are written in; we read one."""
    if v != FORMAT_VERSION:
        raise ValueError(f"unsupported format {v}; this catalogue reads format {FORMAT_VERSION}")
    return v


FormatVersion = Annotated[int, AfterValidator(_known_format)]
Text = Annotated[str, Field(min_length=1)]


# --- site ---------------------------------------------------------------------------


class Collection(Record):
    title: Text
    description: str = ""


class S3Location(Record):
    bucket: Text
    endpoint: str | None = None  # S3-compatible endpoint URL; None for AWS
    prefix: str = ""  # key prefix above the accession folders
    anonymous: bool = True  # add --no-sign-request to the commands shown


class Downloads(Record):
    """Where bulk transfer tools can reach the data; commands are built from this only."""

    rsync_url: str | None = None  # e.g. rsync://data.example.org/pub
    s3: S3Location | None = None


class Viewers(Record):
    """Base URLs of the web viewers offered for OME-Zarr data (see catalogue.imaging.viewers);
    ``null`` switches one off."""

    vizarr: str | None = "https://hms-dbmi.github.io/vizarr/"
    neuroglancer: str | None = "https://neuroglancer-demo.appspot.com/"
    itk_vtk_viewer: str | None = "https://kitware.github.io/itk-vtk-viewer/app/"

    @field_validator("vizarr", "neuroglancer", "itk_vtk_viewer")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("http://", "https://")):
            raise ValueError("must be an absolute http(s) URL")
        return v


HEX_COLOUR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")


class Brand(Record):
    """How the site presents itself (header and colours); every field optional."""

    name: str | None = None  # header name; default: the site title
    logo: str | None = None  # image file relative to the content folder (SVG or PNG)
    accent: str | None = None  # "#rrggbb": links and buttons (contrast is adjusted)

    @field_validator("accent")
    @classmethod
    def _accent(cls, v: str | None) -> str | None:
        if v is not None and not HEX_COLOUR_RE.match(v):
            raise ValueError('must be a colour written "#rrggbb", e.g. "#0b6285"')
        return v

    @field_validator("logo")
    @classmethod
    def _logo(cls, v: str | None) -> str | None:
        if v is None:
            return v
        parts = v.replace("\\", "/").split("/")
        if v.startswith("/") or ".." in parts or not v.lower().endswith(LOGO_TYPES):
            raise ValueError(
                "must be a relative path inside the content folder to an "
                + ", ".join(LOGO_TYPES)
                + " file"
            )
        return v


LOGO_TYPES = (".svg", ".png", ".webp", ".jpg", ".jpeg")


class ConversionSettings(Record):
    """OME-Zarr conversion inside ``catalogue build`` of the images of datasets marked
    ``convert: ome-zarr`` (see catalogue.steps.conversion); off unless ``in_build``."""

    in_build: bool = False
    folder: str | None = None  # cache of conversions; relative to the content folder
    ngff: Literal["0.5", "0.4"] = "0.5"


class DepositSettings(Record):
    """Where the deposit form (/deposit/) sends a finished study.yaml: the archive's git
    repository, for a new-file (pull request) link; without it the form offers download
    and copy only."""

    repository: WebUrl = None  # e.g. https://github.com/org/archive
    branch: str = "main"
    content_path: str = "content"  # the content tree's folder inside the repository


class Site(Record):
    format: FormatVersion
    title: Text
    description: str = ""
    base_url: Text
    data_url: Text
    data_root: str = "data"
    accession_prefix: str = "S-BIAD"
    licenses: tuple[str, ...]
    collections: dict[str, Collection]
    downloads: Downloads = Downloads()
    viewers: Viewers = Viewers()
    brand: Brand = Brand()
    deposit: DepositSettings = DepositSettings()
    # build-time settings, not part of what pages show (exclude: page digests unchanged)
    conversion: ConversionSettings = Field(default=ConversionSettings(), exclude=True)
    # Defaults for what a record may leave out (docs/content-format.md, "Site defaults"):
    # the licence the source archive applies when a study states none (a warning names
    # each study it is applied to), and the pattern of the DOIs the archive mints.
    default_license: str | None = Field(
        default=None, validation_alias=AliasChoices("default_license", "default_licence")
    )
    doi_pattern: str | None = None  # e.g. "10.6019/{accession}"
    # publish every valid study and list the others (as `build --keep-going`)
    keep_going: bool = False

    @field_validator("doi_pattern")
    @classmethod
    def _doi_pattern(cls, v: str | None) -> str | None:
        if v is None:
            return v
        if "{accession}" not in v:
            raise ValueError("must contain {accession}, e.g. 10.6019/{accession}")
        if normalise_doi(v.replace("{accession}", "S-X1")) is None:
            raise ValueError(f"{v!r} does not make DOIs of the form 10.NNNN/suffix")
        return v

    def study_doi(self, accession: str) -> str | None:
        """The DOI the site's pattern gives an accession, if the site has one."""
        return self.doi_pattern.replace("{accession}", accession) if self.doi_pattern else None

    @field_validator("base_url", "data_url")
    @classmethod
    def _url(cls, v: str) -> str:
        why = base_url_problem(v)
        if why:
            raise ValueError(why)
        return v.rstrip("/")


# --- study ----------------------------------------------------------------------------


class Affiliation(Record):
    name: Text
    ror: WebUrl = None
    address: str | None = None


class Author(Record):
    """A person (``family_name``, optional ``given_name``) or a literal ``name`` for a
    consortium or a name nobody could split. ``name`` is always set once loaded: for a
    person without one it is "given family", so every reader of the model can show it."""

    name: Text
    family_name: str | None = None
    given_name: str | None = None
    orcid: str | None = None
    email: str | None = None
    affiliations: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _display_name(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("name") and data.get("family_name"):
            parts = [data.get("given_name"), data.get("family_name")]
            data = {**data, "name": " ".join(str(p).strip() for p in parts if p)}
        return data

    @property
    def is_person(self) -> bool:
        """Whether the author is a person with a known family name (else a literal name)."""
        return bool(self.family_name)

    @field_validator("orcid", mode="before")
    @classmethod
    def _orcid(cls, v: Any) -> Any:
        if v is None:
            return v
        v = str(v).strip()
        for prefix in ("https://orcid.org/", "http://orcid.org/", "orcid.org/", "orcid:"):
            if v.lower().startswith(prefix):
                v = v[len(prefix) :]
        if not ORCID_RE.match(v):
            raise ValueError(f"ORCID {v!r} is not of the form 0000-0000-0000-000X")
        if not orcid_checksum_ok(v):
            raise ValueError(f"ORCID {v!r} has a wrong check digit")
        return v


class Funding(Record):
    funder: Text
    grant_id: str | None = None


def _doi(v: Any) -> Any:
    if v is None:
        return v
    v = str(v).strip()
    for prefix in ("https://doi.org/", "http://doi.org/", "http://dx.doi.org/", "doi:"):
        if v.lower().startswith(prefix):
            v = v[len(prefix) :]
    if not doi_ok(v):
        hint = ""
        if any(c in v for c in '<>" ') or not v.isprintable():
            hint = " (quotes, '<', '>', spaces and controls must be percent-encoded)"
        raise ValueError(f"DOI {v!r} is not of the form 10.NNNN/suffix{hint}")
    return v
    doi = normalise_doi(str(v))
    if doi is None:
        raise ValueError(f"DOI {str(v).strip()!r} is not of the form 10.NNNN/suffix")
    return doi


Doi = Annotated[str | None, BeforeValidator(_doi)]


class Publication(Record):
    """A paper about the study. Records often cite one by DOI or PubMed id alone, so the
    title is optional; pages then show what is known (authors, year, DOI, PMID)."""

    title: str | None = None
    authors: str | None = None
    year: int | None = None
    doi: Doi = None
    pmid: str | None = None
    url: WebUrl = None

    @field_validator("pmid", mode="before")
    @classmethod
    def _pmid(cls, v: Any) -> Any:
        return None if v is None else str(v)


class Source(Record):
    """The record a study was imported from: an importer writes it, pages link to it."""

    name: Text  # the archive, e.g. "BioImage Archive", "EMPIAR", "IDR"
    url: Annotated[str, BeforeValidator(_web_url)]  # the record's own page there
    id: str | None = None  # its identifier there, e.g. EMPIAR-10002


_SCRIPT_SCHEMES = re.compile(r"^(?:javascript|vbscript|data|file):", re.IGNORECASE)


def _link_url(v: Any) -> Any:
    """Imported records put anything in a link's URL (ftp:, accession numbers, bare hosts),
    so only what a browser would run, or read off the reader's own machine, is refused.
    Browsers ignore tabs, newlines and control characters inside a scheme, so they are
    dropped before the check (``java\tscript:`` is ``javascript:``)."""
    if v is None:
        return v
    text = str(v).strip()
    if _SCRIPT_SCHEMES.match("".join(ch for ch in text if ord(ch) > 0x20)):
        raise ValueError(
            f"{text!r}: a link must not be a javascript:, vbscript:, data: or file: URL"
        )
    return text


class Link(Record):
    type: str | None = None
    id: str | None = None
    url: Annotated[str | None, BeforeValidator(_link_url)] = None
    description: str | None = None


class Organism(Record):
    scientific_name: Text
    common_name: str | None = None
    ncbi_taxon: int | None = Field(default=None, gt=0)

    @field_validator("ncbi_taxon", mode="before")
    @classmethod
    def _taxon(cls, v: Any) -> Any:
        """Submissions write NCBITaxon_9606 or NCBI:txid9606; the format keeps the number."""
        if isinstance(v, str) and not v.strip().isdigit():
            from catalogue.ontology import parse_taxon_id

            number = parse_taxon_id(v)
            hint = f": write {number}" if number else ""
            raise ValueError(f"NCBI Taxonomy id {v!r} must be the number alone{hint}")
        return v

    @property
    def label(self) -> str:
        """The name readers see: the ontology's when the taxon id is known, so that one
        organism is spelled one way across pages, facets and the API."""
        from catalogue.ontology import organism_label

        return organism_label(self.ncbi_taxon) or self.scientific_name


class Biosample(Record):
    organism: Annotated[tuple[Organism, ...], BeforeValidator(_one_or_many)] = ()
    biological_entity: str | None = None
    description: str | None = None
    intrinsic_variables: tuple[str, ...] = ()
    extrinsic_variables: tuple[str, ...] = ()
    experimental_variables: tuple[str, ...] = ()


class SignalChannel(Record):
    stain: str | None = None
    target: str | None = None


class Specimen(Record):
    preparation: str | None = None
    signal_channels: tuple[SignalChannel, ...] = ()
    description: str | None = None


class ImagingMethod(Record):
    name: Text
    fbbi: str | None = None

    @field_validator("fbbi")
    @classmethod
    def _fbbi(cls, v: str | None) -> str | None:
        if v is not None and not FBBI_RE.match(v):
            raise ValueError(f"FBbi id {v!r} is not of the form FBbi:00000000")
        return v

    @property
    def label(self) -> str:
        """The FBbi label when the id is known, else the name as written."""
        from catalogue.ontology import fbbi_label

        return fbbi_label(self.fbbi) or self.name


class ImageAcquisition(Record):
    imaging_method: Annotated[tuple[ImagingMethod, ...], BeforeValidator(_one_or_many)] = ()
    instrument: str | None = None
    parameters: str | None = None
    description: str | None = None


class Annotation(Record):
    type: str | None = None
    method: str | None = None
    description: str | None = None


class Analysis(Record):
    description: str | None = None
    software: tuple[str, ...] = ()


class Correlation(Record):
    description: str | None = None
    datasets: tuple[str, ...] = ()
    transform: str | None = None


Refs = Annotated[tuple[str, ...], BeforeValidator(_one_or_many)]


class RemoteFiles(Record):
    """Files of a dataset that are listed elsewhere (no manifest here): what is known of
    them and where they are, so the page says so instead of showing an empty table."""

    url: Annotated[str, BeforeValidator(_web_url)]  # where the files are listed
    where: str | None = None  # the archive holding them, e.g. "EMPIAR"
    count: int | None = Field(default=None, ge=0)
    count_of: str | None = None  # what ``count`` counts when not files: "images", "tilt series"
    size: int | None = Field(default=None, ge=0)  # bytes
    formats: tuple[str, ...] = ()


class Dataset(Record):
    id: str
    title: Text
    description: str | None = None
    biosample: Refs = ()
    specimen: Refs = ()
    image_acquisition: Refs = ()
    annotation: Refs = ()
    analysis: Refs = ()
    files: str | None = None
    representative: str | None = None
    # opt-in: `catalogue convert-study` writes OME-Zarr copies of this dataset's images
    # (not part of the published record: exclude=True keeps the API schema unchanged)
    convert: Literal["ome-zarr"] | None = Field(default=None, exclude=True)
    remote_files: RemoteFiles | None = None

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not DATASET_ID_RE.match(v):
            raise ValueError(
                f"dataset id {v!r} must be 1 to 64 lower-case letters, digits, '-' or '_' "
                "(it is used in URLs)"
            )
        return v


class Withdrawal(Record):
    date: Date
    reason: Text


class Study(Record):
    format: FormatVersion
    accession: Text
    title: Text
    doi: Doi = None  # the study's own DOI (site.yaml doi_pattern fills it when absent)
    release_date: Date
    license: Text
    collection: str = "direct"
    keywords: tuple[str, ...] = ()
    description: Text
    authors: tuple[Author, ...] = Field(min_length=1)
    affiliations: dict[str, Affiliation] = {}
    funding: tuple[Funding, ...] = ()
    publications: tuple[Publication, ...] = ()
    links: tuple[Link, ...] = ()
    biosamples: dict[str, Biosample] = {}
    specimens: dict[str, Specimen] = {}
    image_acquisitions: dict[str, ImageAcquisition] = {}
    annotations: dict[str, Annotation] = {}
    analyses: dict[str, Analysis] = {}
    correlations: dict[str, Correlation] = {}
    datasets: tuple[Dataset, ...] = ()
    # curated for machine learning: files and annotations are complete and consistent,
    # so the study publishes Croissant metadata and joins the AI-ready collection
    ai_ready: bool = False
    source: Source | None = None
    withdrawn: Withdrawal | None = None
    extra: dict[str, Any] = {}

    @field_validator("keywords", mode="before")
    @classmethod
    def _keywords(cls, v: Any) -> Any:
        return _one_or_many(v)

    @property
    def organisms(self) -> tuple[Organism, ...]:
        seen: dict[str, Organism] = {}
        for b in self.biosamples.values():
            for o in b.organism:
                seen.setdefault(o.label.lower(), o)
        return tuple(seen.values())

    @property
    def imaging_methods(self) -> tuple[ImagingMethod, ...]:
        seen: dict[str, ImagingMethod] = {}
        for a in self.image_acquisitions.values():
            for m in a.imaging_method:
                seen.setdefault(m.label.lower(), m)
        return tuple(seen.values())


# --- manifests and the assembled catalogue ---------------------------------------------


class FileRow(Record):
    path: str
    size: int | None
    sha256: str | None
    attributes: tuple[tuple[str, str], ...] = ()
    files: int = 1  # more for a Zarr image, one row for all the files of its folder


class ManifestSummary(Record):
    """What the build needs of a manifest without holding all of its rows."""

    source: str  # path relative to the content root
    digest: str  # sha256 of the manifest bytes: the step input for file tables
    columns: tuple[str, ...]  # attribute columns, in header order
    count: int
    total_size: int
    unknown_sizes: int
    formats: tuple[tuple[str, int], ...]  # (format, file count), sorted by format
    preview: tuple[FileRow, ...]  # first rows, for the study page
    # distinct values of the text attribute columns (column, sorted values), for site-wide
    # search of compounds, genes, plates …; a column with more than VALUE_LIMIT distinct
    # values, or only numbers, or hashes and SMILES-like codes, is left out
    values: tuple[tuple[str, tuple[str, ...]], ...] = ()
    checksums: int = 0  # rows with a sha256: sha256sums.txt is offered only when > 0
    # Zarr folders (``x.ome.zarr/...``), each one image in the file table however many of
    # its files the manifest lists, and how many manifest rows lie in them
    images: int = 0
    image_files: int = 0

    @property
    def items(self) -> int:
        """Rows of the file table: files outside Zarr folders, plus one per Zarr image."""
        return self.count - self.image_files + self.images


class StudyState(StrEnum):
    RESERVED = "reserved"
    EMBARGOED = "embargoed"
    PUBLIC = "public"
    WITHDRAWN = "withdrawn"


class Declared(Record):
    """What the source archive says of the files it holds for datasets listed nowhere here
    (``remote_files`` of datasets without a manifest): shown as *declared by* the source,
    never added to the counts of files listed here."""

    counts: tuple[tuple[str, int], ...] = ()  # (unit, count): "files", "images", "plates"…
    size: int | None = None  # bytes, the sum of the declared sizes (None: none declared)
    by: tuple[str, ...] = ()  # the archives, in dataset order
    datasets: int = 0  # datasets with declared files and no manifest

    @property
    def files(self) -> int | None:
        """The declared count of files (not images or tilt series), if any."""
        return dict(self.counts).get("files")


class StudyEntry:
    """A study as loaded: metadata plus what the build derived from its files.

    The study's model (``study``) and its manifests' summaries are kept pickled until
    something asks for them. A build after an edit at 10,000 studies needs the models of
    a handful of studies, but used to unpickle all of them (215,000 pydantic models, two
    seconds, and 28 kB a study in every process that holds the catalogue); what every
    stage asks of every study (accession, lifecycle dates, folder, source digest) is kept
    beside the pickle. Immutable, like the records it holds.
    """

    __slots__ = (
        "accession",
        "release_date",
        "withdrawn",
        "folder",
        "source_digest",
        "representatives",
        "_blob",
        "_body",
    )
    accession: str
    release_date: dt.date
    withdrawn: bool  # a withdrawal is recorded (see ``state`` for when it shows)
    folder: str  # path of the study folder relative to the content root
    source_digest: str  # sha256 over study.yaml and manifests: invalidates its outputs
    # (dataset id, representative image path) of the datasets that name one, in order
    representatives: tuple[tuple[str, str], ...]
    _blob: bytes | None
    _body: tuple[Study, dict[str, ManifestSummary]] | None

    def __init__(
        self,
        study: Study,
        folder: str,
        source_digest: str,
        manifests: dict[str, ManifestSummary] | None = None,
    ) -> None:
        reps = tuple((ds.id, ds.representative) for ds in study.datasets if ds.representative)
        head = (study.accession, study.release_date, study.withdrawn is not None, folder, reps)
        self._fill(head, source_digest, None, (study, dict(manifests or {})))

    def _fill(
        self,
        head: Head,
        source_digest: str,
        blob: bytes | None,
        body: tuple[Study, dict[str, ManifestSummary]] | None,
    ) -> None:
        """Every slot, from a study (``__init__``) or from its pickle (``__reduce__``)."""
        for name, value in zip(HEAD_FIELDS, head, strict=True):
            object.__setattr__(self, name, value)
        object.__setattr__(self, "source_digest", source_digest)
        object.__setattr__(self, "_blob", blob)
        object.__setattr__(self, "_body", body)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"StudyEntry is immutable ({name})")

    def _loaded(self) -> tuple[Study, dict[str, ManifestSummary]]:
        body = self._body
        if body is None:
            assert self._blob is not None
            body = pickle.loads(self._blob)
            object.__setattr__(self, "_body", body)
            # the pickle is not kept beside the model it gave (a tenth more memory in a
            # cold build, where every study is unpickled): pickling again makes it anew
            object.__setattr__(self, "_blob", None)
            LOADS[0] += 1
        return body

    @property
    def study(self) -> Study:
        return self._loaded()[0]

    @property
    def manifests(self) -> dict[str, ManifestSummary]:  # dataset id -> summary
        return self._loaded()[1]

    def _pickled(self) -> bytes:
        if self._blob is None:
            return pickle.dumps(self._body, protocol=pickle.HIGHEST_PROTOCOL)
        return self._blob

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its light fields and the body's pickle: a worker, or the study
        cache, unpickles the model only if it asks for it."""
        head = tuple(getattr(self, name) for name in HEAD_FIELDS)
        return (_entry_from_blob, (head, self.source_digest, self._pickled()))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StudyEntry):
            return NotImplemented
        return (self.folder, self.source_digest, self._loaded()) == (
            other.folder,
            other.source_digest,
            other._loaded(),
        )

    def __hash__(self) -> int:
        return hash((self.accession, self.folder, self.source_digest))

    def __repr__(self) -> str:
        return f"StudyEntry({self.accession!r}, folder={self.folder!r})"

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> Any:
        """A field of a model (``Catalogue.studies``) that dumps as the record it was."""
        return core_schema.is_instance_schema(
            cls,
            serialization=core_schema.plain_serializer_function_ser_schema(
                _dump_entry, info_arg=True
            ),
        )

    @property
    def declared(self) -> Declared:
        counts: dict[str, int] = {}
        size: int | None = None
        by: list[str] = []
        datasets = 0
        for ds in self.study.datasets:
            r = ds.remote_files
            if r is None or ds.id in self.manifests:
                continue
            if r.count is None and r.size is None:
                continue
            datasets += 1
            if r.count is not None:
                unit = r.count_of or "files"
                counts[unit] = counts.get(unit, 0) + r.count
            if r.size is not None:
                size = (size or 0) + r.size
            where = r.where or "the source"
            if where not in by:
                by.append(where)
        return Declared(counts=tuple(counts.items()), size=size, by=tuple(by), datasets=datasets)

    def state(self, today: dt.date) -> StudyState:
        # The embargo comes first: a study withdrawn before its release date was never
        # public, and its tombstone must not reveal it before that date either.
        if self.release_date > today:
            return StudyState.EMBARGOED
        if self.withdrawn:
            return StudyState.WITHDRAWN
        return StudyState.PUBLIC


# how many studies' models were unpickled in this process (tests/test_groups.py checks
# that an edit unpickles few)
LOADS = [0]

# the light fields of a StudyEntry, in the order of its pickle's head
HEAD_FIELDS = ("accession", "release_date", "withdrawn", "folder", "representatives")
Head = tuple[str, dt.date, bool, str, tuple[tuple[str, str], ...]]


def _dump_entry(entry: StudyEntry, info: SerializationInfo) -> dict[str, Any]:
    mode = "json" if info.mode_is_json() else "python"
    return {
        "study": entry.study.model_dump(mode=mode),
        "folder": entry.folder,
        "source_digest": entry.source_digest,
        "manifests": {k: m.model_dump(mode=mode) for k, m in entry.manifests.items()},
    }


def _entry_from_blob(head: Head, digest: str, blob: bytes) -> StudyEntry:
    entry = StudyEntry.__new__(StudyEntry)
    entry._fill(head, digest, blob, None)
    return entry


class LedgerRow(Record):
    accession: str
    created: dt.date
    note: str = ""
    line: int


class Redirect(Record):
    """A renamed or merged accession (a row of content/redirects.tsv): ``source`` → ``target``.

    Declared in content so that a URL once served keeps answering after a merge.
    """

    source: str
    target: str
    note: str = ""
    line: int


class LeftOut(Record):
    """A study folder a ``--keep-going`` build did not publish, and why."""

    folder: str  # studies/<ACCESSION>, relative to the content root
    errors: int
    first: str  # the first of its errors, as printed


class Catalogue(Record):
    site: Site
    ledger: tuple[LedgerRow, ...]
    studies: tuple[StudyEntry, ...]  # sorted by accession number
    today: Date
    redirects: tuple[Redirect, ...] = ()  # sorted by source
    left_out: tuple[LeftOut, ...] = ()  # studies with errors, left out by --keep-going

    def state_of(self, accession: str) -> StudyState | None:
        """The lifecycle state of any accession; reserved when only the ledger knows it."""
        for e in self.studies:
            if e.accession == accession:
                return e.state(self.today)
        if any(r.accession == accession for r in self.ledger):
            return StudyState.RESERVED
        return None

    def visible(self) -> tuple[StudyEntry, ...]:
        """Studies that may appear anywhere in the output (public or tombstoned)."""
        return _split(self)[0]

    def public(self) -> tuple[StudyEntry, ...]:
        return _split(self)[1]


# (catalogue, visible, public) of the last few catalogues asked: every step factory asks
# for them, 20 times a build, each a pass over 10,000 studies (a tenth of planning an
# edit). The catalogue itself is kept in the entry, so its id cannot be reused while
# the entry lives; a frozen model cannot change, so the split stays true.
_SPLITS: list[tuple[Catalogue, tuple[StudyEntry, ...], tuple[StudyEntry, ...]]] = []


def _split(catalogue: Catalogue) -> tuple[tuple[StudyEntry, ...], tuple[StudyEntry, ...]]:
    for known, visible, public in _SPLITS:
        if known is catalogue:
            return visible, public
    today = catalogue.today
    states = [(e, e.state(today)) for e in catalogue.studies]
    visible = tuple(e for e, s in states if s in (StudyState.PUBLIC, StudyState.WITHDRAWN))
    public = tuple(e for e, s in states if s is StudyState.PUBLIC)
    _SPLITS.insert(0, (catalogue, visible, public))
    del _SPLITS[4:]
    return visible, public
