"""``catalogue check-urls``: is every URL the previous site served still served?

URLs are a contract (papers print them), so a release must not drop one. Each build
writes ``urls.txt`` (see steps/urllist.py); CI fetches the ``urls.txt`` of the site that
is deployed now and compares it with the new build before deploying. A withdrawn study
still answers with its tombstone and a merged accession with a redirect, so neither is
"gone"; a study that was public and is now embargoed again, or a deleted page, is.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class UrlList:
    paths: frozenset[str]
    prefixes: tuple[str, ...]  # sorted; from lines ending in "*"

    def serves(self, path: str) -> bool:
        # exact paths first: prefixes (renamed accessions) are few and rarely consulted
        return path in self.paths or path.startswith(self.prefixes)


def parse(lines: Iterable[str]) -> UrlList:
    """One URL path a line; blank lines and ``#`` comments are skipped. Full URLs
    (``https://host/path``) are accepted and reduced to their path, so a list made by
    another tool, or a sitemap's locations, can be compared too."""
    paths: set[str] = set()
    prefixes: set[str] = set()
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if "://" in line:
            parts = urlsplit(line)
            line = parts.path or "/"
        if line.endswith("*"):
            prefixes.add(line[:-1])
        else:
            paths.add(line)
    return UrlList(frozenset(paths), tuple(sorted(prefixes)))


def gone(previous: UrlList, current: UrlList) -> list[str]:
    """The URLs (and URL patterns) served before and not served now, sorted."""
    lost = [p for p in previous.paths if not current.serves(p)]
    lost += [f"{p}*" for p in previous.prefixes if p not in current.prefixes]
    return sorted(lost)
