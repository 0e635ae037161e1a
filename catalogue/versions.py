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
- in every other subject what names a study that is not visible is blanked out as a
  second line of defence (a commit "Prepare S-BIAD2" or "Link the zorquin atlas" that
  touches no file of that study still says nothing about it): its accessions (the old
  ones redirected to it too), its DOI and its id at the archive it was imported from,
  and the words of its title, keywords and organisms that the public site does not
  already use (``Secrets``), a word also when it starts a longer one ("zorquins");
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

from catalogue.model import Catalogue, Organism, Study, StudyState
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
    states = {e.accession: e.state(catalogue.today) for e in catalogue.studies}
    visible = {a for a, s in states.items() if s in (StudyState.PUBLIC, StudyState.WITHDRAWN)}
    # an old accession merged into a visible study is public anyway (it redirects there)
    public_names = visible | {
        old for old, new in resolve(catalogue.redirects).items() if new in visible
    }
    # folder name under studies/ → accession
    folder_owner = {e.folder.split("/", 1)[-1]: e.accession for e in catalogue.studies}
    secret = Secrets.of(catalogue, public_names)
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
        shown = "" if hidden_study else secret.redact(subject)
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
WORD = re.compile(r"[^\W_]+")
PREFIX = 5  # a secret word this long is also hidden at the start of a longer word
# words a title shares with any commit subject: hiding them would tell nothing and make
# public subjects unreadable ("Fix the images of S-BIAD1")
_COMMON_WORDS = """
    about above after again all also among and any are around been before being below
    between both but can cell cells could data dataset datasets did does done during each
    file files fix fixed for from had has have her his how image images imaging into its
    more most new not now off once only other our out over own public same set sets she
    should some study studies such than that the their them then there these they this
    those through too under until update updated very was were what when where which
    while who why will with within without would yet you your
"""
COMMON = frozenset(_COMMON_WORDS.split())


def _words(text: str) -> set[str]:
    return set(WORD.findall(text.casefold()))


@dataclass(frozen=True)
class Secrets:
    """What names a study that is not visible, as it may turn up in a commit subject."""

    accessions: frozenset[str]  # upper case
    words: frozenset[str]  # casefolded words of titles, keywords, organisms
    literals: tuple[str, ...]  # casefolded: DOIs, ids at other archives
    stems: frozenset[str] = frozenset()  # the first PREFIX letters of the longer words

    @classmethod
    def of(cls, catalogue: Catalogue, public_names: set[str]) -> Secrets:
        known = {r.accession for r in catalogue.ledger} | {e.accession for e in catalogue.studies}
        # an old accession redirected to a hidden study names it, ledger or not
        known |= {r.source for r in catalogue.redirects}
        accessions = frozenset(a.upper() for a in known - public_names)
        hidden = [e.study for e in catalogue.studies if e.accession not in public_names]
        if not hidden:
            return cls(accessions, frozenset(), ())
        words: set[str] = set()
        literals: set[str] = set()
        for study in hidden:
            words |= _words(_naming_text(study, labels=True))
            for value in (study.doi, study.source.id if study.source else None):
                if value and len(value) >= 3:
                    literals.add(str(value).casefold())
        candidates = {w for w in words - COMMON if len(w) >= 3 and not ACCESSION_TOKEN.match(w)}
        # a word the public site already uses tells nothing: looked up in the public
        # text rather than splitting all of it into words (100,000 titles)
        said = "\n".join(
            [catalogue.site.title, catalogue.site.description]
            + [_naming_text(e.study) for e in catalogue.studies if e.accession in public_names]
        ).casefold()
        words = {w for w in candidates if not _said(w, said)}
        return cls(
            accessions,
            frozenset(words),
            tuple(sorted(literals, key=lambda x: -len(x))),
            frozenset(w[:PREFIX] for w in words if len(w) >= PREFIX),
        )

    def _secret_word(self, word: str) -> bool:
        w = word.casefold()
        if w in self.words:
            return True
        if len(w) <= PREFIX or w[:PREFIX] not in self.stems:
            return False
        return any(w[:n] in self.words for n in range(PREFIX, len(w)))

    def redact(self, subject: str) -> str:
        """Blank out what names a hidden study (set lookups: fast enough for a million
        commits, unlike one large alternation of every secret)."""
        folded = subject.casefold()
        if self.literals and any(lit in folded for lit in self.literals):
            for lit in self.literals:
                subject = re.sub(re.escape(lit), HIDDEN, subject, flags=re.IGNORECASE)
        subject = ACCESSION_TOKEN.sub(
            lambda m: HIDDEN if m.group().upper() in self.accessions else m.group(), subject
        )
        if not self.words or not any(map(self._secret_word, WORD.findall(subject))):
            return subject
        parts = subject.split(HIDDEN)  # the placeholder's own words are not secrets
        return HIDDEN.join(
            WORD.sub(lambda m: HIDDEN if self._secret_word(m.group()) else m.group(), part)
            for part in parts
        )


def _naming_text(study: Study, labels: bool = False) -> str:
    """The words by which someone would refer to a study in a commit subject (the
    ontology's organism names too with ``labels``: slower, asked of hidden studies only)."""
    names = [n for b in study.biosamples.values() for o in b.organism for n in _names(o, labels)]
    return " ".join([study.title, *study.keywords, *names])


def _names(organism: Organism, labels: bool) -> list[str]:
    names = [organism.scientific_name, organism.common_name or ""]
    return [*names, organism.label] if labels else names


def _said(word: str, text: str) -> bool:
    """Whether ``text`` (casefolded) holds ``word`` as a whole word."""
    at = text.find(word)
    while at >= 0:
        end = at + len(word)
        if (at == 0 or not text[at - 1].isalnum()) and (
            end == len(text) or not text[end].isalnum()
        ):
            return True
        at = text.find(word, at + 1)
    return False
