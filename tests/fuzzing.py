"""Hostile inputs for the readers, shared by tests/test_fuzz.py (a few seconds in CI) and
scripts/fuzz.py (minutes, on demand).

Each ``check_*`` function feeds one input to a reader the way a user's file reaches it
and asserts what a user must see: a list of problems, each with a file and a line, or
a clean result; never an exception. The strategies start from real files (the test
trees, the sample PageTab submissions) and damage them, because random bytes alone
rarely get past the first line of a parser.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent
MINIMAL = ROOT / "roots" / "minimal" / "content"
PAGETAB = sorted((ROOT / "data" / "pagetab").glob("*.json"))
TODAY = dt.date(2026, 11, 25)
CODE = re.compile(r"^[EW]\d{3}$")

# characters that broke readers before, or could: controls (C0, C1), separators, bidi,
# a BOM, quotes and markup, YAML indicators, surrogate halves, a combining mark
NASTY = (
    "\x00\x07\x08\x1b\x7f\x85\x9b\u2028\u2029\u202e\u2066\ufeff\ufffe\ud800"
    "'\"<>&`\\/%#?*&!|>{}[],:-\t\r\n \u0301é漢😀"
)
nasty_text = st.text(
    alphabet=st.one_of(st.sampled_from(NASTY), st.characters()), min_size=0, max_size=40
)
YAML_FRAGMENTS = [
    "key: &a [*a]",
    "key: &a {<<: *a}",
    "<<: *nowhere",
    "!!python/object/apply:os.system ['true']",
    "? [a, b]\n: c",
    "%YAML 1.1",
    "---",
    "...",
    "\ttabbed: 1",
    "key: !!binary AAAA",
    "key: 2024-13-45",
    "key: .inf",
    "key: 0x1F",
    "key: 1e400",
    "key: ~",
    "key: [" * 50 + "]" * 50,
    "title: &t x\nalso: *t",
    "accession: S-BIAD1\naccession: S-BIAD2",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    nasty_text,
    st.dates().map(str),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(nasty_text, inner, max_size=4)
    ),
    max_leaves=12,
)


def _nodes(data: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _nodes(v, (*path, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from _nodes(v, (*path, i))


def _replace(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    out = copy.deepcopy(data)
    node = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return out


@st.composite
def damaged_yaml(draw: st.DrawFn, original: str) -> bytes:
    """A YAML file as a careless or hostile editor leaves it."""
    how = draw(st.sampled_from(["value", "delete-key", "line", "fragment", "bytes", "text"]))
    data = yaml.safe_load(original)
    if how in ("value", "delete-key"):
        for _ in range(draw(st.integers(1, 3))):
            paths = [p for p in _nodes(data) if p]
            if not paths:
                break
            path = draw(st.sampled_from(paths))
            if how == "value":
                data = _replace(data, path, draw(json_values))
            else:
                parent = data
                for key in path[:-1]:
                    parent = parent[key]
                if isinstance(parent, dict) and path[-1] in parent:
                    del parent[path[-1]]
                break
        text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
        return text.encode("utf-8", "surrogatepass")
    lines = original.splitlines()
    if how == "line":
        i = draw(st.integers(0, len(lines) - 1))
        key = lines[i].split(":", 1)[0]
        lines[i] = f"{key}: {draw(nasty_text)}"
    elif how == "fragment":
        i = draw(st.integers(0, len(lines)))
        lines.insert(i, draw(st.sampled_from(YAML_FRAGMENTS)))
    elif how == "bytes":
        raw = bytearray(original.encode())
        for _ in range(draw(st.integers(1, 8))):
            at = draw(st.integers(0, len(raw)))
            raw[at:at] = draw(st.binary(min_size=1, max_size=4))
        return bytes(raw)
    else:
        return draw(nasty_text).encode("utf-8", "surrogatepass")
    return ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass")


COLUMNS = ["path", "size", "sha256", "Channel", "url", "", "path", " size ", "Plate", "\ufeffpath"]


@st.composite
def manifests(draw: st.DrawFn) -> bytes:
    header = draw(st.lists(st.sampled_from(COLUMNS) | nasty_text, min_size=0, max_size=5))
    if draw(st.booleans()):
        header = ["path", "size", *header]
    width = max(len(header), 1)
    cell = st.one_of(
        nasty_text,
        st.sampled_from(["a.tif", "../x", "/etc/passwd", "a//b", " ", "0", "-1", "2" * 30]),
        st.integers(-5, 2**64).map(str),
        st.just("e" * 300),
    )
    rows = draw(
        st.lists(
            st.lists(cell, min_size=width - 1, max_size=width + 1),
            max_size=6,
        )
    )
    eol = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = eol.join("\t".join(r) for r in [header, *rows]) + eol
    raw = text.encode("utf-8", "surrogatepass")
    if draw(st.booleans()):
        raw = draw(st.sampled_from([b"", b"\xef\xbb\xbf"])) + raw
    return raw


@st.composite
def ledgers(draw: st.DrawFn) -> bytes:
    header = draw(st.sampled_from(["accession\tcreated\tnote", "accession\tcreated", "x", ""]))
    cell = st.one_of(
        nasty_text, st.sampled_from(["S-BIAD1", "S-BIAD2", "2024-01-01", "2024-02-30", ""])
    )
    rows = draw(st.lists(st.lists(cell, min_size=0, max_size=4), max_size=6))
    text = "\n".join([header, *("\t".join(r) for r in rows)]) + "\n"
    return text.encode("utf-8", "surrogatepass")


@st.composite
def damaged_pagetab(draw: st.DrawFn) -> tuple[str, bytes]:
    sample = draw(st.sampled_from(PAGETAB))
    data = json.loads(sample.read_text(encoding="utf-8"))
    paths = [p for p in _nodes(data) if p]
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(paths))
        try:
            data = _replace(data, path, draw(json_values))
        except (KeyError, IndexError, TypeError):
            continue  # an earlier change removed that place
        paths = [p for p in _nodes(data) if p]
        if not paths:
            break
    text = json.dumps(data, ensure_ascii=draw(st.booleans()))
    return sample.stem, text.encode("utf-8", "surrogatepass")


# --- checks: what a user must see --------------------------------------------------------


def assert_problems(problems: list[Any], files: set[str]) -> None:
    from catalogue.problems import render

    for p in problems:
        assert CODE.match(p.code), p
        assert p.line >= 0 and p.column >= 0, p
        assert any(p.path.endswith(f) for f in files), (p, files)
        assert p.message and "Traceback" not in p.message, p
    render(problems)
    render(problems, "github")
    render(problems, "json")


@contextmanager
def tree() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="catalogue-fuzz-") as tmp:
        content = Path(tmp) / "content"
        shutil.copytree(MINIMAL, content)
        yield content


def check_tree_file(rel: str, data: bytes) -> list[Any]:
    """``rel`` of the minimal tree replaced by ``data``; the whole tree loads and checks."""
    from catalogue.readers.tree import load

    with tree() as content:
        (content / rel).write_bytes(data)
        catalogue, problems = load(content, TODAY)
        assert_problems(problems, {rel, "study.yaml", "site.yaml", ".tsv", "content"})
        if catalogue is None:
            assert any(p.code.startswith("E") for p in problems), problems
        return problems


def check_manifest(data: bytes) -> None:
    from catalogue.readers import manifest

    with tempfile.TemporaryDirectory(prefix="catalogue-fuzz-") as tmp:
        path = Path(tmp) / "x.files.tsv"
        path.write_bytes(data)
        summary, problems = manifest.summarize(path, "x.files.tsv")
        assert_problems(problems, {"x.files.tsv"})
        lines = data.count(b"\n") + data.count(b"\r") + 1
        assert all(p.line <= lines for p in problems), problems
        if summary is not None and not any(p.code.startswith("E") for p in problems):
            assert sum(1 for _ in manifest.iter_rows(path)) == summary.count


def check_pagetab(name: str, data: bytes) -> None:
    from catalogue.pagetab.importer import import_pagetab, write_imported
    from catalogue.pagetab.vocabulary import PageTabError
    from catalogue.readers.tree import load

    with tree() as content:
        study = content.parent / f"{name}.json"
        study.write_bytes(data)
        try:
            imported = import_pagetab(study, [], "S-BIAD3")
        except PageTabError as exc:
            assert re.match(r"^.+?(:\d+)?: [EW]\d{3} ", str(exc)), exc
            return
        write_imported(imported, content / "studies" / imported.accession)
        with (content / "accessions.tsv").open("a", encoding="utf-8") as ledger:
            ledger.write(f"{imported.accession}\t2024-01-03\t\n")
        _, problems = load(content, TODAY)
        assert_problems(problems, {"study.yaml", ".tsv", "site.yaml"})


def study_yaml() -> str:
    return (MINIMAL / "studies/S-BIAD1/study.yaml").read_text(encoding="utf-8")


def site_yaml() -> str:
    return (MINIMAL / "site.yaml").read_text(encoding="utf-8")


# (name, strategy, check) of every target; the script and the tests take them from here
TARGETS: list[tuple[str, Any, Callable[..., Any]]] = [
    (
        "study.yaml",
        damaged_yaml(study_yaml()),
        lambda d: check_tree_file("studies/S-BIAD1/study.yaml", d),
    ),
    ("site.yaml", damaged_yaml(site_yaml()), lambda d: check_tree_file("site.yaml", d)),
    ("manifest", manifests(), check_manifest),
    (
        "manifest in a tree",
        manifests(),
        lambda d: check_tree_file("studies/S-BIAD1/images.files.tsv", d),
    ),
    ("ledger", ledgers(), lambda d: check_tree_file("accessions.tsv", d)),
    ("PageTab", damaged_pagetab(), lambda nd: check_pagetab(*nd)),
]
