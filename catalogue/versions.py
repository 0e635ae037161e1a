"""Version history of each study, read from git once per build.

Every change to a study is a commit to the content repository, so git already is the
version history; this module only reads it. One ``git log --name-status`` over
``studies/`` is parsed as a stream (one process for the whole archive instead of one
per study: 100,000 studies would otherwise mean 100,000 processes). Renames are
followed file by file, as ``git log --follow`` would, so a manifest moved into a study
when two studies were merged brings its history along.

What a page may show of a commit is decided here, from the model:

- only studies that are visible (public or withdrawn) get a history at all;
- a commit that also touched a study that is not visible (embargoed, or a reserved
  folder) keeps its date, commit and changed files but loses its subject, because a
  subject such as "Add S-BIAD2 and fix S-BIAD1" would name the embargoed study;
- renames are followed only out of studies that may be named: a file moved (``git mv``)
  out of an embargoed study shows as added, with no older history, since its old path
  and the commits that touched only the embargoed study would name it;
- in every other subject the accessions of studies that are not visible are blanked out
  as a second line of defence (a commit "Prepare S-BIAD2" that touches no study folder
  of S-BIAD2 still says nothing about it);
- nothing about authors (names, e-mail addresses) is read at all.

The result depends only on the git history and the model, so the same content and the
same history give the same pages. A tree that is not a git checkout has no versions.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from catalogue.model import Catalogue, StudyState
from catalogue.readers.redirects import resolve

SHORT = 12  # fixed, unlike git's %h whose length depends on the size of the object store
HIDDEN = "[not yet public]"
STATUS = {
    "A": "added",
    "M": "modified",
    "D": "deleted",
    "R": "renamed",
    "C": "copied",
    "T": "changed type",
}


@dataclass(frozen=True)
class Version:
    """One commit as a study's page and API record show it."""

    commit: str
    date: str  # YYYY-MM-DD of the commit time in UTC
    subject: str  # "" when it had to be withheld
    changes: tuple[tuple[str, str], ...]  # (added|modified|…, path in the study folder)

    @property
    def short(self) -> str:
        return self.commit[:SHORT]

    def summary(self) -> str:
        files = ", ".join(f"{path} {status}" for status, path in self.changes)
        return f"{self.subject} ({files})" if self.subject and files else self.subject or files

    def as_json(self) -> dict[str, object]:
        return {
            "commit": self.commit,
            "date": self.date,
            "subject": self.subject,
            "changes": [{"status": s, "path": p} for s, p in self.changes],
        }


Versions = Mapping[str, tuple[Version, ...]]


@dataclass(frozen=True)
class History:
    versions: dict[str, tuple[Version, ...]]
    note: str | None  # why there is no (or only a partial) history, for the build log


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=False, errors="replace"
    )


LOG_ARGS = [
    "-c",
    "core.quotePath=false",
    "-c",
    "log.showSignature=false",
    "-c",
    "log.follow=false",
    "log",
    "--no-merges",
    "--no-color",
    "-M",
    "--name-status",
    "-z",
    "--format=%x1e%H%x1f%ct%x1f%s",
]


def _records(stream: IO[bytes]) -> Iterator[bytes]:
    """Split git's output into one record per commit without reading it all at once."""
    buffer = b""
    while chunk := stream.read(1 << 16):
        buffer += chunk
        *complete, buffer = buffer.split(b"\x1e")
        for record in complete:
            if record:
                yield record
    if buffer:
        yield buffer


def parse_record(record: bytes) -> tuple[str, int, str, list[tuple[str, list[str]]]] | None:
    """``<sha>\\x1f<time>\\x1f<subject>\\0\\n<status>\\0<path>\\0[<path>\\0]…`` → parts."""
    head, _, rest = record.partition(b"\0")
    parts = head.decode("utf-8", "replace").split("\x1f", 2)
    if len(parts) != 3 or not parts[1].strip().isdigit():
        return None
    tokens = [t.decode("utf-8", "replace") for t in rest.lstrip(b"\n").split(b"\0") if t]
    entries: list[tuple[str, list[str]]] = []
    i = 0
    while i < len(tokens):
        status = tokens[i].strip()
        width = 2 if status[:1] in ("R", "C") else 1
        paths = tokens[i + 1 : i + 1 + width]
        i += 1 + width
        if status and len(paths) == width:
            entries.append((status[:1], paths))
    return parts[0], int(parts[1]), parts[2].strip(), entries


def read_history(content: Path, catalogue: Catalogue) -> History:
    """The version history of every visible study, or none with the reason why."""
    if shutil.which("git") is None:
        return History({}, "git not found: study pages show no version history")
    studies = (content / "studies").resolve()
    if not studies.is_dir():
        return History({}, None)
    top = _git(["rev-parse", "--show-toplevel", "--is-shallow-repository"], studies)
    if top.returncode != 0:
        if "not a git repository" in top.stderr:
            return History({}, "content is not a git checkout: study pages show no versions")
        return History({}, f"cannot read git history ({top.stderr.strip()[:200]})")
    lines = top.stdout.splitlines()
    root = Path(lines[0])
    prefix = studies.relative_to(root.resolve()).as_posix() + "/"
    proc = subprocess.Popen(
        ["git", *LOG_ARGS, "--", prefix],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    versions = collect(_records(proc.stdout), prefix, catalogue)
    _, err = proc.communicate()
    if proc.returncode != 0:
        return History({}, f"cannot read git history ({err.decode(errors='replace')[:200]})")
    note = None
    if len(lines) > 1 and lines[1].strip() == "true":
        note = "shallow git clone: version histories are cut off (fetch with depth 0)"
    return History(versions, note)


def collect(
    records: Iterator[bytes], prefix: str, catalogue: Catalogue
) -> dict[str, tuple[Version, ...]]:
    """Assign each commit (newest first) to the visible studies whose files it changed."""
    states = {e.study.accession: e.state(catalogue.today) for e in catalogue.studies}
    visible = {a for a, s in states.items() if s in (StudyState.PUBLIC, StudyState.WITHDRAWN)}
    # an old accession merged into a visible study is public anyway (it redirects there)
    public_names = visible | {
        old for old, new in resolve(catalogue.redirects).items() if new in visible
    }
    # folder name under studies/ → accession
    folder_owner = {e.folder.split("/", 1)[-1]: e.study.accession for e in catalogue.studies}
    known = {r.accession for r in catalogue.ledger} | set(states)
    secret = {a.upper() for a in known - public_names}
    followed: dict[str, set[str]] = {}  # older path → studies its later name belongs to
    out: dict[str, list[Version]] = {}
    for record in records:
        parsed = parse_record(record)
        if parsed is None:
            continue
        sha, when, subject, entries = parsed
        touched: dict[str, list[tuple[str, str]]] = {}
        hidden_study = False
        for status, paths in entries:
            new, old = paths[-1], paths[0]
            owners = _owners(new, prefix, folder_owner, followed)
            came_from = _owners(old, prefix, folder_owner, followed)
            # a file that comes from a study that cannot be named brings no history along
            # (its old path, and commits that only touched that study, would name it)
            secret_source = bool(came_from - public_names)
            if status == "R" and not secret_source:
                followed.setdefault(old, set()).update(owners)
            if (owners | came_from) - public_names:
                hidden_study = True
            label = STATUS.get(status, status)
            if status in ("R", "C") and secret_source:
                label = "added"  # "renamed" or "copied" would tell that it came from somewhere
            for acc in owners & visible:
                touched.setdefault(acc, []).append((label, new.removeprefix(prefix)))
            if status == "R":  # moved out of a visible study: gone from there
                for acc in (came_from & visible) - owners:
                    touched.setdefault(acc, []).append(("deleted", old.removeprefix(prefix)))
        if not touched:
            continue
        date = dt.datetime.fromtimestamp(when, tz=dt.UTC).date().isoformat()
        shown = "" if hidden_study else _redact(subject, secret)
        for acc, changes in touched.items():
            rel = [(s, _relative(p, acc)) for s, p in changes]
            out.setdefault(acc, []).append(Version(sha, date, shown, tuple(sorted(set(rel)))))
    return {acc: tuple(v) for acc, v in sorted(out.items())}


def _owners(
    path: str, prefix: str, folder_owner: dict[str, str], followed: dict[str, set[str]]
) -> set[str]:
    owners = set(followed.get(path, ()))
    if path.startswith(prefix):
        folder = path[len(prefix) :].split("/", 1)[0]
        if folder in folder_owner:
            owners.add(folder_owner[folder])
        elif "/" in path[len(prefix) :]:
            owners.add(folder)  # a folder that no longer exists (visible only if redirected)
    return owners


def _relative(path: str, accession: str) -> str:
    """A path under studies/ as the study's page shows it: relative to its own folder."""
    return path.removeprefix(f"{accession}/")


ACCESSION_TOKEN = re.compile(r"(?<![\w-])S-[A-Z]{2,10}-?[0-9]{1,9}(?![\w])", re.IGNORECASE)


def _redact(subject: str, secret: set[str]) -> str:
    """Blank out every accession of the archive that is not public (set lookups: fast
    enough for a million commits, unlike one large alternation of every secret)."""
    return ACCESSION_TOKEN.sub(
        lambda m: HIDDEN if m.group().upper() in secret else m.group(), subject
    )
