"""The static search index: exact words by field, facets as bit sets, numbers for ranges.

Why not a general full-text engine: readers of an archive search for exact things (a gene,
a compound, an accession, an organism) and combine them (``organism:"Mus musculus" NOT
simulated``, ``released:2020..2023``), and they expect facet counts that add up. Prefix and
fuzzy matching (what general site-search tools do by default) answers an unknown word with
unrelated studies, and facet counts computed after filtering are wrong for OR within a
facet. This index gives the browser what it needs to evaluate such queries exactly, and
keeps what a first search downloads small by splitting everything into files fetched on
demand:

``search/index/meta.json``
    the entry point: counts, shard and block sizes, facet names, attribute fields, and a
    version of the whole index (the browser appends it as ``?v=`` so caches never mix builds);
``w<k>.json``
    word shards: ``{key: postings}``; a key is a stemmed word (``cell``) or, for attribute
    values, ``word@column`` (``amodiaquine@compound_name``); a key lives in the shard of a
    hash of its first three characters, so a prefix query ``nuc*`` reads one shard;
``facets.json``
    per facet, per value, the set of studies;
``d<k>.json``, ``v<k>.json``
    per block of studies, what a result shows (title, URL, thumbnail, snippet …) and the
    distinct attribute values per dataset (to name the dataset and value a hit came from);
``n-released.json``, ``n-size.json``, ``n-files.json``, ``n-title.json``
    per study, its release day, size, file count and title rank, for ranges and sorting
    (base64 of little-endian typed arrays: 2 to 8 bytes a study).

Studies are numbered 0…N-1 in accession order. Postings are base64 of unsigned LEB128
varints: (gap, field mask) pairs for words, gaps alone for ``@column`` keys. Sets of
studies are either the same gap lists (prefix ``d``) or bit sets (prefix ``b``, bit i of
byte i // 8 is study i), whichever is smaller. The same format is read by
``templates/static/query.js`` and ``catalogue/search/query.py``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from catalogue.search.text import FIELDS, column_field, keys, words

FORMAT = 1
DOC_BLOCK = 16  # studies per d<k>.json / v<k>.json: a first page of results reads few bytes
SNIPPET = 220  # characters of description shown in a result
# studies per word shard: the shard count grows with the archive (and is known before
# the words are, so that the build can declare its outputs up front)
STUDIES_PER_SHARD = 25
MAX_SHARDS = 4096
# distinct values per dataset column kept for naming a hit (the rest are still indexed)
VALUES_SHOWN = 2000

_MD_LINK = re.compile(r"\]\([^)]*\)|<[^>]+>|https?://\S+")
_SPACE = re.compile(r"\s+")


@dataclass
class StudyText:
    """What the index holds of one study, from the model alone."""

    accession: str
    title: str
    url: str
    thumbnail: str
    released: str  # ISO date
    description: str
    size: int
    files: int
    fields: dict[str, list[str]]  # field name -> texts
    facets: dict[str, list[str]]  # facet name -> values
    # dataset id -> column -> distinct values
    values: dict[str, dict[str, Sequence[str]]] = field(default_factory=dict)


def varint(out: bytearray, n: int) -> None:
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return


def _table() -> list[bytes]:
    table = []
    for n in range(1 << 14):
        b = bytearray()
        varint(b, n)
        table.append(bytes(b))
    return table


# LEB128 bytes of every number below 2**14 (almost every gap and every field mask)
_VARINT = _table()


def _leb(n: int) -> bytes:
    if n < 16384:
        return _VARINT[n]
    b = bytearray()
    varint(b, n)
    return bytes(b)


def encode_gaps(ids: Iterable[int], masks: Iterable[int] | None = None) -> str:
    parts: list[bytes] = []
    last = -1
    if masks is None:
        for i in ids:
            parts.append(_leb(i - last - 1))
            last = i
    else:
        for i, m in zip(ids, masks, strict=True):
            parts.append(_leb(i - last - 1))
            parts.append(_leb(m))
            last = i
    return base64.b64encode(b"".join(parts)).decode()


def encode_set(ids: Sequence[int], n: int) -> str:
    """A set of studies as gaps or as a bit set, whichever is shorter."""
    gaps = encode_gaps(ids)
    bits_len = (n + 7) // 8
    if len(gaps) * 3 // 4 <= bits_len:
        return "d" + gaps
    bits = bytearray(bits_len)
    for i in ids:
        bits[i >> 3] |= 1 << (i & 7)
    return "b" + base64.b64encode(bytes(bits)).decode()


def shard_of(key: str, shards: int) -> int:
    """Shard of a key: a hash of its first three characters (so prefixes share a shard)."""
    return zlib.crc32(key[:3].encode()) % shards


def shard_count(studies: int) -> int:
    return max(1, min(MAX_SHARDS, math.ceil(studies / STUDIES_PER_SHARD)))


def plain(markdown_text: str) -> str:
    """Description text as a reader sees it, without link targets or markup."""
    text = _MD_LINK.sub(" ", markdown_text)
    text = re.sub(r"[#*_`>|\[\]]+", " ", text)
    return _SPACE.sub(" ", text).strip()


def snippet(text: str) -> str:
    if len(text) <= SNIPPET:
        return text
    cut = text.rfind(" ", 0, SNIPPET)
    return text[: cut if cut > SNIPPET // 2 else SNIPPET] + "…"


def _dump(obj: object) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=True)).encode()


# What one study contributes to the word shards: (key, field mask) pairs, its
# ``key@column`` keys and the (query field, column as spelt) pairs it names. Computing it
# (normalising and stemming every text) is most of the cost of an index, so the build
# step caches it by study text (steps/query_index.py): an edit re-tokenises one study.
StudyKeys = tuple[tuple[tuple[str, int], ...], tuple[str, ...], tuple[tuple[str, str], ...]]


def study_keys(s: StudyText) -> StudyKeys:
    files_bit = FIELDS["files"]
    masks: dict[str, int] = {}
    for field_name, texts in s.fields.items():
        bit = FIELDS[field_name]
        for text in texts:
            for key in set(keys(text)):
                if len(key) > 1:
                    masks[key] = masks.get(key, 0) | bit
    in_columns: dict[str, None] = {}
    seen: dict[tuple[str, str], None] = {}
    for by_column in s.values.values():
        for column, vals in by_column.items():
            qfield = column_field(column)
            if not qfield:
                continue
            seen[(qfield, column)] = None
            for value in vals:
                for key in keys(value):
                    if len(key) > 1:
                        masks[key] = masks.get(key, 0) | files_bit
                        in_columns[f"{key}@{qfield}"] = None
    return tuple(masks.items()), tuple(in_columns), tuple(seen)


def build(
    studies: Sequence[StudyText],
    facet_names: Sequence[str],
    keyed: Sequence[StudyKeys | None] | None = None,
) -> dict[str, bytes]:
    """Every file of the index, named relative to ``search/index/``. ``keyed[i]``, when
    given, is ``study_keys(studies[i])`` computed earlier (None: computed here)."""
    n = len(studies)
    all_keys = [
        (keyed[i] if keyed is not None else None) or study_keys(s) for i, s in enumerate(studies)
    ]
    files = word_shards(all_keys)
    lights = [light(s) for s in studies]
    files["facets.json"] = facets_file(lights, facet_names)
    for b in range(math.ceil(n / DOC_BLOCK)):
        files.update(block_files(b, studies[b * DOC_BLOCK : (b + 1) * DOC_BLOCK]))
    files.update(number_files(lights))
    digests = {name: hashlib.sha256(data).digest() for name, data in files.items()}
    files["meta.json"] = meta_file(n, facet_names, columns_of(all_keys), digests)
    return files


# What the files over all studies (facets, numbers, meta) need of one study: a build that
# re-indexes a few studies keeps these of the others (steps/query_index.py).
Light = tuple[dict[str, list[str]], str, int, int, str]  # facets, released, size, files, title


def light(s: StudyText) -> Light:
    return ({k: list(v) for k, v in s.facets.items()}, s.released, s.size, s.files, s.title)


def word_shards(all_keys: Sequence[StudyKeys]) -> dict[str, bytes]:
    """The w<k>.json files of studies 0…N-1 from their keys."""
    # studies are visited in order, so every list of postings is already sorted
    postings: dict[str, tuple[list[int], list[int]]] = {}
    column_keys: dict[str, list[int]] = {}
    for i, (masks, in_columns, _) in enumerate(all_keys):
        for key, mask in masks:
            ids_masks = postings.get(key)
            if ids_masks is None:
                postings[key] = ([i], [mask])
            else:
                ids_masks[0].append(i)
                ids_masks[1].append(mask)
        for key in in_columns:
            column_keys.setdefault(key, []).append(i)
    shards = shard_count(len(all_keys))
    shard_maps: list[dict[str, str]] = [{} for _ in range(shards)]
    for key in sorted(postings):
        ids, ms = postings[key]
        shard_maps[shard_of(key, shards)][key] = encode_gaps(ids, ms)
    for key in sorted(column_keys):
        shard_maps[shard_of(key, shards)][key] = encode_gaps(column_keys[key])
    return {f"w{k}.json": dump_shard(shard) for k, shard in enumerate(shard_maps)}


def dump_shard(shard: dict[str, str]) -> bytes:
    return _dump(shard)


def columns_of(all_keys: Iterable[StudyKeys]) -> dict[str, str]:
    """Query field -> a column name as manifests spell it (the first study's spelling)."""
    columns: dict[str, str] = {}
    for _, _, seen in all_keys:
        for qfield, column in seen:
            columns.setdefault(qfield, column)
    return columns


def facets_file(lights: Sequence[Light], facet_names: Sequence[str]) -> bytes:
    n = len(lights)
    facets: dict[str, dict[str, str]] = {}
    for name in facet_names:
        by_value: dict[str, list[int]] = {}
        for i, lt in enumerate(lights):
            for value in sorted(set(lt[0].get(name, ()))):
                by_value.setdefault(value, []).append(i)
        facets[name] = {v: encode_set(ids, n) for v, ids in sorted(by_value.items())}
    return _dump(facets)


def block_files(b: int, block: Sequence[StudyText]) -> dict[str, bytes]:
    """d<b>.json and v<b>.json: what results show of studies b*DOC_BLOCK…"""
    return {
        f"d{b}.json": _dump(
            [
                [s.accession, s.title, s.url, s.thumbnail, s.released, snippet(s.description)]
                for s in block
            ]
        ),
        f"v{b}.json": _dump(
            [
                {
                    ds: {c: list(v[:VALUES_SHOWN]) for c, v in sorted(cols.items())}
                    for ds, cols in sorted(s.values.items())
                }
                for s in block
            ]
        ),
    }


def number_files(lights: Sequence[Light]) -> dict[str, bytes]:
    n = len(lights)
    order = sorted(range(n), key=lambda i: (" ".join(words(lights[i][4])), i))
    rank = [0] * n
    for r, i in enumerate(order):
        rank[i] = r
    return {
        "n-released.json": _numbers("u16", [_days(lt[1]) for lt in lights]),
        "n-size.json": _numbers("f64", [float(lt[2]) for lt in lights]),
        "n-files.json": _numbers("u32", [lt[3] for lt in lights]),
        "n-title.json": _numbers("u32", rank),
    }


def meta_file(
    n: int, facet_names: Sequence[str], columns: dict[str, str], digests: dict[str, bytes]
) -> bytes:
    """``digests``: the sha256 of every other file of the index, by name."""
    meta = {
        "format": FORMAT,
        "studies": n,
        "shards": shard_count(n),
        "block": DOC_BLOCK,
        "fields": sorted(FIELDS),
        "columns": dict(sorted(columns.items())),
        "facets": list(facet_names),
        # one version for the whole index, appended to every file's URL as ?v=, so that a
        # browser never mixes files of two builds (and meta.json stays small at any size)
        "version": hashlib.sha256(b"".join(d for _, d in sorted(digests.items()))).hexdigest()[:16],
    }
    return _dump(meta)


def decode_gaps(text: str, masks: bool) -> tuple[list[int], list[int]]:
    """The inverse of ``encode_gaps``: study numbers (and field masks)."""
    data = base64.b64decode(text)
    numbers: list[int] = []
    n = shift = 0
    for byte in data:
        n |= (byte & 0x7F) << shift
        if byte & 0x80:
            shift += 7
            continue
        numbers.append(n)
        n = shift = 0
    if not masks:
        ids, last = [], -1
        for gap in numbers:
            last += gap + 1
            ids.append(last)
        return ids, []
    ids, ms, last = [], [], -1
    for gap, m in zip(numbers[::2], numbers[1::2], strict=True):
        last += gap + 1
        ids.append(last)
        ms.append(m)
    return ids, ms


def _numbers(kind: str, values: list[int] | list[float]) -> bytes:
    """A column of numbers as base64 of a little-endian typed array, 2-8 bytes a study."""
    import struct

    code = {"u16": "H", "u32": "I", "f64": "d"}[kind]
    packed = struct.pack(f"<{len(values)}{code}", *values)
    return _dump({"type": kind, "data": base64.b64encode(packed).decode()})


def _days(iso: str) -> int:
    import datetime as dt

    return (dt.date.fromisoformat(iso) - dt.date(1970, 1, 1)).days


def output_names(n: int) -> list[str]:
    """File names of an index of n studies."""
    shards = shard_count(n)
    names = ["meta.json", "facets.json", "n-released.json", "n-size.json", "n-files.json"]
    names.append("n-title.json")
    names += [f"w{k}.json" for k in range(shards)]
    for b in range(math.ceil(n / DOC_BLOCK)):
        names += [f"d{b}.json", f"v{b}.json"]
    return names
