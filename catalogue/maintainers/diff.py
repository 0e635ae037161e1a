"""`catalogue diff BASE_REF`: what a pull request changes on the site, in words.

A reviewer of a content PR sees YAML and TSV hunks; what matters is the consequence:
which studies appear (and when, given their embargo), which change and in which fields,
which are withdrawn, how many files and bytes a dataset gains or loses. The content tree
at BASE_REF is taken with ``git archive`` and compared with the working tree. Both sides
are read leniently (plain YAML, manifest rows), so a diff works even while `validate`
still fails.
"""

from __future__ import annotations

import datetime as dt
import io
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from catalogue.readers.manifest import iter_rows


class DiffError(Exception):
    """A usage problem: not a git repository, unknown ref, content outside the repo."""


# --- reading a tree ------------------------------------------------------------------------


@dataclass
class Tree:
    studies: dict[str, dict[str, Any] | None] = field(default_factory=dict)  # None: unreadable
    folders: dict[str, Path] = field(default_factory=dict)
    ledger: list[str] = field(default_factory=list)
    site: dict[str, Any] = field(default_factory=dict)


def _yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None


def read_tree(content: Path) -> Tree:
    tree = Tree()
    if not content.is_dir():
        return tree
    site = _yaml(content / "site.yaml")
    tree.site = site if isinstance(site, dict) else {}
    ledger = content / "accessions.tsv"
    if ledger.is_file():
        lines = ledger.read_text(encoding="utf-8", errors="replace").splitlines()[1:]
        tree.ledger = [c for ln in lines if (c := ln.split("\t", 1)[0].strip())]
    studies = content / "studies"
    for folder in sorted(p for p in studies.iterdir() if p.is_dir()) if studies.is_dir() else []:
        data = _yaml(folder / "study.yaml")
        tree.studies[folder.name] = data if isinstance(data, dict) else None
        tree.folders[folder.name] = folder
    return tree


@contextmanager
def tree_at(ref: str, content: Path) -> Iterator[Path]:
    """The content folder as it is at ``ref``, extracted into a temporary folder."""
    content = content.resolve()
    top = _git(content if content.is_dir() else content.parent, "rev-parse", "--show-toplevel")
    root = Path(top.decode().strip())
    try:
        rel = content.relative_to(root)
    except ValueError:
        raise DiffError(f"{content} is not inside the git repository {root}") from None
    try:
        _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except DiffError:
        raise DiffError(f"{ref!r} is not a commit, branch or tag of {root}") from None
    with tempfile.TemporaryDirectory(prefix="catalogue-diff-") as tmp:
        listed = _git(root, "ls-tree", "-d", "--name-only", ref, "--", str(rel))
        if listed.strip() or str(rel) == ".":
            data = _git(root, "archive", "--format=tar", ref, "--", str(rel))
            with tarfile.open(fileobj=io.BytesIO(data)) as tar:
                tar.extractall(tmp, filter="data")
        yield Path(tmp) / rel


def _git(cwd: Path, *args: str) -> bytes:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    except FileNotFoundError:
        raise DiffError("git is not installed") from None
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip().splitlines()
        raise DiffError(message[-1] if message else f"git {args[0]} failed")
    return done.stdout


# --- comparing -----------------------------------------------------------------------------


def human_bytes(n: int) -> str:
    size = float(abs(n))
    for unit in ("bytes", "kB", "MB", "GB", "TB", "PB"):
        if size < 1000 or unit == "PB":
            text = f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
            return ("-" if n < 0 else "") + text
        size /= 1000
    return f"{n} bytes"  # pragma: no cover


def _short(value: Any, width: int = 60) -> str:
    text = " ".join(str(value).split()) if value is not None else "(none)"
    return repr(text if len(text) <= width else text[: width - 1] + "…")


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None


def _visibility(study: dict[str, Any], today: dt.date) -> str:
    if study.get("withdrawn"):
        return "withdrawn"
    released = _date(study.get("release_date"))
    if released is None:
        return "no valid release date yet"
    if released > today:
        return f"embargoed until {released.isoformat()}: nothing is published before then"
    return "public as soon as this is merged and built"


@dataclass
class FileChanges:
    added: int = 0
    added_bytes: int = 0
    removed: int = 0
    removed_bytes: int = 0
    changed: int = 0
    total: int = 0
    total_bytes: int = 0

    def words(self) -> str:
        parts = []
        if self.added:
            parts.append(f"+{_files(self.added)} (+{human_bytes(self.added_bytes)})")
        if self.removed:
            parts.append(f"-{_files(self.removed)} (-{human_bytes(self.removed_bytes)})")
        if self.changed:
            parts.append(f"{_files(self.changed)} changed (size or checksum)")
        return ", ".join(parts)


def _files(n: int) -> str:
    return f"{n} file" if n == 1 else f"{n} files"


def _rows(path: Path | None) -> dict[str, tuple[int | None, str | None]]:
    if path is None or not path.is_file():
        return {}
    return {row.path: (row.size, row.sha256) for row in iter_rows(path)}


def compare_files(old: Path | None, new: Path | None) -> FileChanges:
    """Row-level comparison of two manifests (skipped when their bytes are equal)."""
    out = FileChanges()
    if (
        old is not None
        and new is not None
        and old.is_file()
        and new.is_file()
        and old.read_bytes() == new.read_bytes()
    ):
        return out
    before, after = _rows(old), _rows(new)
    for path, (size, sha) in after.items():
        out.total += 1
        out.total_bytes += size or 0
        if path not in before:
            out.added += 1
            out.added_bytes += size or 0
        elif before[path] != (size, sha):
            out.changed += 1
    for path, (size, _) in before.items():
        if path not in after:
            out.removed += 1
            out.removed_bytes += size or 0
    return out


def _manifest(folder: Path | None, dataset: dict[str, Any]) -> Path | None:
    name = dataset.get("files")
    if folder is None or not isinstance(name, str) or "/" in name:
        return None
    return folder / name


def _datasets(study: dict[str, Any]) -> dict[str, dict[str, Any]]:
    items = study.get("datasets") or []
    return (
        {str(d.get("id")): d for d in items if isinstance(d, dict)}
        if isinstance(items, list)
        else {}
    )


IDENTITY = {
    "authors": lambda r: (
        r.get("name") or " ".join(str(p) for p in (r.get("given_name"), r.get("family_name")) if p)
    ),
    "publications": lambda r: r.get("doi") or r.get("title"),
    "links": lambda r: r.get("id") or r.get("url"),
    "funding": lambda r: (r.get("funder"), r.get("grant_id")),
}
SECTIONS = (
    "affiliations",
    "biosamples",
    "specimens",
    "image_acquisitions",
    "annotations",
    "analyses",
    "correlations",
)


def _list_changes(name: str, old: Any, new: Any) -> str | None:
    old = old if isinstance(old, list) else []
    new = new if isinstance(new, list) else []
    if old == new:
        return None
    ident = IDENTITY.get(name, repr)

    def key(r: Any) -> Any:
        return ident(r) if isinstance(r, dict) else r

    before = {key(r): r for r in old}
    after = {key(r): r for r in new}
    parts = []
    added = [k for k in after if k not in before]
    removed = [k for k in before if k not in after]
    changed = [k for k in after if k in before and before[k] != after[k]]
    if added:
        parts.append("added " + ", ".join(_short(_label(k), 40) for k in added))
    if removed:
        parts.append("removed " + ", ".join(_short(_label(k), 40) for k in removed))
    if changed:
        parts.append("changed " + ", ".join(_short(_label(k), 40) for k in changed))
    if not parts:
        parts.append("reordered")
    return f"{name}: " + "; ".join(parts)


def _label(key: Any) -> str:
    if isinstance(key, tuple):
        return " ".join(str(k) for k in key if k)
    return str(key)


def _section_changes(name: str, old: Any, new: Any) -> str | None:
    old = old if isinstance(old, dict) else {}
    new = new if isinstance(new, dict) else {}
    if old == new:
        return None
    parts = []
    for verb, keys in (
        ("added", [k for k in new if k not in old]),
        ("removed", [k for k in old if k not in new]),
        ("changed", [k for k in new if k in old and old[k] != new[k]]),
    ):
        if keys:
            parts.append(f"{verb} " + ", ".join(repr(str(k)) for k in keys))
    return f"{name}: " + "; ".join(parts)


def study_changes(
    old: dict[str, Any],
    new: dict[str, Any],
    old_folder: Path | None,
    new_folder: Path | None,
    today: dt.date,
) -> list[str]:
    lines: list[str] = []
    for name in (
        "title",
        "doi",
        "release_date",
        "license",
        "collection",
        "description",
        "accession",
    ):
        if old.get(name) != new.get(name):
            what = f"{name}: {_short(old.get(name))} → {_short(new.get(name))}"
            if name == "release_date":
                was = _date(old.get("release_date"))
                now = _date(new.get("release_date"))
                if (
                    not old.get("withdrawn")
                    and was is not None
                    and was <= today
                    and now is not None
                    and now > today
                ):
                    # the study is public: its page, files and API record would vanish
                    what += (
                        f" (WARNING: public now, embargoed again until {now.isoformat()}: "
                        "its URLs disappear until then and `catalogue check-urls` will fail)"
                    )
                else:
                    what += f" ({_visibility(new, today)})"
            lines.append(what)
    if old.get("keywords") != new.get("keywords"):
        kw_old, kw_new = set(old.get("keywords") or []), set(new.get("keywords") or [])
        parts = [f"+{k!r}" for k in sorted(kw_new - kw_old, key=str)]
        parts += [f"-{k!r}" for k in sorted(kw_old - kw_new, key=str)]
        lines.append("keywords: " + (", ".join(parts) or "reordered"))
    for name in IDENTITY:
        change = _list_changes(name, old.get(name), new.get(name))
        if change:
            lines.append(change)
    for name in SECTIONS:
        change = _section_changes(name, old.get(name), new.get(name))
        if change:
            lines.append(change)
    before, after = _datasets(old), _datasets(new)
    for ds_id, ds in after.items():
        files = compare_files(
            _manifest(old_folder, before[ds_id]) if ds_id in before else None,
            _manifest(new_folder, ds),
        )
        if ds_id not in before:
            size = (
                f", {_files(files.total)}, {human_bytes(files.total_bytes)}" if files.total else ""
            )
            lines.append(f"dataset {ds_id!r} added ({_short(ds.get('title'), 50)}{size})")
            continue
        fields = [
            k for k in sorted(set(ds) | set(before[ds_id])) if ds.get(k) != before[ds_id].get(k)
        ]
        words = files.words()
        if fields or words:
            detail = ", ".join(f for f in fields if f != "files" or not words)
            text = f"dataset {ds_id!r} changed"
            text += f": {detail}" if detail else ""
            text += f"; files {words}" if words else ""
            lines.append(text)
    for ds_id, ds in before.items():
        if ds_id not in after:
            files = compare_files(_manifest(old_folder, ds), None)
            gone = f" (-{_files(files.removed)}, -{human_bytes(files.removed_bytes)})"
            lines.append(f"dataset {ds_id!r} removed" + (gone if files.removed else ""))
    if old.get("source") != new.get("source"):
        lines.append(f"source: {_short(old.get('source'))} → {_short(new.get('source'))}")
    if old.get("extra") != new.get("extra"):
        lines.append("extra: changed (not shown on the site)")
    return lines


def describe(base: Tree, head: Tree, today: dt.date) -> list[str]:
    """The whole report, one line per fact; empty when nothing changed."""
    out: list[str] = []
    added = [a for a in head.studies if a not in base.studies]
    removed = [a for a in base.studies if a not in head.studies]
    withdrawn, changed = [], []
    for acc in head.studies:
        if acc not in base.studies:
            continue
        old, new = base.studies[acc], head.studies[acc]
        if old == new and not _manifests_differ(base.folders[acc], head.folders[acc]):
            continue
        if new is not None and new.get("withdrawn") and not (old or {}).get("withdrawn"):
            withdrawn.append(acc)
        else:
            changed.append(acc)
    if added:
        out.append(f"Studies added ({len(added)}):")
        for acc in added:
            study = head.studies[acc]
            if study is None:
                out.append(f"  + {acc}: study.yaml is not readable YAML (run catalogue validate)")
                continue
            files = FileChanges()
            for ds in _datasets(study).values():
                f = compare_files(None, _manifest(head.folders[acc], ds))
                files.total += f.total
                files.total_bytes += f.total_bytes
            size = (
                f"; {_files(files.total)}, {human_bytes(files.total_bytes)}" if files.total else ""
            )
            n = len(_datasets(study))
            out.append(
                f"  + {acc} {_short(study.get('title'), 70)}: {n} dataset{'s' * (n != 1)}{size}"
            )
            out.append(f"      {_visibility(study, today)}")
    if withdrawn:
        out.append(f"Studies withdrawn ({len(withdrawn)}):")
        for acc in withdrawn:
            w = (head.studies[acc] or {}).get("withdrawn") or {}
            out.append(
                f"  ! {acc}: withdrawn on {w.get('date')}: {_short(w.get('reason'), 70)}; "
                "its page becomes a tombstone, the URL keeps working"
            )
    if changed:
        out.append(f"Studies changed ({len(changed)}):")
        for acc in changed:
            old, new = base.studies[acc], head.studies[acc]
            if old is None or new is None:
                state = "now readable" if new is not None else "no longer readable YAML"
                out.append(f"  ~ {acc}: study.yaml {state}")
                continue
            out.append(f"  ~ {acc} {_short(new.get('title'), 70)}")
            for line in study_changes(old, new, base.folders[acc], head.folders[acc], today):
                out.append(f"      {line}")
    if removed:
        out.append(f"Study folders deleted ({len(removed)}):")
        for acc in removed:
            out.append(
                f"  - {acc}: its URL would stop working; keep the folder and add a withdrawn: "
                "block instead"
            )
    reserved = [a for a in head.ledger if a not in base.ledger and a not in head.studies]
    if reserved:
        out.append(f"Accessions reserved ({len(reserved)}): {', '.join(reserved)}")
    dropped = [a for a in base.ledger if a not in head.ledger]
    if dropped:
        out.append(
            f"Ledger rows removed ({len(dropped)}): {', '.join(dropped)} (the ledger is "
            "append-only: restore them)"
        )
    site_keys = sorted(
        k for k in set(base.site) | set(head.site) if base.site.get(k) != head.site.get(k)
    )
    if site_keys:
        out.append(f"site.yaml changed: {', '.join(site_keys)}")
    return out


def _manifests_differ(old: Path, new: Path) -> bool:
    before = {p.name: p.read_bytes() for p in old.glob("*.files.tsv")}
    after = {p.name: p.read_bytes() for p in new.glob("*.files.tsv")}
    return before != after


def diff(ref: str, content: Path, today: dt.date) -> list[str]:
    with tree_at(ref, content) as base_content:
        base = read_tree(base_content)
        head = read_tree(content)
        return describe(base, head, today)
