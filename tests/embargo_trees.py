"""Random content trees, as git repositories, in which embargoed studies are hidden in
every way a history can hide them; shared by tests/test_embargo_random.py (two trees)
and scripts/embargo_trial.py (as many as asked).

Each embargoed study has words of its own (in its title, description, organism, file
names) and an accession. Its history is made of commits that add it, edit it with
subjects naming it, ``git mv`` files out of it into public studies (and from public
studies into it), rename it through ``redirects.tsv`` (an old accession redirected to
it), and its record links to public studies. Public studies also get commits touching
both. ``leaks()`` then searches every output byte for
each secret.
"""

from __future__ import annotations

import gzip
import os
import random
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent
MINIMAL = ROOT / "roots" / "minimal" / "content"
TODAY = "2026-11-25"
GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Curator",
    "GIT_AUTHOR_EMAIL": "curator@archive.example",
    "GIT_COMMITTER_NAME": "Curator",
    "GIT_COMMITTER_EMAIL": "curator@archive.example",
}
SYLLABLES = ["zor", "quin", "vex", "lum", "dra", "pik", "mo", "thar", "sel", "wun", "ix", "bra"]


@dataclass
class Tree:
    content: Path
    public: list[str]
    embargoed: list[str]
    # embargoed accession -> what must appear in no public output (its accession, old
    # accessions, title word, organism, file names)
    secrets_of: dict[str, list[bytes]] = field(default_factory=dict)
    commits: int = 0

    @property
    def secrets(self) -> list[bytes]:
        return [s for acc in self.embargoed for s in self.secrets_of[acc]]


def _word(rnd: random.Random, taken: set[str]) -> str:
    while True:
        word = "".join(rnd.choice(SYLLABLES) for _ in range(4))
        if word not in taken:
            taken.add(word)
            return word


def _git(repo: Path, *args: str, day: int = 1) -> str:
    env = {**os.environ, **GIT_ENV}
    stamp = f"2024-{1 + day // 28:02d}-{1 + day % 28:02d}T12:00:00+00:00"
    env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = stamp
    done = subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout


def _study(acc: str, release: str, word: str, manifests: list[str], links: list[str]) -> str:
    lines = [
        "format: 1",
        f"accession: {acc}",
        f"title: The {word} atlas",
        f"release_date: {release}",
        "license: CC0-1.0",
        f"keywords: [{word}kw]",
        f"description: Images of {word} tissue.",
        f"authors:\n  - {{name: {word.title()} Author}}",
        f"biosamples:\n  s: {{organism: {{scientific_name: {word.title()}ia {word}ensis}}}}",
    ]
    if links:
        lines.append("links:")
        lines += [f"  - {{type: related study, id: {other}}}" for other in links]
    if manifests:
        lines.append("datasets:")
        for name in manifests:
            ident = name.split(".")[0]
            lines.append(f"  - id: {ident}\n    title: {word} {ident}\n    files: {name}")
    return "\n".join(lines) + "\n"


def make_tree(seed: int, dest: Path) -> Tree:
    rnd = random.Random(seed)
    repo = dest / "repo"
    content = repo / "content"
    shutil.copytree(MINIMAL, content)
    shutil.rmtree(content / "studies" / "S-BIAD2")
    _git(repo, "init", "-q", "-b", "main")
    taken: set[str] = set()
    n_public, n_secret = rnd.randint(1, 3), rnd.randint(1, 3)
    public = ["S-BIAD1"] + [f"S-BIAD{10 + i}" for i in range(n_public)]
    embargoed = [f"S-BIAD{30 + i}" for i in range(n_secret)]
    tree = Tree(content, public, embargoed)
    words = {acc: _word(rnd, taken) for acc in public + embargoed}
    ledger = ["accession\tcreated\tnote"] + [f"{a}\t2024-01-01\t" for a in public + embargoed]
    day = 0

    def commit(message: str) -> None:
        nonlocal day
        day += 1
        _git(repo, "add", "-A", day=day)
        _git(repo, "commit", "-q", "--allow-empty", "-m", message, day=day)
        tree.commits += 1

    manifests: dict[str, list[str]] = {acc: [] for acc in public + embargoed}

    def write(acc: str, release: str, links: list[str] = ()) -> None:
        folder = content / "studies" / acc
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "study.yaml").write_text(
            _study(acc, release, words[acc], manifests[acc], list(links)), encoding="utf-8"
        )

    (content / "accessions.tsv").write_text("\n".join(ledger) + "\n")
    commit("Add S-BIAD1 and the ledger")
    for acc in public[1:]:
        write(acc, "2024-03-01")
        commit(f"Add {acc}")
    for acc in embargoed:
        word = words[acc]
        tree.secrets_of[acc] = [acc.encode(), acc.lower().encode(), word.encode()]
        tree.secrets_of[acc] += [f"{word}_01.tif".encode(), f"{word.title()}ia".encode()]
        manifests[acc].append("raw.files.tsv")
        write(acc, "2031-01-01", rnd.sample(public, 1))
        (content / "studies" / acc / "raw.files.tsv").write_text(
            f"path\tsize\n{word}_01.tif\t10\n", encoding="utf-8"
        )
        commit(f"Add {acc}: the {word} atlas")
        (content / "studies" / acc / "raw.files.tsv").write_text(
            f"path\tsize\n{word}_01.tif\t12\n", encoding="utf-8"
        )
        commit(rnd.choice([f"Fix sizes of {acc}", f"{word}: sizes", "Fix sizes"]))
    for acc in embargoed:
        kind = rnd.choice(["move-out", "move-in", "rename", "both"])
        target = rnd.choice(public[1:] or public)
        n = embargoed.index(acc)
        if kind in ("move-out", "both") and target != "S-BIAD1":
            # a neutral file moved out of the embargoed study into a public one
            name = f"out{n}.files.tsv"
            (content / "studies" / acc / name).write_text("path\tsize\nx.tif\t1\n")
            commit(f"Prepare files of {acc}")
            _git(repo, "mv", f"content/studies/{acc}/{name}", f"content/studies/{target}/")
            manifests[target].append(name)
            write(target, "2024-03-01")
            commit(f"Move files from {acc} ({words[acc]}) to {target}")
        if kind in ("move-in", "both") and target != "S-BIAD1":
            name = f"in{n}.files.tsv"
            (content / "studies" / target / name).write_text("path\tsize\ny.tif\t1\n")
            manifests[target].append(name)
            write(target, "2024-03-01")
            commit(f"Files for {target}")
            _git(repo, "mv", f"content/studies/{target}/{name}", f"content/studies/{acc}/")
            manifests[target].remove(name)
            write(target, "2024-03-01")
            commit(f"Give {target}'s files to {acc}")
        if kind in ("rename", "both"):
            old = f"S-BIAD{60 + embargoed.index(acc)}"
            tree.secrets_of[acc] += [old.encode(), old.lower().encode()]
            with (content / "accessions.tsv").open("a") as ledger_file:
                ledger_file.write(f"{old}\t2024-01-01\t\n")
            redirects = content / "redirects.tsv"
            rows = redirects.read_text() if redirects.exists() else "from\tto\tnote\n"
            redirects.write_text(rows + f"{old}\t{acc}\trenamed {words[acc]}\n")
            commit(f"Rename {old} to {acc}")
        if rnd.random() < 0.5:
            path = content / "studies" / public[0] / "study.yaml"
            path.write_text(path.read_text().replace("A *worm*.", f"A *worm*, like {acc}."))
            commit(f"Mention {acc} in S-BIAD1")
            path.write_text(path.read_text().replace(f"A *worm*, like {acc}.", "A *worm*."))
            commit(f"Do not mention {acc} in S-BIAD1")  # only S-BIAD1: the subject is shown
        if rnd.random() < 0.5:
            path = content / "studies" / public[0] / "study.yaml"
            path.write_text(path.read_text() + f"# see the {n}th atlas\n")
            # only S-BIAD1, named by a word of the embargoed title: shown, without the word
            commit(rnd.choice([f"Compare with the {words[acc]} atlas", f"{words[acc].title()}s"]))
    return tree


def site_bytes(site: Path):  # noqa: ANN201
    for path in sorted(site.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            if data[:2] == b"\x1f\x8b":
                data = gzip.decompress(data)
            yield path, data


def leaks(site: Path, secrets: list[bytes]) -> list[str]:
    """Every (file, secret) where a secret shows up, searching all bytes."""
    found = []
    for path, data in site_bytes(site):
        for secret in secrets:
            if secret in data or secret in path.as_posix().encode():
                found.append(f"{path.relative_to(site)}: {secret.decode()}")
    return found
