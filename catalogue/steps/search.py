"""The search index: the real Pagefind binary, run once over the written pages.

Pagefind reads the HTML in the staging folder, so the index can only contain what the
pages contain: an embargoed study that has no page cannot be found.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import subprocess
from pathlib import Path

import cbor2

OUTPUT_DIR = "pagefind"
# bump when the indexing or its post-processing changes: old indexes are then rebuilt
SEARCH_VERSION = "2"


class SearchIndexError(Exception):
    pass


def pagefind_executable() -> Path:
    import pagefind_bin

    return Path(pagefind_bin.get_executable())


def pagefind_version() -> str:
    result = subprocess.run(
        [str(pagefind_executable()), "--version"], capture_output=True, text=True, check=False
    )
    return result.stdout.strip()


INDEXED = "studies/*/index.html"


def build_index(site: Path) -> str:
    """Index the study pages of ``site`` into site/pagefind/; return Pagefind's summary.

    With no public study at all (for example every study still embargoed) there is nothing
    to index and Pagefind would refuse to run; the search page then says so instead of
    loading the search script (see templates/search.html).
    """
    if not any(_searchable(page) for page in site.glob(INDEXED)):
        # Pagefind indexes *every* page when none has data-pagefind-body: that would put
        # tombstones and redirect pages of withdrawn studies into the index.
        return "nothing to index"
    result = _run_pagefind(site, site / OUTPUT_DIR)
    if result.returncode != 0:
        raise SearchIndexError(
            f"pagefind failed (exit {result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    canonicalize(site / OUTPUT_DIR)
    lines = [ln.strip() for ln in result.stdout.splitlines() if "Indexed" in ln]
    return "; ".join(lines)


def _searchable(page: Path) -> bool:
    return b"data-pagefind-body" in page.read_bytes()


def _run_pagefind(source: Path, output: Path) -> subprocess.CompletedProcess[str]:
    cmd = [
        str(pagefind_executable()),
        "--site",
        str(source),
        "--output-path",
        str(output),
        "--force-language",
        "en",
        "--glob",
        INDEXED,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, check=False)


SIGNATURE = b"pagefind_dcd"


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9, mtime=0)


def _read_cbor(path: Path) -> object:
    raw = gzip.decompress(path.read_bytes())
    if not raw.startswith(SIGNATURE):
        raise SearchIndexError(f"unexpected Pagefind file format in {path.name}")
    return cbor2.loads(raw[len(SIGNATURE) :])


def _write_cbor(folder: Path, prefix: str, pattern: str, value: object, digits: int) -> str:
    """Write under a content-derived name (``pattern`` holds ``{}`` for it); return the name."""
    body = SIGNATURE + cbor2.dumps(value)
    name = f"{prefix}_{hashlib.sha256(body).hexdigest()[:digits]}"
    (folder / pattern.format(name)).write_bytes(_gzip(body))
    return name


def canonicalize(bundle: Path) -> None:
    """Make Pagefind's output byte-identical from run to run.

    Pagefind 1.x writes filter values, and the filter and sort lists of its metadata
    file, in hash-map order, which changes on every run. We sort those lists and rewrite
    each changed file under a name derived from its content, updating the references to
    it (metadata → filter files, entry file → metadata). The JS client only follows those
    references, so search behaves exactly as before.
    """
    entry_path = bundle / "pagefind-entry.json"
    entry = json.loads(entry_path.read_text(encoding="utf-8"))
    for language in entry.get("languages", {}).values():
        prefix = language["hash"].split("_", 1)[0]
        meta_path = bundle / f"pagefind.{language['hash']}.pf_meta"
        meta = _read_cbor(meta_path)
        assert isinstance(meta, list)
        if len(meta) > 3 and isinstance(meta[3], list):
            renamed = []
            for name, file_hash in meta[3]:
                path = bundle / "filter" / f"{file_hash}.pf_filter"
                data = _read_cbor(path)
                if isinstance(data, list) and len(data) > 1 and isinstance(data[1], list):
                    data[1] = sorted(data[1], key=lambda item: str(item[0]))
                path.unlink()
                renamed.append([name, _write_cbor(path.parent, prefix, "{}.pf_filter", data, 7)])
            meta[3] = sorted(renamed, key=lambda item: str(item[0]))
        if len(meta) > 4 and isinstance(meta[4], list):
            meta[4] = sorted(meta[4], key=lambda item: str(item[0]))
        meta_path.unlink()
        language["hash"] = _write_cbor(bundle, prefix, "pagefind.{}.pf_meta", meta, 10)
    entry_path.write_text(
        json.dumps(entry, sort_keys=True, ensure_ascii=False, separators=(",", ":")),
        encoding="utf-8",
    )
