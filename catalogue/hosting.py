"""What a host must send with each file of the site: its type, whether to compress it,
how long a browser or CDN may keep it, and the headers every answer carries.

One policy for every host, so that they cannot disagree: the generated nginx and Apache
configuration (``steps/redirects.py``) and the S3 deploy (``publish/deploy.py``) read it.

Cache lifetimes follow how files are named:

- content-addressed files (thumbnails) get a new name when their bytes change, so they
  are kept for a year (``immutable``);
- entry points (HTML pages, the JSON API, the search index, file-table chunks, sitemap,
  feed, ``urls.txt``) must be checked on every use
  (``no-cache``: the host answers ``304`` when unchanged), so that a redeploy never
  leaves a cached entry point naming a file that is gone;
- the rest (style sheets and scripts, which change only with a new version of the
  site's code) may be kept five minutes.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from catalogue.csp import CONTENT_SECURITY_POLICY

# Content types by file suffix, for every kind of file a build writes (and a few that a
# site may carry in its static assets). Text types are sent with their charset.
TYPES: dict[str, str] = {
    ".html": "text/html",
    ".css": "text/css",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".json": "application/json",
    ".jsonld": "application/ld+json",
    ".xml": "application/xml",
    ".txt": "text/plain",
    ".tsv": "text/tab-separated-values",
    ".csv": "text/csv",
    ".bib": "application/x-bibtex",
    ".ris": "application/x-research-info-systems",
    ".svg": "image/svg+xml",
    ".webp": "image/webp",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".wasm": "application/wasm",
    # the bulk tables (docs/api.md): compressed inside (zstd), so sent as they are
    ".parquet": "application/vnd.apache.parquet",
}
DEFAULT_TYPE = "application/octet-stream"

# Types sent compressed (gzip, brotli where the host has it) and with a charset.
TEXT_TYPES: tuple[str, ...] = (
    "text/html",
    "text/css",
    "text/javascript",
    "application/json",
    "application/ld+json",
    "application/xml",
    "text/plain",
    "text/tab-separated-values",
    "text/csv",
    "application/x-bibtex",
    "application/x-research-info-systems",
    "image/svg+xml",
)
# Compressed, but binary (no charset).
COMPRESSED_TYPES: tuple[str, ...] = (*TEXT_TYPES, "application/wasm")

IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=300"
NO_CACHE = "no-cache"

# Which paths (below the site root) get which lifetime, tried in order; no match means
# NO_CACHE. Regular expressions that PCRE (nginx, Apache) and Python read alike.
CACHE_RULES: tuple[tuple[str, str], ...] = (
    (r"thumbnails/", IMMUTABLE),
    (r"static/", SHORT),
)
_CACHE = [(re.compile("^" + pattern), value) for pattern, value in CACHE_RULES]

# Headers every answer carries, on every host that can send headers. This is the one
# place to add one (a Content-Security-Policy, say): nginx, Apache and the docs' tests
# take them from here.
COMMON_HEADERS: dict[str, str] = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,  # catalogue/csp.py
}


def content_type(rel: str) -> str:
    """The Content-Type of a site file (``rel`` relative to the site root)."""
    kind = TYPES.get(PurePosixPath(rel).suffix.lower(), DEFAULT_TYPE)
    return f"{kind}; charset=utf-8" if kind in TEXT_TYPES else kind


def cache_control(rel: str) -> str:
    """The Cache-Control of a site file (``rel`` relative to the site root)."""
    for pattern, value in _CACHE:
        if pattern.match(rel):
            return value
    return NO_CACHE


def compressible(rel: str) -> bool:
    return TYPES.get(PurePosixPath(rel).suffix.lower(), DEFAULT_TYPE) in COMPRESSED_TYPES
