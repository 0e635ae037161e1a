"""The search index behind /search/ and ``catalogue search`` (see catalogue/search/index.py).

Built from the model, never from pages, and only from public studies: an embargoed or
withdrawn study contributes no word, no facet value and no number.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path

from catalogue.model import StudyEntry
from catalogue.pipeline.plan import Step, StepResult, digest_of
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
    """``index.study_keys`` of each study text seen in the last build, by a hash of the text:
    an edit then costs one study's normalising and stemming, not the archive's. Kept beside
    the manifest summaries (``$CATALOGUE_CACHE_DIR``; ``""`` switches it off), rewritten with
    only what this build used, so it never grows past one archive."""

    def __init__(self, path: Path | None, known: dict[bytes, index.StudyKeys]):
        self.path, self.known = path, known
        self.used: dict[bytes, index.StudyKeys] = {}

    @classmethod
    def open(cls) -> KeyCache:
        base = summary_cache.cache_dir()
        path = None if base is None else base.parent / "search" / f"keys-{INDEX_VERSION}.pickle"
        known: dict[bytes, index.StudyKeys] = {}
        if path is not None:
            try:
                with path.open("rb") as fh:
                    loaded = pickle.load(fh)
                if isinstance(loaded, dict) and loaded.get("code") == _code():
                    known = loaded["keys"]
            except Exception:  # noqa: BLE001 - an unreadable cache is a miss
                known = {}
        return cls(path, known)

    def get(self, text: index.StudyText) -> index.StudyKeys:
        digest = hashlib.sha256(pickle.dumps((text.fields, text.values), protocol=5)).digest()
        found = self.known.get(digest)
        if found is None:
            found = index.study_keys(text)
        self.used[digest] = found
        return found

    def save(self) -> None:
        if self.path is None or self.used.keys() == self.known.keys():
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
            with tmp.open("wb") as fh:
                pickle.dump({"code": _code(), "keys": self.used}, fh, protocol=5)
            os.replace(tmp, self.path)
        except OSError:
            pass  # only the next build is slower


def _code() -> str:
    """The text rules the keys were made with: other rules, other keys."""
    from catalogue.search import text

    return hashlib.sha256(
        Path(text.__file__).read_bytes() + Path(index.__file__).read_bytes()
    ).hexdigest()


def query_index_steps(ctx: RenderContext) -> list[Step]:
    public = ctx.catalogue.public()
    if not public:
        return []
    names = tuple(f"{OUTPUT_DIR}/{name}" for name in index.output_names(len(public)))
    accessions = {e.study.accession for e in public}
    thumbs = sorted(
        (acc, ds, t.url, t.ok)
        for (acc, ds), t in ctx.thumbs.items()
        if t is not None and acc in accessions
    )
    collections = sorted((k, c.title) for k, c in ctx.site.collections.items())
    digest = digest_of(
        INDEX_VERSION,
        index.FORMAT,
        ctx.root,
        collections,
        [(e.study.accession, e.source_digest) for e in public],
        thumbs,
    )

    def make() -> StepResult:
        texts = [study_text(ctx, e) for e in public]
        cache = KeyCache.open()
        keyed = [cache.get(t) for t in texts]
        files = index.build(texts, FACETS, keyed)
        cache.save()
        return StepResult(files={f"{OUTPUT_DIR}/{name}": data for name, data in files.items()})

    return [Step(id="search:index", outputs=names, digest=digest, make=make)]
