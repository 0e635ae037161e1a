"""A cheap fingerprint of everything a build reads, so that "nothing changed" costs a walk.

A rebuild of an unchanged archive of 10,000 studies must not load, plan or compare
anything per study. The output is a pure function of: the content tree (every file's
size, times and inode, every link's target), the git commit it is at (study versions),
the templates, the code and the libraries that shape the bytes, and the options (today,
base URL, output folder). When the fingerprint equals the one stored with the last
successful build, the site is already what this build would write.

The fingerprint is kept beside the manifest summaries (``$CATALOGUE_CACHE_DIR``, one
small file per output folder) with what that build reported and the stamp of the build
state it wrote; it is not in the site, whose bytes must not depend on inode numbers.

Time stamps are trusted the way git's index trusts them: the change time (which no
program can set back) is part of the fingerprint, and a fingerprint taken while some
file was modified less than two seconds earlier is not stored, so an edit within one
clock tick of a build is never missed.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from collections.abc import Callable
from functools import cache
from importlib import metadata
from pathlib import Path

# the names of the site's bookkeeping files (pipeline.output and pipeline.state own them;
# importing them here is cheap, neither imports anything heavy)
from catalogue.pipeline.output import journal_path
from catalogue.pipeline.state import STATE_FILE

RACY_NS = 2_000_000_000
# libraries whose version can change the bytes written
LIBRARIES = ("jinja2", "markdown", "nh3", "pydantic", "pillow", "pyyaml", "tifffile", "zarr")


@cache
def code_digest() -> str:
    """The package's own files (code, data, default templates)."""
    import catalogue

    root = Path(catalogue.__file__).parent
    h = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            h.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    for name in LIBRARIES:
        try:
            h.update(f"{name}={metadata.version(name)}\0".encode())
        except metadata.PackageNotFoundError:
            h.update(f"{name}=-\0".encode())
    return h.hexdigest()


# The stamps (size, modification and change times, inode) of the files under the content
# tree's studies/ that the last walk saw, by absolute path: the study cache of the build
# that follows takes them (``take_walk``) instead of asking the system about 30,000 files
# again (a tenth of loading after an edit at 10,000 studies). The build's result is then
# that of the tree as walked, and the fingerprint it records is the walk's: a file
# changed since is seen by the next build.
Stamp = os.stat_result  # kept as the walk got it: a no-op build never looks at it
_WALKED: dict[str, Stamp] | None = None


def take_walk() -> dict[str, Stamp] | None:
    """The stamps of the last walk, once: a later build walks again or asks the system."""
    global _WALKED
    walked, _WALKED = _WALKED, None
    return walked


def _walk(
    folder: str,
    h: hashlib._Hash,
    newest: list[int],
    stamps: dict[str, Stamp] | None = None,
    studies: str = "",
    keeping: bool = False,
) -> None:
    """The files' stamps are kept in ``stamps`` below the folder ``studies`` (the content
    tree's studies/): ``keeping`` says the walk is there."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        h.update(f"!{folder}:{exc.errno}\0".encode())
        return
    for entry in entries:
        name = entry.name
        if entry.is_symlink():
            try:
                h.update(f"L{name}>{os.readlink(entry.path)}\0".encode())
            except OSError:
                h.update(f"L{name}>?\0".encode())
            # what it points to counts too (its stamp below), but is not walked into
        try:
            st = entry.stat()
        except OSError:
            h.update(f"?{name}\0".encode())
            continue
        if entry.is_dir(follow_symlinks=False):
            if name == ".git":
                continue  # the commit is taken from git itself
            h.update(f"D{name}\0".encode())
            _walk(entry.path, h, newest, stamps, studies, keeping or entry.path == studies)
            h.update(b"U\0")
        else:
            h.update(
                f"F{name}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}\0".encode()
            )
            newest[0] = max(newest[0], st.st_mtime_ns, st.st_ctime_ns)
            if keeping and stamps is not None and not entry.is_symlink():
                stamps[entry.path] = st


def _git_head(content: Path) -> str:
    try:
        proc = subprocess.run(
            ["git", "rev-parse", "HEAD", "--is-shallow-repository"],
            cwd=content,
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "no git"
    return proc.stdout.strip() if proc.returncode == 0 else "not a checkout"


def fingerprint(content: Path, templates: Path, options: list[object]) -> str | None:
    """The fingerprint of a build's inputs, or None when a file changed too recently to
    trust time stamps (the build then runs in full and stores no fingerprint)."""
    started = time.time_ns()
    h = hashlib.sha256()
    h.update(code_digest().encode())
    h.update(repr(options).encode())
    h.update(_git_head(content).encode())
    global _WALKED
    newest = [0]
    stamps: dict[str, Stamp] = {}
    for label, folder in (("content", content), ("templates", templates)):
        h.update(f"#{label}:{folder.resolve()}\0".encode())
        if label == "content":  # walked by its real path: the paths the study cache keeps
            root = str(folder.resolve())
            _walk(root, h, newest, stamps, os.path.join(root, "studies"))
        else:
            _walk(str(folder), h, newest)
    _WALKED = stamps
    if newest[0] >= started - RACY_NS:
        return None
    return h.hexdigest()


# This module is imported by ``catalogue build`` before anything heavy (pydantic, the
# imaging stack, templates), so that a build with nothing to do costs a walk, not the
# two seconds of imports. Hence these two rules are restated here rather than imported;
# tests/test_incremental.py checks that they agree with the modules that own them.


def cache_base() -> Path | None:
    """``summary_cache.cache_dir().parent``: $CATALOGUE_CACHE_DIR, $XDG_CACHE_HOME, ~/.cache."""
    env = os.environ.get("CATALOGUE_CACHE_DIR")
    if env is not None:
        return Path(env) if env else None
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "catalogue"


def default_templates() -> Path:
    """``render.TEMPLATES``: the templates of an installed wheel, else the checkout's."""
    here = Path(__file__).resolve().parent.parent
    packaged = here / "site_templates"
    return packaged if packaged.is_dir() else here.parent / "templates"


def _record(out: Path) -> Path | None:
    base = cache_base()
    if base is None:
        return None
    key = hashlib.sha256(str(out.resolve()).encode()).hexdigest()[:32]
    return base / "builds" / f"{key}.json"


def _state_stamp(state: Path) -> list[int] | None:
    try:
        st = state.stat()
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def recorded(out: Path, state: Path, fp: str) -> dict[str, object] | None:
    """What the last build into ``out`` reported, if its inputs had fingerprint ``fp`` and
    its build state is still the one it wrote; else None."""
    path = _record(out)
    if path is None:
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("fingerprint") != fp:
        return None
    if data.get("state") != _state_stamp(state):
        return None
    report = data.get("report")
    return report if isinstance(report, dict) else None


def record(out: Path, state: Path, fp: str | None, report: dict[str, object]) -> None:
    path = _record(out)
    if path is None:
        return
    try:
        if fp is None:
            path.unlink(missing_ok=True)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        data = {"fingerprint": fp, "state": _state_stamp(state), "report": report}
        tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass  # only the next no-op is slower


def unchanged(
    content: Path,
    out: Path,
    today: str,
    base_url: str | None,
    templates: Path,
    echo: Callable[[str], None],
    started: float,
    keep_going: bool | None = None,
) -> str | None:
    """Report and return "" when no input changed since the last build into ``out``; else
    the fingerprint to store after this build (None when it cannot be trusted)."""
    fp = fingerprint(
        content,
        templates,
        [str(content.resolve()), str(out.resolve()), today, base_url, keep_going],
    )
    if fp is None or journal_path(out).exists():
        return fp
    report = recorded(out, out / STATE_FILE, fp)
    if report is None:
        return fp
    messages = report.get("messages")
    for message in messages if isinstance(messages, list) else []:
        echo(str(message))
    elapsed = time.perf_counter() - started
    echo(
        f"build: nothing changed; {report.get('public')} public studies; "
        f"{report.get('files')} files (0 steps run, {report.get('steps')} reused) "
        f"in {elapsed:.1f} s → {out}"
    )
    return ""
