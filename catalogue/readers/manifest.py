"""Streaming reader and checker of ``<dataset>.files.tsv`` manifests.

Manifests can have millions of rows, so nothing here holds a whole manifest: rows are
checked one at a time and only a summary (counts, sizes, formats, the first rows) is kept.
"""

from __future__ import annotations

import codecs
import functools
import hashlib
import os
import pickle
import re
import signal
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote

from catalogue.formats import file_format, zarr_root
from catalogue.identifiers import SHA256_RE
from catalogue.model import FileRow, ManifestSummary
from catalogue.problems import Problem, problem
from catalogue.readers import summary_cache
from catalogue.spreadsheet import looks_like_formula

REQUIRED = ("path", "size")
MAX_SIZE = 2**63 - 1  # the largest file size file systems and S3 can express
# C0 and C1 controls (U+0085 is a line break to some readers) and the Unicode line and
# paragraph separators, which split a path in two in logs, terminals and editors
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# what file systems (ext4, XFS, APFS, NTFS) and tools hold: bytes per name and per path
MAX_NAME_BYTES = 255
MAX_PATH_BYTES = 4096
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f]")
# columns the published manifest and the file table add themselves
RESERVED = ("url", "format", "preview")
KNOWN = ("path", "size", "sha256")
PREVIEW_ROWS = 5  # the study page shows 5; each more is unpickled with every cached study
# distinct values kept per attribute column for site-wide search (a compound screen has
# a few thousand compounds; a column with more is an identifier, not a vocabulary)
VALUE_LIMIT = 5000
# columns whose values are codes, not words a reader types
_UNSEARCHED = re.compile(r"smiles|inchi|sha\d*|md5|checksum|hash|uri|url|path", re.IGNORECASE)
_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?%?$")


def path_problem(p: str) -> str | None:
    """Why a manifest path could escape or confuse the data folder, or None if it is safe."""
    if not p:
        return "empty path"
    size = len(p.encode("utf-8", "surrogatepass"))
    if size > MAX_PATH_BYTES:
        return (
            f"path {p[:40]!r}… of {size} bytes is longer than file systems allow ({MAX_PATH_BYTES})"
        )
    if p.startswith("/"):
        return f"path {p!r} must be relative (no leading '/')"
    if "\\" in p:
        return f"path {p!r} must use '/' as separator, not '\\'"
    if _CONTROL.search(p):
        return f"path {p!r} contains a control character"
    if _BIDI.search(p):
        # e.g. U+202E makes "gnp.exe" display as "exe.png": a disguised file type
        return f"path {p!r} contains a bidirectional text control character"
    if looks_like_formula(p):
        return f"path {p!r} starts like a spreadsheet formula (=, @, or + and - with a call)"
    parts = p.split("/")
    if ".." in parts:
        return f"path {p!r} must not contain '..'"
    if "" in parts or "." in parts:
        return f"path {p!r} has an empty or '.' segment"
    if any(not part.strip() for part in parts):
        return f"path {p!r} has a name that is only spaces"
    long = next(
        (part for part in parts if len(part.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES),
        None,
    )
    if long is not None:
        return f"name {long[:40]!r}… is longer than file systems allow ({MAX_NAME_BYTES} bytes)"
    return None


MAX_LINE = 65_536  # characters; a real row is under a few thousand
# C0 controls but the tab (the separator), and DEL: invisible in a page, dropped or
# mangled by browsers (NUL), terminal escapes (ESC), never part of a file's metadata.
# (C1 controls and U+2028/2029 in a path are E043, as path_problem says.)
_LINE_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def line_problem(text: str) -> tuple[int, str] | None:
    """(column, message) when a manifest line cannot be published as it is."""
    if len(text) > MAX_LINE:
        return 1, f"line of {len(text):,} characters (at most {MAX_LINE:,})"
    bad = _LINE_CONTROL.search(text)
    if bad is not None:
        column, char = bad.start() + 1, bad.group()
        hint = {
            "\r": " (lines ended by a lone CR, as old Mac files are: save with LF endings)",
            "\x00": " (a NUL byte: is this a binary file, or UTF-16?)",
        }.get(char, "")
        return column, f"control character U+{ord(char):04X} at column {column}{hint}"
    return None


def _lines(path: Path, hasher: hashlib._Hash | None = None) -> Iterator[tuple[int, str | None]]:
    """(line number, text or None when the line is not UTF-8), without line endings."""
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            if hasher is not None:
                hasher.update(raw)
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                yield number, raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError:
                yield number, None


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def summarize(path: Path, rel: str) -> tuple[ManifestSummary | None, list[Problem]]:
    """Check every row and summarise the manifest, or reuse the result for the same bytes."""
    if not path.is_file():
        return None, [problem(rel, 0, "E040", "manifest file not found")]
    digest = file_sha256(path)
    cached = summary_cache.get(digest, rel)
    if cached is not None:
        return cached
    clean = _summarize_big(path, rel)
    summary, problems = (clean, []) if clean is not None else _summarize(path, rel)
    if summary is None or summary.digest == digest:  # not changed while we read it
        summary_cache.put(digest, rel, summary, problems)
    return summary, problems


CLEAN_FROM = 1 << 20  # bytes of a manifest from which it is first read a column at a time


def _summarize_big(path: Path, rel: str) -> ManifestSummary | None:
    """``_summarize_clean`` of a manifest of CLEAN_FROM bytes or more (below, reading it
    row by row is as fast as starting Arrow), in a forked child process where one can be
    forked: Arrow's libraries and allocators take 100 MiB or more of a process that uses
    them, and the build's own process, whose memory every worker starts from, need not
    load them only to read manifests. None: read it row by row."""
    if path.stat().st_size < CLEAN_FROM:
        return None
    if "pyarrow.compute" in sys.modules or not hasattr(os, "fork"):
        return _summarize_clean(path, rel)  # loaded already: no memory to keep out
    if threading.active_count() > 1:  # a fork copies one thread: another's locks hang
        return _summarize_clean(path, rel)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: say the summary, or nothing, and end without cleaning up
        code = 1
        try:
            os.close(read)
            with os.fdopen(write, "wb") as out:
                out.write(pickle.dumps(_summarize_clean(path, rel)))
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    try:
        with os.fdopen(read, "rb") as received:
            data = received.read()
    except BaseException:  # interrupted: the child's work is of no use
        os.kill(pid, signal.SIGKILL)
        raise
    finally:
        _, status = os.waitpid(pid, 0)
    if status != 0 or not data:
        return None  # the child failed: the row-by-row reading will say why, if it can
    summary: ManifestSummary | None = pickle.loads(data)
    return summary


def _summarize(path: Path, rel: str) -> tuple[ManifestSummary | None, list[Problem]]:
    """Check every row and summarise the manifest in one pass."""
    problems: list[Problem] = []
    hasher = hashlib.sha256()
    header: list[str] | None = None
    seen_paths: set[bytes] = set()
    count = total = unknown = hashed = 0
    formats: Counter[str] = Counter()
    preview: list[FileRow] = []
    zarrs: set[str] = set()  # Zarr folders seen: one table row (one image) each
    image_files = 0
    # Zarr images among the preview rows: root -> [index in preview, size, unknown, files]
    zarr_preview: dict[str, list[int]] = {}
    values: dict[str, set[str] | None] = {}
    value_columns: list[str] = []
    for number, text in _lines(path, hasher):
        if text is None:
            problems.append(problem(rel, number, "E048", "line is not valid UTF-8"))
            continue
        if not text.strip():
            continue
        unreadable = line_problem(text)
        if unreadable is not None:
            problems.append(problem(rel, number, "E049", unreadable[1], unreadable[0]))
            if header is None:
                return None, problems  # no header to read the rows by
            continue
        cells = text.split("\t")
        if header is None:
            header = [c.strip() for c in cells]
            problems.extend(_header_problems(header, rel, number))
            if any(p.code == "E041" for p in problems):
                return None, problems  # without a path column no row can be read
            value_columns = [
                c for c in header if c not in KNOWN and c and not _UNSEARCHED.search(c)
            ]
            values = {c: set() for c in value_columns}
            continue
        if len(cells) != len(header):
            problems.append(
                problem(
                    rel,
                    number,
                    "E042",
                    f"row has {len(cells)} cells but the header has {len(header)}",
                )
            )
            continue
        row = dict(zip(header, cells, strict=True))
        p = row.get("path", "")
        why = path_problem(p)
        if why:
            problems.append(problem(rel, number, "E043", why))
        key = hashlib.blake2b(p.encode(), digest_size=12).digest()
        if key in seen_paths:
            problems.append(problem(rel, number, "E044", f"duplicate path {p!r}"))
        seen_paths.add(key)
        size: int | None = None
        raw_size = row.get("size", "").strip()
        if raw_size:
            try:
                size = int(raw_size)
                if size < 0 or size > MAX_SIZE:
                    raise ValueError
            except ValueError:
                problems.append(
                    problem(
                        rel,
                        number,
                        "E045",
                        f"size {raw_size!r} is not a number of bytes from 0 to 2**63-1",
                    )
                )
                size = None
        sha = row.get("sha256", "").strip() or None
        if sha is not None and not SHA256_RE.match(sha):
            problems.append(
                problem(rel, number, "E046", f"sha256 {sha!r} is not 64 lower-case hex digits")
            )
        count += 1
        if sha is not None:
            hashed += 1
        if size is None:
            unknown += 1
        else:
            total += size
        formats[file_format(p)] += 1
        root = zarr_root(p)
        if root is not None:
            image_files += 1
            if root not in zarrs:
                zarrs.add(root)
                if len(preview) < PREVIEW_ROWS:
                    zarr_preview[root] = [len(preview), 0, 0, 0]
                    preview.append(_row(row, header, None, None))
            agg = zarr_preview.get(root)
            if agg is not None:
                agg[1] += size or 0
                agg[2] += size is None
                agg[3] += 1
        elif len(preview) < PREVIEW_ROWS:
            preview.append(_row(row, header, size, sha))
        for column in value_columns:
            seen = values[column]
            if seen is not None:
                value = row[column].strip()
                if value:
                    seen.add(value)
                    if len(seen) > VALUE_LIMIT:
                        values[column] = None
    if header is None:
        problems.append(problem(rel, 1, "E041", "manifest is empty: a header row is required"))
        return None, problems
    if any(p.code == "E041" for p in problems):
        return None, problems
    for root, (at, z_size, z_unknown, z_files) in zarr_preview.items():
        z_total = None if z_unknown == z_files else z_size
        update = {"path": root, "size": z_total, "sha256": None, "files": z_files}
        preview[at] = preview[at].model_copy(update=update)
    return ManifestSummary(
        source=rel,
        digest=hasher.hexdigest(),
        columns=tuple(c for c in header if c not in KNOWN),
        count=count,
        total_size=total,
        unknown_sizes=unknown,
        formats=tuple(sorted(formats.items())),
        preview=tuple(preview),
        values=_searchable_values(values),
        checksums=hashed,
        images=len(zarrs),
        image_files=image_files,
    ), problems


def _searchable_values(
    values: dict[str, set[str] | None],
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Columns whose distinct values are words a reader might search for."""
    out = []
    for column, seen in values.items():
        if not seen or all(_NUMBER.match(v) for v in seen):
            continue
        out.append((column, tuple(sorted(seen))))
    return tuple(out)


def _header_problems(header: list[str], rel: str, line: int) -> list[Problem]:
    out = []
    for name in REQUIRED:
        if name not in header:
            out.append(problem(rel, line, "E041", f"header lacks the required column '{name}'"))
    for name in RESERVED:
        if name in header:
            out.append(
                problem(
                    rel,
                    line,
                    "E047",
                    f"column '{name}' is reserved (the published file list adds it); rename it, "
                    f"e.g. to 'submitted {name}'",
                )
            )
    dupes = sorted({c for c in header if header.count(c) > 1})
    for name in dupes:
        out.append(problem(rel, line, "E047", f"column '{name}' appears more than once"))
    if any(not c for c in header):
        out.append(problem(rel, line, "E047", "header has an empty column name"))
    return out


def _row(row: dict[str, str], header: list[str], size: int | None, sha: str | None) -> FileRow:
    return FileRow(
        path=row["path"],
        size=size,
        sha256=sha,
        attributes=tuple((c, row[c]) for c in header if c not in KNOWN),
    )


# A path that no check of ``path_problem`` can object to: printable ASCII, no backslash,
# segments that are not empty, "." or "..", nor only spaces and dots; not too long (see
# ``_summarize_clean``, which also rules out a first character of a formula)
_SEGMENT = r"[ -.0-\[\]-~]*[!--0-\[\]-~][ -.0-\[\]-~]*"
_PLAIN_PATH = rf"^{_SEGMENT}(?:/{_SEGMENT})*$"
# bytes no line of a clean manifest holds (C0 controls but tab, LF and CR, and DEL)
_NOT_CONTROL = bytes(b for b in range(256) if not (b < 32 and b not in (9, 10, 13) or b == 127))
_INNER_CR = re.compile(rb"\r[^\r\n]")


class _Unclean(Exception):
    """The manifest may have a problem: ``_summarize`` reads it row by row and says which."""


class _CheckedReader:
    """A binary file as Arrow's CSV reader reads it, hashed on the way, that stops at a
    byte no clean line holds (a control character, a CR inside a line, bytes that are not
    UTF-8)."""

    closed = False

    def __init__(self, fh: BinaryIO, hasher: hashlib._Hash) -> None:
        self.fh, self.hasher, self.last = fh, hasher, b""
        self.utf8 = codecs.getincrementaldecoder("utf-8")()  # E048 before Arrow sees it

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self.fh.read(size)
        self.hasher.update(data)
        if data.translate(None, _NOT_CONTROL):
            raise _Unclean
        try:
            self.utf8.decode(data, final=not data)
        except UnicodeDecodeError:
            raise _Unclean from None
        if (b"\r" in data or self.last == b"\r") and _INNER_CR.search(self.last + data):
            raise _Unclean
        self.last = data[-1:]
        return data


def _summarize_clean(path: Path, rel: str) -> ManifestSummary | None:
    """``_summarize`` of a manifest with no problem and no Zarr folder, a column at a time
    (pyarrow compute), or None when that cannot be said without reading it row by row.

    Why: checking the 1.3-million-row manifest cell by cell in Python took 15 s of a
    build's 40. Each check here either proves a whole column clean or sends the few rows
    it cannot clear to the very functions ``_summarize`` uses (``path_problem``, ``int``);
    anything it would report (or a path that could be a duplicate) hands the manifest to
    ``_summarize``, so problems are found, worded and ordered by one implementation."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    hasher = hashlib.sha256()
    with path.open("rb") as fh:
        header: list[str] | None = None
        number = 0
        while header is None:
            raw = fh.readline()
            hasher.update(raw)
            if not raw:
                return None
            number += 1
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                text = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError:
                return None
            if not text.strip():
                continue
            if line_problem(text) is not None:
                return None
            header = [c.strip() for c in text.split("\t")]
        if _header_problems(header, rel, number):
            return None
        value_columns = [c for c in header if c not in KNOWN and c and not _UNSEARCHED.search(c)]
        values: dict[str, set[str] | None] = {c: set() for c in value_columns}
        wrong_length = False

        def invalid(row: Any) -> str:
            nonlocal wrong_length
            if row.text.strip():
                wrong_length = True  # E042; a blank line is only left out
            return "skip"

        try:
            batches = _csv_batches(_CheckedReader(fh, hasher), len(header), invalid)
            if batches is None:
                return None
            at = {name: i for i, name in enumerate(header)}
            pi, si, hi = at["path"], at["size"], at.get("sha256")
            count = total = unknown = hashed = 0
            formats: Counter[str] = Counter()
            preview: list[FileRow] = []
            keys: list[Any] = []  # hash() of every path: duplicates are looked for at the end
            for batch in batches:
                if wrong_length:
                    return None
                columns = list(batch.columns)
                blank = pc.match_substring_regex(columns[pi], _BLANK)
                if pc.any(blank).as_py():  # rows of blank cells: a blank line
                    for column in columns:
                        blank = pc.and_(blank, pc.match_substring_regex(column, _BLANK))
                    columns = [c.filter(pc.invert(blank)) for c in columns]
                n = len(columns[0])
                if not n:
                    continue
                longest = sum(pc.max(pc.binary_length(c)).as_py() or 0 for c in columns)
                if longest + len(columns) - 1 > MAX_LINE:  # maybe a line too long: count
                    chars = pc.add(
                        functools.reduce(pc.add, (pc.utf8_length(c) for c in columns)),
                        len(columns) - 1,
                    )
                    if pc.max(chars).as_py() > MAX_LINE:
                        return None
                paths = columns[pi]
                ascii_paths = pc.string_is_ascii(paths)
                doubtful = pc.or_(
                    pc.invert(pc.match_substring_regex(paths, _PLAIN_PATH)),
                    pc.or_(
                        pc.match_substring_regex(paths, "^[-=+@]"),
                        pc.greater(pc.binary_length(paths), MAX_NAME_BYTES),
                    ),
                )
                if pc.any(doubtful).as_py() and any(
                    path_problem(p) for p in paths.filter(doubtful).to_pylist()
                ):
                    return None
                zarr = pc.match_substring_regex(paths, r"(?i)\.zarr(?:/|$)")
                if pc.any(pc.or_(zarr, pc.invert(ascii_paths))).as_py():
                    others = paths.filter(pc.invert(ascii_paths)).to_pylist()
                    if pc.any(zarr).as_py() or any(zarr_root(p) for p in others):
                        return None  # Zarr images: row by row
                keys.append(np.fromiter(map(hash, paths.to_pylist()), dtype=np.int64, count=n))
                raw_size = strip_column(columns[si])
                digits = pc.match_substring_regex(raw_size, r"^[0-9]{1,18}$")
                empty = pc.equal(raw_size, "")
                odd = pc.invert(pc.or_(digits, empty))
                if pc.any(odd).as_py():  # "+5", "1_000", 19 digits: as _summarize reads them
                    for text_size in raw_size.filter(odd).to_pylist():
                        try:
                            size = int(text_size)
                        except ValueError:
                            return None
                        if size < 0 or size > MAX_SIZE:
                            return None
                        total += size
                known = pc.cast(pc.if_else(digits, raw_size, "0"), pa.int64()).to_numpy()
                # in two halves: a sum of int64 sizes may not fit in an int64
                total += (int((known >> 32).sum()) << 32) + int((known & 0xFFFFFFFF).sum())
                unknown += pc.sum(empty).as_py() or 0
                if hi is not None:
                    sha = strip_column(columns[hi])
                    filled = pc.not_equal(sha, "")
                    wrong = pc.invert(pc.match_substring_regex(sha, "^[0-9a-f]{64}$"))
                    if pc.any(pc.and_(filled, wrong)).as_py():
                        return None
                    hashed += pc.sum(filled).as_py() or 0
                counted = pc.value_counts(formats_of(paths))
                formats.update(
                    dict(
                        zip(
                            counted.field("values").to_pylist(),
                            counted.field("counts").to_pylist(),
                            strict=True,
                        )
                    )
                )
                for column, seen in values.items():
                    if seen is not None:
                        seen.update(pc.unique(strip_column(columns[at[column]])).to_pylist())
                        seen.discard("")
                        if len(seen) > VALUE_LIMIT:
                            values[column] = None
                for i in range(min(n, PREVIEW_ROWS - len(preview))):
                    row = dict(zip(header, (c[i].as_py() for c in columns), strict=True))
                    size_text = row["size"].strip()
                    preview.append(
                        _row(
                            row,
                            header,
                            int(size_text) if size_text else None,
                            row.get("sha256", "").strip() or None,
                        )
                    )
                count += n
        except (_Unclean, pa.ArrowException):
            return None
    if wrong_length:
        return None
    if keys:
        every = np.sort(np.concatenate(keys))
        if (every[1:] == every[:-1]).any():
            return None  # maybe a duplicate path (or two paths of one hash)
    return ManifestSummary(
        source=rel,
        digest=hasher.hexdigest(),
        columns=tuple(c for c in header if c not in KNOWN),
        count=count,
        total_size=total,
        unknown_sizes=unknown,
        formats=tuple(sorted(formats.items())),
        preview=tuple(preview),
        values=_searchable_values(values),
        checksums=hashed,
        images=0,
        image_files=0,
    )


# where a manifest's header puts path, size, sha256 (None: no such column) and the given
# attribute columns
Positions = tuple[int, int, int | None, list[int]]


def column_positions(head: list[str], columns: tuple[str, ...]) -> Positions:
    """Positions in ``head`` (as ``iter_cells`` and ``iter_tables`` give it) of the known
    columns and of ``columns`` (a summary's attribute columns), in that order."""
    return (
        head.index("path"),
        head.index("size"),
        head.index("sha256") if "sha256" in head else None,
        [head.index(c) for c in columns],
    )


def iter_cells(path: Path) -> Iterator[tuple[list[str], list[str]]]:
    """(header, cells) of each well-formed row of a manifest that passed ``summarize``.

    The raw form, for steps that stream millions of rows and need no model objects.
    """
    header: list[str] | None = None
    for _, text in _lines(path):
        if not text or not text.strip():
            continue
        cells = text.split("\t")
        if header is None:
            header = [c.strip() for c in cells]
            continue
        if len(cells) == len(header):
            yield header, cells


TABLE_ROWS = 16_384  # rows of a table from ``iter_tables``: a few MiB of Arrow strings
# bytes Arrow's CSV reader parses at once: more than a line can take (MAX_LINE characters
# of up to 4 bytes); larger blocks (and its threads) cost memory, not time: 4 MiB blocks
# held 190 MiB more while reading a 231 MB manifest than these
CSV_BLOCK = 512 << 10
# what str.strip() takes away (no character past U+3000 is white space)
WHITESPACE = "".join(c for c in map(chr, range(0x3001)) if c.isspace())
_BLANK = "^[" + "".join(f"\\x{{{ord(c):x}}}" for c in WHITESPACE) + "]*$"  # a blank line


def iter_tables(path: Path, rows: int = TABLE_ROWS) -> Iterator[tuple[list[str], Any]]:
    """(header, table) of a manifest that passed ``summarize``, ``rows`` rows a table (the
    last one fewer): the rows of ``iter_cells`` as a pyarrow Table of string columns
    ``c0``, ``c1``… in header order.

    Why: a step that streams a 1.3-million-row manifest spends most of its time in Python
    on each cell; Arrow's CSV reader splits the rows in C++ and the steps then work on
    whole columns (``formats_of``, ``urls_of``). Same rows as ``iter_cells``: the header is
    the first line that is not blank, blank lines and rows of the wrong length are left out,
    no quoting (a manifest is plain tab-separated text)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    with path.open("rb") as fh:
        header: list[str] | None = None
        number = 0
        while header is None:
            raw = fh.readline()
            if not raw:
                return
            number += 1
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                text = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError:
                continue
            if text.strip():
                header = [c.strip() for c in text.split("\t")]
        reader = _csv_batches(fh, len(header), lambda row: "skip")  # as iter_cells
        if reader is None:
            return
        pending: list[Any] = []
        held = 0
        for batch in reader:
            blank = pc.match_substring_regex(batch.column(0), _BLANK)
            if pc.any(blank).as_py():  # rare: a line of tabs and spaces only
                for column in batch.columns[1:]:
                    blank = pc.and_(blank, pc.match_substring_regex(column, _BLANK))
                batch = batch.filter(pc.invert(blank))
            if not batch.num_rows:
                continue
            pending.append(batch)
            held += batch.num_rows
            while held >= rows:
                table = pa.Table.from_batches(pending)
                yield header, table.slice(0, rows).combine_chunks()
                pending = table.slice(rows).to_batches()
                held -= rows
        if held:
            yield header, pa.Table.from_batches(pending).combine_chunks()


def _csv_batches(fh: Any, width: int, invalid: Callable[[Any], str]) -> Any:
    """Arrow's CSV reader over the rest of a manifest after its header: record batches of
    ``width`` string columns ``c0``…, every cell as written (no quoting, no nulls);
    ``invalid`` is told of each line of another width. None when no line is left."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    names = [f"c{i}" for i in range(width)]
    try:
        return pcsv.open_csv(
            fh,
            read_options=pcsv.ReadOptions(
                column_names=names, use_threads=False, block_size=CSV_BLOCK
            ),
            parse_options=pcsv.ParseOptions(
                delimiter="\t",
                quote_char=False,
                double_quote=False,
                escape_char=False,
                newlines_in_values=False,
                ignore_empty_lines=True,
                invalid_row_handler=invalid,
            ),
            convert_options=pcsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as exc:
        if "Empty CSV" in str(exc):
            return None
        raise


def formats_of(paths: Any) -> Any:
    """``file_format`` of every path of a pyarrow string array, as one: the format hangs
    on the name's last two suffixes (``.ome.tif``) and a ``.zarr/`` folder, so each
    distinct tail is named once. Names that are not ASCII (whose lower case Python and
    Arrow may spell differently) are named one by one."""
    import pyarrow as pa
    import pyarrow.compute as pc

    lower = pc.ascii_lower(paths)
    tails = pc.struct_field(pc.extract_regex(lower, r"(?P<t>(?:\.[^./]*)?\.[^./]*)$"), [0])
    encoded = pc.dictionary_encode(tails)
    named = pa.array([file_format(t) for t in encoded.dictionary.to_pylist()], pa.string())
    out = pc.fill_null(pc.take(named, encoded.indices), "other")
    in_zarr = pc.match_substring(lower, ".zarr/")
    if pc.any(in_zarr).as_py():
        zarr = pc.if_else(pc.match_substring(lower, ".ome.zarr/"), "OME-Zarr", "Zarr")
        out = pc.if_else(in_zarr, zarr, out)
    return by_python(out, paths, pc.invert(pc.string_is_ascii(paths)), file_format)


def urls_of(prefix: str, paths: Any) -> Any:
    """``prefix + quote(path, safe="/")`` of every path of a pyarrow string array; only
    paths with characters that need quoting go through ``quote``."""
    import pyarrow.compute as pc

    quoted = by_python(
        paths,
        paths,
        pc.invert(pc.match_substring_regex(paths, r"^[A-Za-z0-9_.~/-]*$")),
        lambda p: quote(p, safe="/"),
    )
    return pc.binary_join_element_wise(prefix, quoted, "")


def strip_column(values: Any) -> Any:
    """``str.strip()`` of every value of a pyarrow string array."""
    import pyarrow.compute as pc

    return pc.utf8_trim(values, characters=WHITESPACE)


def by_python(out: Any, source: Any, mask: Any, function: Callable[[Any], str]) -> Any:
    """``out`` with the rows of ``mask`` replaced by ``function`` of ``source``'s value."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not pc.any(mask).as_py():
        return out
    values = [function(v) for v in source.filter(mask).to_pylist()]
    return pc.replace_with_mask(out, mask, pa.array(values, pa.string()))


def iter_rows(path: Path) -> Iterator[FileRow]:
    """Rows of a manifest that already passed ``summarize``, as model objects."""
    for header, cells in iter_cells(path):
        row = dict(zip(header, cells, strict=True))
        raw_size = row.get("size", "").strip()
        size = int(raw_size) if raw_size.isdigit() else None
        yield _row(row, header, size, row.get("sha256", "").strip() or None)
