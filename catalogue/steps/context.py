"""What every rendering step shares: the catalogue, the site's URLs and the templates.

Built once per run by the builder and passed to step factories; never mutated.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar, cast
from urllib.parse import urlparse

import jinja2

from catalogue.model import Catalogue, Site, StudyEntry
from catalogue.search.text import words

if TYPE_CHECKING:
    from catalogue.versions import Version


T = TypeVar("T")
SLUG_LIMIT = 80  # characters of a browse page's folder name, before any -2 suffix


@dataclass(frozen=True)
class Thumb:
    """A rendered thumbnail as pages refer to it."""

    url: str
    width: int
    height: int
    ok: bool


@dataclass(frozen=True)
class RenderContext:
    catalogue: Catalogue
    site: Site
    env: jinja2.Environment
    templates_digest: str
    # (accession, dataset id) -> thumbnail
    thumbs: dict[tuple[str, str], Thumb] = field(default_factory=dict)
    # accession -> its commits, newest first (catalogue.versions); empty without git
    versions: Mapping[str, tuple[Version, ...]] = field(default_factory=dict)
    # (accession, local image path) -> thumbnail, for file tables
    file_thumbs: Mapping[tuple[str, str], Thumb] = field(default_factory=dict)
    # (accession, OME-Zarr path) -> ("Vizarr", url), ... from the local copy's layout
    viewers: Mapping[tuple[str, str], tuple[tuple[str, str], ...]] = field(default_factory=dict)
    # (accession, OME-Zarr path) -> "3 × 512 × 512 (c, y, x) · uint8 · …" for file tables
    zarr_details: Mapping[tuple[str, str], str] = field(default_factory=dict)

    # values computed once per build by the step factories (see ``once``)
    _memo: dict[str, object] = field(default_factory=dict, compare=False, repr=False)
    # accession -> what the site-wide steps need of the study (steps/summaries.py): kept
    # from the previous build by the builder (pipeline/groups.py), else made when asked
    summaries: dict[str, dict[str, Any]] = field(default_factory=dict, compare=False, repr=False)

    def once(self, key: str, make: Callable[[], T]) -> T:
        """``make()``, computed on the first call with ``key`` only: for what every study's
        step digest repeats (the site's digest), the context being fixed for a build."""
        if key not in self._memo:
            self._memo[key] = make()
        return cast(T, self._memo[key])

    def summary_of(self, entry: StudyEntry) -> dict[str, Any]:
        """The study's summary (``steps/summaries.py``)."""
        acc = entry.accession
        found = self.summaries.get(acc)
        if found is None:
            from catalogue.steps.summaries import study_summary

            found = self.summaries[acc] = study_summary(self, entry)
        return found

    @cached_property
    def newest(self) -> list[StudyEntry]:
        """The public studies, latest release first: the order of most lists."""
        return latest_first(self.catalogue.public())

    @cached_property
    def _local_by_study(
        self,
    ) -> dict[str, tuple[dict[str, Thumb], dict[str, tuple[tuple[str, str], ...]]]]:
        """file_thumbs and viewers grouped by accession once, not scanned once per study."""
        out: dict[str, tuple[dict[str, Thumb], dict[str, tuple[tuple[str, str], ...]]]] = {}
        for (acc, path), thumb in self.file_thumbs.items():
            out.setdefault(acc, ({}, {}))[0][path] = thumb
        for (acc, path), links in self.viewers.items():
            out.setdefault(acc, ({}, {}))[1][path] = links
        return out

    def local_of(
        self, accession: str
    ) -> tuple[dict[str, Thumb], dict[str, tuple[tuple[str, str], ...]]]:
        """(path -> thumbnail, path -> viewer links) of one study's local images."""
        return self._local_by_study.get(accession, ({}, {}))

    @cached_property
    def _details_by_study(self) -> dict[str, dict[str, str]]:
        out: dict[str, dict[str, str]] = {}
        for (acc, path), text in self.zarr_details.items():
            out.setdefault(acc, {})[path] = text
        return out

    def details_of(self, accession: str) -> dict[str, str]:
        """OME-Zarr path -> its shape line, for one study's file tables."""
        return self._details_by_study.get(accession, {})

    def local_extras(self, accession: str) -> list[object]:
        """Per-file thumbnails and viewer links of a study: an input of its file tables."""
        thumbs, links = self.local_of(accession)
        details = sorted(self.details_of(accession).items())
        return [sorted((p, repr(t)) for p, t in thumbs.items()), sorted(links.items()), details]

    @cached_property
    def site_digest(self) -> str:
        """The site's settings as one hash: an input of nearly every step, so dumped once a
        build rather than once a study and step."""
        from catalogue.pipeline.plan import digest_of

        return digest_of(self.site.model_dump(mode="json"))

    @cached_property
    def root(self) -> str:  # asked for ~400,000 times while planning 10,000 studies
        return site_root(self.site)

    @property
    def logo_url(self) -> str | None:
        from catalogue.steps.assets import logo_path

        path = logo_path(self.site)
        return f"{self.root}/{path}" if path else None

    def cover_of(self, entry: StudyEntry) -> Thumb | None:
        """The picture that stands for a study on cards: its first dataset thumbnail (only
        a dataset naming a representative image has one; read without the model)."""
        for ds_id, _ in entry.representatives:
            thumb = self.thumbs.get((entry.accession, ds_id))
            if thumb is not None and thumb.ok:
                return thumb
        return None

    def main_format(self, entry: StudyEntry) -> str | None:
        """The image format most of a study's files are in (else its commonest format), for
        the badge shown where there is no picture."""
        from catalogue.formats import IMAGE_FORMATS

        counts = format_counts(entry)
        if not counts:
            return None
        images = {f: n for f, n in counts.items() if f in IMAGE_FORMATS}
        pool = images or counts
        return max(sorted(pool), key=lambda f: pool[f])

    def versions_of(self, accession: str) -> tuple[Version, ...]:
        return self.versions.get(accession, ())

    def versions_digest(self, accession: str) -> list[object]:
        """The declared input of every step that shows a study's versions."""
        return [v.as_json() for v in self.versions_of(accession)]

    @cached_property
    def browse_slugs(self) -> dict[str, dict[str, str]]:
        """kind -> value -> slug of its browse page (organism, method, collection)."""
        out: dict[str, dict[str, str]] = {}
        browse = [self.summary_of(e)["browse"] for e in self.catalogue.public()]
        for kind in BROWSE_KINDS:
            values = sorted({v for b in browse for v in b[kind]})
            taken: set[str] = set()
            slugs: dict[str, str] = {}
            for value in values:
                # bounded: a long title would make a folder name no file system holds
                slug = "-".join(words(value))[:SLUG_LIMIT].rstrip("-") or "value"
                candidate, n = slug, 1
                while candidate in taken:
                    n += 1
                    candidate = f"{slug}-{n}"
                taken.add(candidate)
                slugs[value] = candidate
            out[kind] = slugs
        return out

    def browse_url(self, kind: str, value: str) -> str | None:
        """The no-JavaScript list of public studies with this organism, method or
        collection; None for a value no public study has (e.g. only an embargoed one)."""
        slug = self.browse_slugs.get(kind, {}).get(value)
        return None if slug is None else f"{self.root}/browse/{kind}/{slug}/"

    def search_url(self, facet: str, value: str) -> str | None:
        """The search page filtered to one value of a facet (licence, release year …)."""
        from urllib.parse import urlencode

        return f"{self.root}/search/?{urlencode({facet: value})}"

    def study_url(self, accession: str) -> str:
        return f"{self.root}/studies/{accession}/"

    def absolute(self, path: str) -> str:
        return self.site.base_url.rstrip("/") + path[len(self.root) :]

    def data_file_url(self, accession: str, path: str) -> str:
        from catalogue.render import url_path

        return f"{self.site.data_url}/{url_path(accession)}/{url_path(path)}"

    def page_globals(self) -> dict[str, object]:
        return {"site": self.site, "root": self.root, "ctx": self}


BROWSE_KINDS = ("organism", "method", "collection")


def browse_values(site: Site, kind: str, entry: StudyEntry) -> list[str]:
    """The values of a study under which the browse pages list it."""
    study = entry.study
    if kind == "organism":
        return sorted({o.label for o in study.organisms})
    if kind == "method":
        return sorted({m.label for m in study.imaging_methods})
    collection = site.collections.get(study.collection)
    return [collection.title if collection else study.collection]


def format_counts(entry: StudyEntry) -> dict[str, int]:
    """Format -> number of a study's listed files in it, over all its manifests."""
    counts: dict[str, int] = {}
    for summary in entry.manifests.values():
        for fmt, n in summary.formats:
            counts[fmt] = counts.get(fmt, 0) + n
    return counts


def site_root(site: Site) -> str:
    """URL path prefix of the site ('' when served at the host root)."""
    return urlparse(site.base_url).path.rstrip("/")


def latest_first(entries: tuple[StudyEntry, ...]) -> list[StudyEntry]:
    return sorted(entries, key=lambda e: (e.release_date, e.accession), reverse=True)
