#!/usr/bin/env python3
"""Every link of a built site that stays on the site must lead to a file of the site.

Reads every HTML page of the output folder, takes each href and src (and srcset) that
points into the site (relative, root-relative or under base_url), and resolves it as a
static host would (folder -> index.html, without query and fragment). Prints the count of
links checked and each broken one; exits 1 if there is one.

    PYTHONPATH=. python3 scripts/link_check.py build --base-url http://localhost:8000
"""

from __future__ import annotations

import argparse
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and name in ("href", "src"):
                self.links.append(value)
            elif value and name == "srcset":
                self.links += [part.split()[0] for part in value.split(",") if part.strip()]


def broken_links(site: Path, base_url: str) -> tuple[int, list[str]]:
    site = site.resolve()
    base = urlsplit(base_url)
    checked, broken = 0, []
    for page in sorted(site.rglob("*.html")):
        rel = page.relative_to(site).as_posix()
        here = f"{base.scheme}://{base.netloc}{base.path.rstrip('/')}/{rel}"
        parser = _Links()
        parser.feed(page.read_text(encoding="utf-8", errors="replace"))
        for link in parser.links:
            url = urlsplit(urljoin(here, link))
            if url.scheme not in ("http", "https") or url.netloc != base.netloc:
                continue
            path = unquote(url.path)
            prefix = base.path.rstrip("/")
            if not path.startswith(prefix + "/") and path != prefix:
                continue
            target = site / path[len(prefix) :].lstrip("/")
            checked += 1
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                broken.append(f"{rel}: {link}")
    return checked, broken


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("site", type=Path)
    parser.add_argument("--base-url", default="http://localhost:8000")
    args = parser.parse_args()
    checked, broken = broken_links(args.site, args.base_url)
    print(f"links: {checked} checked, {len(broken)} broken")
    for line in broken[:200]:
        print(line)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
