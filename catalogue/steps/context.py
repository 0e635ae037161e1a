"""What every rendering step shares: the catalogue, the site's URLs and the templates.

Built once per run by the builder and passed to step factories; never mutated.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from urllib.parse import urlparse

import jinja2

from ..model import Catalogue, Site, Study, StudyEntry


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

    @property
    def root(self) -> str:
        return site_root(self.site)

    def study_url(self, accession: str) -> str:
        return f"{self.root}/studies/{accession}/"

    def absolute(self, path: str) -> str:
        return self.site.base_url.rstrip("/") + path[len(self.root) :]

    def data_file_url(self, accession: str, path: str) -> str:
        from ..render import url_path

        return f"{self.site.data_url}/{url_path(accession)}/{url_path(path)}"

    def page_globals(self) -> dict[str, object]:
        return {"site": self.site, "root": self.root, "ctx": self}


def site_root(site: Site) -> str:
    """URL path prefix of the site ('' when served at the host root)."""
    return urlparse(site.base_url).path.rstrip("/")


def release_year(study: Study) -> str:
    return str(study.release_date.year)


def latest_first(entries: tuple[StudyEntry, ...]) -> list[StudyEntry]:
    return sorted(entries, key=lambda e: (e.study.release_date, e.study.accession), reverse=True)


def iso(d: dt.date) -> str:
    return d.isoformat()
