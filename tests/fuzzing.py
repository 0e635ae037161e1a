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


# --- the EMPIAR and IDR importers --------------------------------------------------------

EMPIAR = ROOT / "data" / "empiar"
EMPIAR_JSON = [EMPIAR / "EMPIAR-10934.api.json", EMPIAR / "deposition-working_example.json"]
IDR = sorted(p for p in (ROOT / "data" / "idr").iterdir() if p.is_dir())
# what a hostile record may carry in any text: markup, links to scripts, paths out of
# the content tree, numbers too large for anything, a YAML document of its own
HOSTILE = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "[x](javascript:alert(1))",
    "../../../../etc/passwd",
    "/etc/passwd",
    "..",
    "S-BIAD1/../../x",
    "=cmd|' /C calc'!A0",
    "9" * 400,
    "1e400",
    "-1",
    "0",
    "NaN",
    "EMPIAR-99999999999999999999999",
    "('OT', '<b>x</b>')",
    "('T999', '')",
    "--- !!python/object:os.system\n",
    "{{ config }}",
    "&amp;lt;script&amp;gt;",
    "",
    " ",
]
hostile_text = st.one_of(st.sampled_from(HOSTILE), nasty_text)
hostile_values = st.recursive(
    st.one_of(scalars, st.sampled_from(HOSTILE), st.integers(-(10**400), 10**400)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(hostile_text, inner, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def truncated(draw: st.DrawFn, raw: bytes) -> bytes:
    return raw[: draw(st.integers(0, max(len(raw) - 1, 0)))]


@st.composite
def damaged_empiar_json(draw: st.DrawFn) -> tuple[str, bytes]:
    sample = draw(st.sampled_from(EMPIAR_JSON))
    data = json.loads(sample.read_text(encoding="utf-8"))
    for _ in range(draw(st.integers(1, 4))):
        paths = [p for p in _nodes(data) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        try:
            data = _replace(data, path, draw(hostile_values))
        except (KeyError, IndexError, TypeError):
            continue
    try:
        text = json.dumps(data, ensure_ascii=draw(st.booleans()))
    except ValueError:  # an integer beyond what json writes
        text = sample.read_text(encoding="utf-8")
    raw = text.encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 5)) == 0:
        raw = draw(truncated(raw))
    return f"{sample.stem}.json", raw


XML_FRAGMENTS = [
    '<!DOCTYPE entry [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">'
    '<!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;"><!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">'
    '<!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;">]>',
    '<!DOCTYPE entry [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
]


@st.composite
def damaged_empiar_xml(draw: st.DrawFn) -> tuple[str, bytes]:
    import xml.etree.ElementTree as ET

    sample = EMPIAR / "EMPIAR-10934.xml"
    original = sample.read_text(encoding="utf-8")
    how = draw(st.sampled_from(["text", "attribute", "remove", "truncate", "doctype", "bytes"]))
    if how in ("text", "attribute", "remove"):
        ET.register_namespace("", "http://pdbe.org/empiar")
        root = ET.fromstring(original)
        elements = list(root.iter())
        for _ in range(draw(st.integers(1, 4))):
            el = draw(st.sampled_from(elements))
            value = draw(hostile_text)
            if how == "text":
                el.text = value
            elif how == "attribute":
                names = ["accessionCode", "units", "type", "authorORCID"]
                el.set(draw(st.sampled_from(names)), value)
            else:
                for parent in elements:
                    if el in list(parent):
                        parent.remove(el)
                        break
        try:
            raw = ET.tostring(root, encoding="utf-8")
        except ValueError:
            raw = original.encode()
    elif how == "truncate":
        raw = draw(truncated(original.encode()))
    elif how == "doctype":
        fragment = draw(st.sampled_from(XML_FRAGMENTS))
        body = original.replace("<title>", "<title>&" + draw(st.sampled_from("gx")) + ";", 1)
        raw = (fragment + "\n" + body).encode()
    else:
        data = bytearray(original.encode())
        for _ in range(draw(st.integers(1, 8))):
            at = draw(st.integers(0, len(data)))
            data[at:at] = draw(st.binary(min_size=1, max_size=4))
        raw = bytes(data)
    return "EMPIAR-10934.xml", raw


@st.composite
def damaged_idr(draw: st.DrawFn) -> tuple[str, dict[str, bytes]]:
    """An IDR study folder (as files relative to it) with its study file or one of its
    annotation tables damaged."""
    sample = draw(st.sampled_from(IDR))
    files = {
        str(p.relative_to(sample)): p.read_bytes() for p in sorted(sample.rglob("*")) if p.is_file()
    }
    names = sorted(n for n in files if n.endswith(("-study.txt", "-annotation.csv")))
    for _ in range(draw(st.integers(1, 3))):
        name = draw(st.sampled_from(names))
        sep = "\t" if name.endswith(".txt") else ","
        lines = files[name].decode("utf-8-sig", "replace").splitlines()
        how = draw(st.sampled_from(["cell", "line", "truncate", "bytes", "huge", "empty"]))
        if how == "cell" and lines:
            i = draw(st.integers(0, len(lines) - 1))
            cells = lines[i].split(sep)
            j = draw(st.integers(0, len(cells) - 1))
            cells[j] = draw(hostile_text).replace(sep, " ")
            lines[i] = sep.join(cells)
            raw = "\n".join(lines).encode("utf-8", "surrogatepass")
        elif how == "line":
            i = draw(st.integers(0, len(lines)))
            key = draw(
                st.sampled_from(
                    [
                        "Comment[IDR Screen Name]",
                        "Comment[IDR Experiment Name]",
                        "Screen Number",
                        "Experiment Number",
                        "Study Title",
                        "Study Public Release Date",
                        "Study License",
                        "Study Organism Term Accession",
                        "Study External URL",
                        "Study Person ORCID",
                    ]
                )
            )
            lines.insert(i, f"{key}{sep}{draw(hostile_text)}")
            raw = "\n".join(lines).encode("utf-8", "surrogatepass")
        elif how == "truncate":
            raw = draw(truncated(files[name]))
        elif how == "bytes":
            data = bytearray(files[name])
            for _ in range(draw(st.integers(1, 8))):
                at = draw(st.integers(0, len(data)))
                data[at:at] = draw(st.binary(min_size=1, max_size=4))
            raw = bytes(data)
        elif how == "huge":
            i = draw(st.integers(0, max(len(lines) - 1, 0)))
            lines.insert(i, sep.join(["x" * 200_000, "y"]))
            raw = "\n".join(lines).encode()
        else:
            raw = b""
        files[name] = raw
    return sample.name, files


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def _check_import(args: list[str], work: Path, content: Path) -> None:
    """Run an import command as a user would; what it may write and say."""
    from click.testing import CliRunner

    from catalogue.cli import main

    before = _snapshot(work)
    result = CliRunner().invoke(
        main, [*args, "--content", str(content), "--today", TODAY.isoformat()]
    )
    assert result.exit_code in (0, 1), (result.exit_code, result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        result.output,
        result.exception,
    )
    assert "Traceback" not in result.output, result.output
    if result.exit_code == 1:
        # every failure names a file (and a line where it has one) and a problem code
        assert re.search(r"(^|\n)\S.*?(:\d+)*: [EW]\d{3} ", result.output), result.output
    after = _snapshot(work)
    changed = {n for n in set(before) | set(after) if before.get(n) != after.get(n)}
    for name in changed:
        # only the new study and the ledger; no temporary file left behind
        assert name == "content/accessions.tsv" or re.match(
            r"^content/studies/S-BIAD([3-9]|\d\d+)/[^/]+$", name
        ), (name, result.output)
        assert not name.rsplit("/", 1)[-1].startswith("."), name if name in after else None
    studies = sorted((content / "studies").glob("*/")) if (content / "studies").is_dir() else []
    for folder in studies:
        if folder.name not in {"S-BIAD1", "S-BIAD2"}:  # the minimal tree's own
            assert (folder / "study.yaml").is_file(), f"half a study: {sorted(folder.iterdir())}"
    if result.exit_code == 0 or any(n.endswith("study.yaml") for n in changed):
        from catalogue.readers.tree import load

        _, problems = load(content, TODAY)
        assert_problems(problems, {"study.yaml", ".tsv", "site.yaml", "accessions.tsv"})


def check_empiar(name: str, data: bytes) -> None:
    with tree() as content:
        entry = content.parent / "input" / name
        entry.parent.mkdir()
        entry.write_bytes(data)
        _check_import(["import-empiar", str(entry)], content.parent, content)


def check_idr(name: str, files: dict[str, bytes]) -> None:
    with tree() as content:
        folder = content.parent / "input" / name
        for rel, raw in files.items():
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_bytes(raw)
        _check_import(["import-idr", str(folder)], content.parent, content)


TARGETS += [
    ("EMPIAR JSON", damaged_empiar_json(), lambda nd: check_empiar(*nd)),
    ("EMPIAR XML", damaged_empiar_xml(), lambda nd: check_empiar(*nd)),
    ("IDR", damaged_idr(), lambda nd: check_idr(*nd)),
]
