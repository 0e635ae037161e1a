"""One Parquet file joined from parts, byte for byte, without decoding or re-encoding.

Why: the archive-wide ``files.parquet`` holds every file of every study (millions of rows).
Encoding it is seconds per 100,000 rows, so an edit of one study must not encode it again.
The table is written as a sequence of *parts* (runs of studies, see ``steps/bulk.py``);
each part is encoded alone, with the table's schema, into a standalone Parquet file
whose column chunks are then copied into the whole file. A Parquet file is its column
chunks followed by a footer (Thrift compact protocol) that gives each chunk's absolute
byte offset; joining parts is copying their chunk bytes and writing one footer whose row
groups are the parts' row groups with their offsets moved. The next build copies the
bytes of unchanged parts from the previous file (the footer's key-value metadata names
each part's digest and byte range) and encodes only the parts that changed. A clean
build joins freshly encoded parts the same way, so both write the same bytes.

The Thrift codec below is generic (fields kept in order, values untouched); only the
offsets listed in ``_OFFSETS`` are rewritten. The field numbers are those of the Parquet
format's ``parquet.thrift`` (FileMetaData, RowGroup, ColumnChunk, ColumnMetaData).
"""

from __future__ import annotations

import io
import json
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import IO, Any

MAGIC = b"PAR1"
PARTS_KEY = b"catalogue.parts"

# compact protocol type codes
_TRUE, _FALSE, _BYTE, _I16, _I32, _I64, _DOUBLE, _BINARY, _LIST, _SET, _MAP, _STRUCT = range(1, 13)


class ThriftError(ValueError):
    pass


# A struct is a list of [field id, type, value]; a list/set is (element type, [values]);
# a map is (key type, value type, [(k, v)]). Booleans as struct fields keep their type.
Struct = list[list[Any]]


class _Reader:
    def __init__(self, data: bytes, pos: int = 0):
        self.data, self.pos = data, pos

    def byte(self) -> int:
        b = self.data[self.pos]
        self.pos += 1
        return b

    def varint(self) -> int:
        shift = result = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
            shift += 7

    def zigzag(self) -> int:
        n = self.varint()
        return (n >> 1) ^ -(n & 1)

    def value(self, kind: int) -> Any:
        if kind in (_TRUE, _FALSE):  # only inside lists: one byte each
            return self.byte() == 1
        if kind == _BYTE:
            return self.byte()
        if kind in (_I16, _I32, _I64):
            return self.zigzag()
        if kind == _DOUBLE:
            v = self.data[self.pos : self.pos + 8]
            self.pos += 8
            return v
        if kind == _BINARY:
            n = self.varint()
            v = self.data[self.pos : self.pos + n]
            self.pos += n
            return v
        if kind in (_LIST, _SET):
            head = self.byte()
            size, elem = head >> 4, head & 0x0F
            if size == 15:
                size = self.varint()
            return (elem, [self.value(elem) for _ in range(size)])
        if kind == _MAP:
            size = self.varint()
            if size == 0:
                return (0, 0, [])
            kinds = self.byte()
            key, val = kinds >> 4, kinds & 0x0F
            return (key, val, [(self.value(key), self.value(val)) for _ in range(size)])
        if kind == _STRUCT:
            return self.struct()
        raise ThriftError(f"unknown Thrift compact type {kind}")

    def struct(self) -> Struct:
        fields: Struct = []
        last = 0
        while True:
            head = self.byte()
            if head == 0:
                return fields
            delta, kind = head >> 4, head & 0x0F
            fid = last + delta if delta else self.zigzag()
            if kind in (_TRUE, _FALSE):
                fields.append([fid, kind, kind == _TRUE])
            else:
                fields.append([fid, kind, self.value(kind)])
            last = fid


def _varint(out: bytearray, n: int) -> None:
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return


def _zigzag(out: bytearray, n: int) -> None:
    _varint(out, (n << 1) ^ (n >> 63))


def _write_value(out: bytearray, kind: int, v: Any) -> None:
    if kind in (_TRUE, _FALSE):
        out.append(1 if v else 2)  # in lists: 1 true, 2 false (as the C++ writer does)
    elif kind == _BYTE:
        out.append(v & 0xFF)
    elif kind in (_I16, _I32, _I64):
        _zigzag(out, v)
    elif kind == _DOUBLE:
        out += v
    elif kind == _BINARY:
        _varint(out, len(v))
        out += v
    elif kind in (_LIST, _SET):
        elem, items = v
        if len(items) < 15:
            out.append(len(items) << 4 | elem)
        else:
            out.append(0xF0 | elem)
            _varint(out, len(items))
        for item in items:
            _write_value(out, elem, item)
    elif kind == _MAP:
        k, vk, items = v
        _varint(out, len(items))
        if items:
            out.append(k << 4 | vk)
            for a, b in items:
                _write_value(out, k, a)
                _write_value(out, vk, b)
    elif kind == _STRUCT:
        _write_struct(out, v)
    else:
        raise ThriftError(f"unknown Thrift compact type {kind}")


def _write_struct(out: bytearray, fields: Struct) -> None:
    last = 0
    for fid, kind, v in fields:
        wire = (_TRUE if v else _FALSE) if kind in (_TRUE, _FALSE) else kind
        if 0 < fid - last <= 15:
            out.append((fid - last) << 4 | wire)
        else:
            out.append(wire)
            _zigzag(out, fid)
        if kind not in (_TRUE, _FALSE):
            _write_value(out, kind, v)
        last = fid
    out.append(0)


def decode(data: bytes) -> Struct:
    return _Reader(data).struct()


def encode(fields: Struct) -> bytes:
    out = bytearray()
    _write_struct(out, fields)
    return bytes(out)


def _field(fields: Struct, fid: int) -> list[Any] | None:
    for f in fields:
        if f[0] == fid:
            return f
    return None


def _shift(fields: Struct, fid: int, by: int) -> None:
    f = _field(fields, fid)
    if f is not None:
        f[2] += by


# FileMetaData: 3 num_rows, 4 row_groups, 5 key_value_metadata. RowGroup: 1 columns,
# 5 file_offset, 7 ordinal. ColumnChunk: 2 file_offset, 3 meta_data, 4 offset_index_offset,
# 6 column_index_offset. ColumnMetaData: 9 data_page_offset, 10 index_page_offset,
# 11 dictionary_page_offset, 14 bloom_filter_offset.
_OFFSETS = {"row_group": (5,), "column_chunk": (2, 4, 6), "column_meta": (9, 10, 11, 14)}


def move_row_group(row_group: Struct, by: int) -> Struct:
    """The RowGroup with its byte offsets moved by ``by`` (changed in place)."""
    rg = row_group  # changed in place: every footer is decoded afresh for one join
    for fid in _OFFSETS["row_group"]:
        _shift(rg, fid, by)
    columns = _field(rg, 1)
    for chunk in columns[2][1] if columns else ():
        for fid in _OFFSETS["column_chunk"]:
            _shift(chunk, fid, by)
        meta = _field(chunk, 3)
        if meta is not None:
            for fid in _OFFSETS["column_meta"]:
                _shift(meta[2], fid, by)
    return rg


@dataclass
class ParquetParts:
    """A Parquet file's footer, where its footer starts and the parts it says it holds."""

    footer: Struct
    data_end: int
    # digest -> (offset, length, first row group, row groups, extra)
    parts: dict[str, tuple[int, int, int, int, Any]]


def read_footer(fh: IO[bytes]) -> ParquetParts:
    """The footer of a whole Parquet file open in ``fh``, or ThriftError."""
    size = fh.seek(0, 2)
    if size < 12:
        raise ThriftError("not a Parquet file")
    fh.seek(0)
    head = fh.read(4)
    fh.seek(size - 8)
    tail = fh.read(8)
    if head != MAGIC or tail[4:] != MAGIC:
        raise ThriftError("not a Parquet file")
    (n,) = struct.unpack("<I", tail[:4])
    start = size - 8 - n
    if start < 4:
        raise ThriftError("Parquet footer out of range")
    fh.seek(start)
    try:
        footer = decode(fh.read(n))
    except (IndexError, RecursionError) as exc:
        raise ThriftError("unreadable Parquet footer") from exc
    parts: dict[str, tuple[int, int, int, int, Any]] = {}
    kv = _field(footer, 5)
    for item in kv[2][1] if kv else ():
        key, value = _field(item, 1), _field(item, 2)
        if key is not None and key[2] == PARTS_KEY and value is not None:
            for digest, offset, length, first, count, extra in json.loads(value[2]):
                parts[digest] = (offset, length, first, count, extra)
    return ParquetParts(footer, start, parts)


def copy_range(src: IO[bytes], dst: IO[bytes], offset: int, length: int) -> None:
    src.seek(offset)
    left = length
    while left:
        block = src.read(min(left, 1 << 20))
        if not block:
            raise ThriftError("previous file shorter than its footer says")
        dst.write(block)
        left -= len(block)


def join(
    out: IO[bytes],
    template: bytes,
    parts: Iterable[tuple[str, Callable[[], IO[bytes]]]],
    previous: tuple[IO[bytes], ParquetParts] | None = None,
    extra_of: Callable[[str, Any], Any] = lambda digest, old: None,
) -> tuple[int, int]:
    """Write to ``out`` the Parquet file made of ``parts`` in order: (digest, encode), where
    ``encode()`` returns a standalone Parquet file of that part with the table's schema
    (a binary file open for reading: a part can be a 1.3-million-file study).
    A part whose digest the ``previous`` file lists is copied from it instead of encoded.
    ``template`` is a Parquet file of the schema without rows (the model of the footer).
    ``extra_of(digest, previous extra or None)`` is called after each part, in order, and
    its JSON value is kept with the part (bulk.py keeps the CSV twin's byte range there).
    Returns the number of rows and the number of parts encoded."""
    model = read_footer(io.BytesIO(template)).footer
    out.write(MAGIC)
    pos = len(MAGIC)
    row_groups: list[Struct] = []
    rows = encoded = 0
    listed: list[list[Any]] = []
    old_groups: list[Struct] = []
    if previous is not None:
        found = _field(previous[1].footer, 4)
        old_groups = found[2][1] if found else []
    for digest, make in parts:
        old = previous[1].parts.get(digest) if previous is not None else None
        if previous is not None and old is not None:
            offset, length, first, count, old_extra = old
            copy_range(previous[0], out, offset, length)
            groups = old_groups[first : first + count]
            by = pos - offset
        else:
            data = make()
            part = read_footer(data)
            length = part.data_end - len(MAGIC)
            copy_range(data, out, len(MAGIC), length)
            new_groups = _field(part.footer, 4)
            groups = new_groups[2][1] if new_groups else []
            by = pos - len(MAGIC)
            old_extra = None
            encoded += 1
        extra = extra_of(digest, old_extra)
        listed.append([digest, pos, length, len(row_groups), len(groups), extra])
        for rg in groups:
            moved = move_row_group(rg, by)
            ordinal = _field(moved, 7)
            if ordinal is not None:
                ordinal[2] = len(row_groups)
            num = _field(moved, 3)
            rows += num[2] if num else 0
            row_groups.append(moved)
        pos += length
    footer = decode(encode(model))
    _set(footer, 3, _I64, rows)
    _set(footer, 4, _LIST, (_STRUCT, row_groups))
    entry: Struct = [
        [1, _BINARY, PARTS_KEY],
        [2, _BINARY, json.dumps(listed, separators=(",", ":")).encode()],
    ]
    kv = _field(footer, 5)
    if kv is None:
        _set(footer, 5, _LIST, (_STRUCT, [entry]))
    else:
        kv[2] = (_STRUCT, [*kv[2][1], entry])
    tail = encode(footer)
    out.write(tail)
    out.write(struct.pack("<I", len(tail)))
    out.write(MAGIC)
    return rows, encoded


def _set(fields: Struct, fid: int, kind: int, value: Any) -> None:
    f = _field(fields, fid)
    if f is not None:
        f[1], f[2] = kind, value
        return
    fields.append([fid, kind, value])
    fields.sort(key=lambda f: f[0])
