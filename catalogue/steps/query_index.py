"""The search index behind /search/ and ``catalogue search`` (see catalogue/search/index.py).

Built from the model, never from pages, and only from public studies: an embargoed or
withdrawn study contributes no word, no facet value and no number.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from catalogue.model import StudyEntry
from catalogue.pipeline.plan import Step, StepResult, digest_of, text_digest
from catalogue.readers import summary_cache
from catalogue.search import index
from catalogue.steps.context import RenderContext

OUTPUT_DIR = "search/index"
# bump when what is indexed changes
INDEX_VERSION = "2"
FACETS = ("organism", "imaging method", "licence", "release year", "collection")


def study_text(ctx: RenderContext, entry: StudyEntry) -> index.StudyText:
    study = entry.study
    acc = study.accession
    cover = ctx.cover_of(entry)
    collection = ctx.site.collections.get(study.collection)
    collection_title = collection.title if collection else study.collection
    rembi: list[str] = []
    for sample in study.biosamples.values():
        rembi += [sample.biological_entity or "", sample.description or ""]
        rembi += [*sample.intrinsic_variables, *sample.extrinsic_variables]
        rembi += list(sample.experimental_variables)
    for spec in study.specimens.values():
        rembi += [spec.preparation or "", spec.description or ""]
        rembi += [f"{c.stain or ''} {c.target or ''}" for c in spec.signal_channels]
    for acq in study.image_acquisitions.values():
        rembi += [acq.instrument or "", acq.parameters or "", acq.description or ""]
    for ann in study.annotations.values():
        rembi += [ann.type or "", ann.method or "", ann.description or ""]
    for ana in study.analyses.values():
        rembi += [ana.description or "", *ana.software]
    for ds in study.datasets:
        rembi += [ds.title, ds.description or ""]
    description = index.plain(study.description)
    summaries = entry.manifests
    return index.StudyText(
        accession=acc,
        title=study.title,
        url=ctx.study_url(acc),
        thumbnail=cover.url if cover else "",
        released=study.release_date.isoformat(),
        description=description,
        size=sum(m.total_size for m in summaries.values()),
        files=sum(m.count for m in summaries.values()),
        fields={
            "accession": [acc],
            "title": [study.title],
            "description": [description],
            "author": [a.name for a in study.authors],
            "keyword": list(study.keywords),
            "organism": [
                f"{o.label} {o.scientific_name} {o.common_name or ''}" for o in study.organisms
            ],
            "method": [f"{m.label} {m.name}" for m in study.imaging_methods],
            "licence": [study.license],
            "collection": [study.collection, collection_title],
            "publication": [f"{p.title or ''} {p.authors or ''}" for p in study.publications],
            "rembi": [t for t in rembi if t],
        },
        facets={
            "organism": [o.label for o in study.organisms],
            "imaging method": [m.label for m in study.imaging_methods],
            "licence": [study.license],
            "release year": [str(study.release_date.year)],
            # AI-ready studies also form a collection of their own (/collections/ai-ready/)
            "collection": [collection_title, *(["AI-ready"] if study.ai_ready else [])],
        },
        values={ds: dict(m.values) for ds, m in sorted(summaries.items()) if m.values},
    )


class KeyCache:
    """``index.study_keys`` of each study text seen, by a hash of the text: an edit then
    costs one study's normalising and stemming, not the archive's. A SQLite table beside
    the manifest summaries (``$CATALOGUE_CACHE_DIR``; ``""`` switches it off), read one
    study at a time, so an edit reads two studies' keys (the old and the new text), not
    every study's; a build of the whole index deletes the keys it did not use, so the
    table never grows much past one archive."""

    def __init__(self, path: Path | None, prunes: bool = True):
        self.path = path
        self.prunes = prunes
        self.db: sqlite3.Connection | None = None
        self.used: set[bytes] = set()
        self.new: dict[bytes, bytes] = {}
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                self.db = sqlite3.connect(path, timeout=30)
                self.db.execute("CREATE TABLE IF NOT EXISTS keys (text BLOB PRIMARY KEY, k BLOB)")
                self.db.execute("CREATE TABLE IF NOT EXISTS code (v TEXT)")
                row = self.db.execute("SELECT v FROM code").fetchone()
                if row is None or row[0] != _code():  # other text rules, other keys
                    self.db.execute("DELETE FROM keys")
                    self.db.execute("DELETE FROM code")
                    self.db.execute("INSERT INTO code VALUES (?)", (_code(),))
                    self.db.commit()
            except sqlite3.Error:  # an unusable cache is a miss
                self.db = None

    @classmethod
    def open(cls, site: Path | None) -> KeyCache:
        """One table per site folder: a build of the whole index prunes the keys it did not
        use, which in a table shared by several sites (previews of pull requests, a test
        suite) deleted the other sites' keys, so their next edit rebuilt the whole index."""
        base = summary_cache.cache_dir()
        if base is None:
            return cls(None)
        if site is None:  # an index for no site folder (the library's callers): shared,
            return cls(base.parent / "search" / f"keys-{INDEX_VERSION}.db", prunes=False)
        key = hashlib.sha256(str(site.resolve()).encode()).hexdigest()[:32]
        return cls(base.parent / "search" / f"keys-{INDEX_VERSION}-{key}.db")

    @staticmethod
    def digest(text: index.StudyText) -> bytes:
        """Canonical JSON, not a pickle: a pickle's bytes depend on which equal strings
        are one object (a study read from the study cache shares them, a study just
        parsed does not), so one text had two digests and every other edit missed the
        cache and rebuilt the whole index."""
        canonical = json.dumps([text.fields, text.values], sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).digest()

    def lookup(self, digest: bytes) -> index.StudyKeys | None:
        data = self.new.get(digest)
        if data is None and self.db is not None:
            try:
                row = self.db.execute("SELECT k FROM keys WHERE text = ?", (digest,)).fetchone()
            except sqlite3.Error:
                row = None
            data = row[0] if row else None
        if data is None:
            return None
        try:
            found: index.StudyKeys = pickle.loads(data)
        except Exception:  # noqa: BLE001 - an unreadable entry is a miss
            return None
        return found

    def get(self, text: index.StudyText) -> index.StudyKeys:
        digest = self.digest(text)
        found = self.lookup(digest)
        if found is None:
            found = index.study_keys(text)
            self.new[digest] = pickle.dumps(found, protocol=5)
        self.used.add(digest)
        return found

    def save(self, prune: bool = False) -> None:
        if self.db is None:
            return
        try:
            with self.db:
                self.db.executemany(
                    "INSERT OR REPLACE INTO keys VALUES (?, ?)", list(self.new.items())
                )
                if prune and self.prunes:
                    self.db.execute("CREATE TEMP TABLE IF NOT EXISTS used (text BLOB PRIMARY KEY)")
                    self.db.execute("DELETE FROM used")
                    self.db.executemany("INSERT INTO used VALUES (?)", [(d,) for d in self.used])
                    self.db.execute("DELETE FROM keys WHERE text NOT IN (SELECT text FROM used)")
            self.db.close()
        except sqlite3.Error:
            pass  # only the next build is slower
        self.db = None


def _code() -> str:
    """The text rules the keys were made with: other rules, other keys."""
    from catalogue.search import text

    return hashlib.sha256(
        Path(text.__file__).read_bytes() + Path(index.__file__).read_bytes()
    ).hexdigest()


# --- re-indexing the studies that changed -------------------------------------------------
#
# The index numbers studies 0…N-1 in accession order, and a word's postings list every
# study that has it; an edit of one study changes the postings of the words it gained or
# lost (a few shards), its result block (d/v), and maybe facets and numbers. The build
# keeps, per site folder, what it needs to redo just that (``SiteIndex``, in the cache
# folder, tied to the index it describes by the index version in meta.json): every
# study's change key, text digest (its keys are in the KeyCache) and ``index.Light``,
# and the sha256 of every file. The shards are read back from the site. Anything
# unexpected (other studies, another version on disk, a missing file or key) builds the
# whole index instead, which is what a clean build writes; both give the same bytes.

SITE_STATE_VERSION = 1
MAX_CHANGED = 64  # more changed studies than this: the whole index is built


@dataclass
class SiteIndex:
    context: str  # what every study's index text depends on besides the study
    version: str  # the index version (meta.json) these records describe
    accessions: list[str]
    changes: list[str]  # per study: its change key
    texts: list[bytes]  # per study: its KeyCache digest
    lights: list[index.Light]
    columns: list[tuple[tuple[str, str], ...]]  # per study: (query field, column) it names
    digests: dict[str, bytes]  # file name -> sha256, meta.json excepted


def _site_state_path(site: Path) -> Path | None:
    base = summary_cache.cache_dir()
    if base is None:
        return None
    key = hashlib.sha256(str(site.resolve()).encode()).hexdigest()[:32]
    return base.parent / "search" / f"site-{key}.pickle"


def _load_site_state(site: Path) -> SiteIndex | None:
    path = _site_state_path(site)
    if path is None:
        return None
    try:
        with path.open("rb") as fh:
            loaded = pickle.load(fh)
        if loaded.get("v") != (SITE_STATE_VERSION, INDEX_VERSION, index.FORMAT, _code()):
            return None
        state: SiteIndex = loaded["state"]
        meta = json.loads((site / OUTPUT_DIR / "meta.json").read_bytes())
    except Exception:  # noqa: BLE001 - no usable state: the whole index is built
        return None
    return state if meta.get("version") == state.version else None


def _save_site_state(site: Path, state: SiteIndex) -> None:
    path = _site_state_path(site)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with tmp.open("wb") as fh:
            pickle.dump(
                {"v": (SITE_STATE_VERSION, INDEX_VERSION, index.FORMAT, _code()), "state": state},
                fh,
                protocol=5,
            )
        os.replace(tmp, path)
    except OSError:
        pass  # the next build builds the whole index


def _version(meta: bytes) -> str:
    return str(json.loads(meta)["version"])


def _whole(
    ctx: RenderContext,
    public: tuple[StudyEntry, ...],
    context: str,
    changes: list[str],
    site: Path | None,
) -> tuple[dict[str, bytes], SiteIndex]:
    texts = [study_text(ctx, e) for e in public]
    cache = KeyCache.open(site)
    keyed = [cache.get(t) for t in texts]
    files = index.build(texts, FACETS, keyed)
    cache.save(prune=True)
    state = SiteIndex(
        context=context,
        version=_version(files["meta.json"]),
        accessions=[e.accession for e in public],
        changes=changes,
        texts=[KeyCache.digest(t) for t in texts],
        lights=[index.light(t) for t in texts],
        columns=[k[2] for k in keyed],
        digests={n: hashlib.sha256(d).digest() for n, d in files.items() if n != "meta.json"},
    )
    return files, state


def _partial(
    ctx: RenderContext,
    public: tuple[StudyEntry, ...],
    site: Path,
    old: SiteIndex,
    changes: list[str],
) -> tuple[dict[str, bytes], SiteIndex] | None:
    """The files that change when the studies whose change key moved are re-indexed, read
    from and merged into the index in ``site``; None when that cannot be done exactly."""
    changed = [i for i, c in enumerate(changes) if c != old.changes[i]]
    if len(changed) > MAX_CHANGED:
        return None
    n = len(public)
    shards = index.shard_count(n)
    cache = KeyCache.open(site)
    try:
        words: dict[str, dict[int, int | None]] = {}  # key -> study -> new mask (None: gone)
        in_columns: dict[str, dict[int, bool]] = {}
        texts = list(old.texts)
        lights = list(old.lights)
        columns = list(old.columns)
        fresh: dict[int, index.StudyText] = {}
        for i in changed:
            before = cache.lookup(old.texts[i])
            if before is None:
                return None
            text = study_text(ctx, public[i])
            after = cache.get(text)
            fresh[i] = text
            texts[i], lights[i], columns[i] = KeyCache.digest(text), index.light(text), after[2]
            was, now = dict(before[0]), dict(after[0])
            for key in was.keys() | now.keys():
                if was.get(key) != now.get(key):
                    words.setdefault(key, {})[i] = now.get(key)
            had, has = set(before[1]), set(after[1])
            for key in had ^ has:
                in_columns.setdefault(key, {})[i] = key in has
        files: dict[str, bytes] = {}
        by_shard: dict[int, list[str]] = {}
        for key in words.keys() | in_columns.keys():
            by_shard.setdefault(index.shard_of(key, shards), []).append(key)
        for k, keys in sorted(by_shard.items()):
            name = f"w{k}.json"
            shard: dict[str, str] = json.loads((site / OUTPUT_DIR / name).read_bytes())
            for key in keys:
                if key in words:
                    _merge(shard, key, words[key], masks=True)
                if key in in_columns:
                    flags = in_columns[key]
                    _merge(shard, key, {i: (0 if v else None) for i, v in flags.items()}, False)
            files[name] = index.dump_shard(shard)
        blocks = sorted({i // index.DOC_BLOCK for i in changed})
        for b in blocks:
            members = range(b * index.DOC_BLOCK, min(n, (b + 1) * index.DOC_BLOCK))
            block = [fresh.get(i) or study_text(ctx, public[i]) for i in members]
            files.update(index.block_files(b, block))
        files["facets.json"] = index.facets_file(lights, FACETS)
        files.update(index.number_files(lights))
        digests = dict(old.digests)
        for name, data in files.items():
            digests[name] = hashlib.sha256(data).digest()
        cols = index.columns_of(([], [], c) for c in columns)  # type: ignore[misc]
        files["meta.json"] = index.meta_file(n, FACETS, cols, digests)
        # unchanged files are not returned: the previous build's stay (checked present)
        if not all((site / OUTPUT_DIR / name).is_file() for name in digests):
            return None
        state = SiteIndex(
            context=old.context,
            version=_version(files["meta.json"]),
            accessions=old.accessions,
            changes=changes,
            texts=texts,
            lights=lights,
            columns=columns,
            digests=digests,
        )
        return files, state
    except (OSError, ValueError, KeyError):
        return None
    finally:
        cache.save()


def _merge(shard: dict[str, str], key: str, update: dict[int, int | None], masks: bool) -> None:
    """Set or remove studies in one key's postings (``update``: study -> mask or None)."""
    ids, ms = index.decode_gaps(shard[key], masks) if key in shard else ([], [])
    kept = {i: m for i, m in zip(ids, ms if masks else [0] * len(ids), strict=True)}
    for i, m in update.items():
        if m is None:
            kept.pop(i, None)
        else:
            kept[i] = m
    if not kept:
        shard.pop(key, None)
        return
    order = sorted(kept)
    shard[key] = index.encode_gaps(order, [kept[i] for i in order] if masks else None)


def query_index_steps(
    ctx: RenderContext, site: Path | None = None, reuse: bool = True
) -> list[Step]:
    """``site``: the site folder, whose index is updated for the studies that changed when
    ``reuse`` (no --clean, no interrupted build to complete); None: the whole index is
    built and nothing is kept for the next build."""
    public = ctx.catalogue.public()
    if not public:
        return []
    names = tuple(f"{OUTPUT_DIR}/{name}" for name in index.output_names(len(public)))
    covers = {e.accession: ctx.cover_of(e) for e in public}
    collections = sorted((k, c.title) for k, c in ctx.site.collections.items())
    context = digest_of(INDEX_VERSION, index.FORMAT, ctx.root, collections, FACETS)
    # what study_text reads: the study (its sources) and its picture
    changes = [text_digest(e.source_digest, repr(covers[e.accession])) for e in public]
    digest = digest_of(context, [e.accession for e in public], changes)

    def make() -> StepResult:
        done = None
        if site is not None and reuse:
            old = _load_site_state(site)
            if (
                old is not None
                and old.context == context
                and old.accessions == [e.accession for e in public]
            ):
                done = _partial(ctx, public, site, old, changes)
        if done is None:
            done = _whole(ctx, public, context, changes, site)
        files, state = done
        if site is not None:
            _save_site_state(site, state)
        return StepResult(files={f"{OUTPUT_DIR}/{name}": data for name, data in files.items()})

    return [Step(id="search:index", outputs=names, digest=digest, make=make)]
