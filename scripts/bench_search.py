#!/usr/bin/env python3
"""Search at archive size: index build time, first-search download, query latency.

    python scripts/bench_search.py --studies 10000 [--content DIR] [--repeat 3]

Writes a synthetic content tree (scripts/synth.py) unless --content is given, loads it,
builds the search index (catalogue/search/index.py) and serves it on 127.0.0.1 with the
site's own query module; Debian's Chromium then runs each query in a fresh browser
(cold: nothing cached) and again (warm). For each query it reports the bytes fetched by
the first search (raw and gzip-compressed, as a web server with gzip sends them) and the
time from the query to the first 20 results ready to show.

The reference, measured in the same run on the same studies: the naive client-side
search, one JSON of every study's text downloaded whole and scanned with a substring
test (what a site without an index does).
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import gzip
import http.server
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUERIES = [
    "cell",
    "mitochondrial dynamics",
    'organism:"Homo sapiens" released:2020..2023',
    "nucl* OR axon",
    "compound:staurosporine",
]

PAGE = """<!doctype html><meta charset="utf-8"><title>bench</title>
<script type="module">
window.runQuery = async (q) => {
  const t0 = performance.now();
  const m = await import("/static/query.js");
  const idx = await m.SearchIndex.open(new URL("/search/index/", location.href).href);
  const r = await idx.search(q);
  const docs = await idx.docs(r.ids.slice(0, 20));
  return { ms: performance.now() - t0, total: r.total, shown: docs.length };
};
window.runNaive = async (q) => {
  const t0 = performance.now();
  const all = await (await fetch("/naive.json")).json();
  const words = q.toLowerCase().split(/\\s+/).filter((w) => !w.includes(":"));
  const hits = all.filter((s) => words.every((w) => s.text.includes(w.replace("*", ""))));
  return { ms: performance.now() - t0, total: hits.length, shown: Math.min(20, hits.length) };
};
window.ready = true;
</script>"""


class Context:
    """What study_text needs of a render context, without templates or thumbnails."""

    def __init__(self, catalogue):  # type: ignore[no-untyped-def]
        self.catalogue = catalogue
        self.site = catalogue.site
        self.thumbs: dict = {}
        self.root = ""

    def study_url(self, accession: str) -> str:
        return f"/studies/{accession}/"

    def cover_of(self, entry: object) -> None:
        return None  # no thumbnails in the benchmark


def direct_texts(n: int, seed: int = 1) -> list:  # type: ignore[type-arg]
    """StudyText records drawn directly (no content tree): Zipf-distributed prose over a
    30,000-word vocabulary, 150-400-word descriptions, 3-8 authors, screen-like values."""
    import random

    from catalogue.search.index import StudyText

    rng = random.Random(seed)
    syllables = ["ta", "ro", "mi", "ce", "lu", "ka", "ne", "po", "si", "dra", "gen", "tor"]
    vocab = sorted({"".join(rng.choices(syllables, k=rng.randint(2, 4))) for _ in range(40000)})
    vocab = vocab[:30000] + ["cell", "nucleus", "mitochondrial", "dynamics", "axon", "yeast"]
    weights = [1 / (r + 1) for r in range(len(vocab))]
    rng.shuffle(weights)
    organisms = ["Homo sapiens", "Mus musculus", "Danio rerio", "Drosophila melanogaster"]
    methods = ["confocal microscopy", "widefield microscopy", "light sheet microscopy"]
    compounds = [f"compound{k}" for k in range(3000)] + ["staurosporine"]
    out = []
    for i in range(n):
        words = rng.choices(vocab, weights=weights, k=rng.randint(150, 400))
        acc = f"S-BIAD{i + 1}"
        year = rng.randint(2015, 2026)
        out.append(
            StudyText(
                accession=acc,
                title=" ".join(rng.choices(vocab, weights=weights, k=8)),
                url=f"/studies/{acc}/",
                thumbnail="",
                released=f"{year}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
                description=" ".join(words),
                size=rng.randint(1, 10**12),
                files=rng.randint(1, 5000),
                fields={
                    "accession": [acc],
                    "title": [" ".join(words[:8])],
                    "description": [" ".join(words)],
                    "author": [
                        f"{rng.choice(vocab).title()} {rng.choice(vocab).title()}"
                        for _ in range(rng.randint(3, 8))
                    ],
                    "organism": [rng.choice(organisms)],
                    "method": [rng.choice(methods)],
                    "licence": ["CC-BY-4.0"],
                    "keyword": rng.choices(vocab, k=3),
                },
                facets={
                    "organism": [rng.choice(organisms)],
                    "imaging method": [rng.choice(methods)],
                    "licence": ["CC-BY-4.0"],
                    "release year": [str(year)],
                    "collection": ["direct"],
                },
                values={"screen": {"Compound": sorted(set(rng.choices(compounds, k=20)))}},
            )
        )
    return out


def build_index(content: Path | None, out: Path, studies: int) -> dict[str, float]:
    from catalogue.readers.tree import load
    from catalogue.search import index
    from catalogue.steps.query_index import FACETS, study_text

    t0 = time.perf_counter()
    if content is None:
        texts = direct_texts(studies)
        t1 = time.perf_counter()
    else:
        catalogue, _ = load(content, dt.date(2030, 1, 1))
        assert catalogue is not None, "the synthetic tree does not load"
        t1 = time.perf_counter()
        ctx = Context(catalogue)
        texts = [study_text(ctx, e) for e in catalogue.public()]  # type: ignore[arg-type]
    files = index.build(texts, FACETS)
    t2 = time.perf_counter()
    folder = out / "search" / "index"
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    naive = [
        {
            "accession": t.accession,
            "title": t.title,
            "text": " ".join(x for v in t.fields.values() for x in v).lower(),
        }
        for t in texts
    ]
    (out / "naive.json").write_text(json.dumps(naive))
    (out / "static").mkdir()
    (out / "static" / "query.js").write_bytes((ROOT / "templates/static/query.js").read_bytes())
    (out / "index.html").write_text(PAGE)
    total = sum(len(d) for d in files.values())
    return {
        "studies": len(texts),
        "load_s": t1 - t0,
        "index_s": t2 - t1,
        "index_files": len(files),
        "index_mb": total / 1e6,
    }


class Logged(http.server.SimpleHTTPRequestHandler):
    log: list[str] = []

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        Logged.log.append(self.path.split("?")[0])
        super().do_GET()


def measure(site: Path, repeat: int) -> list[dict[str, object]]:
    from playwright.sync_api import sync_playwright

    handler = functools.partial(Logged, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    rows = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--headless=new", "--no-sandbox"]
        )
        for q in QUERIES:
            for kind, fn in (("index", "runQuery"), ("naive", "runNaive")):
                cold, warm = [], []
                fetched: list[str] = []
                for _ in range(repeat):
                    context = browser.new_context()
                    page = context.new_page()
                    page.goto(url)
                    page.wait_for_function("window.ready === true")
                    Logged.log.clear()
                    r = page.evaluate(f"{fn}({json.dumps(q)})")
                    fetched = [f for f in Logged.log if f != "/static/query.js"]
                    cold.append(r["ms"])
                    warm.append(page.evaluate(f"{fn}({json.dumps(q)})")["ms"])
                    context.close()
                raw = sum((site / f.lstrip("/")).stat().st_size for f in fetched)
                gz = sum(len(gzip.compress((site / f.lstrip("/")).read_bytes())) for f in fetched)
                rows.append(
                    {
                        "query": q,
                        "engine": kind,
                        "results": r["total"],
                        "cold_ms": sorted(cold)[len(cold) // 2],
                        "warm_ms": sorted(warm)[len(warm) // 2],
                        "files": len(fetched),
                        "raw_kb": raw / 1000,
                        "gzip_kb": gz / 1000,
                    }
                )
        browser.close()
    server.shutdown()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--studies", type=int, default=10000)
    parser.add_argument("--content", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--direct",
        action="store_true",
        help="draw index records directly instead of writing and loading a content tree "
        "(for 100,000 studies in minutes; the load time is then not measured)",
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-search-"))
    content = args.content
    if content is None and not args.direct:
        content = work / "content"
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "scripts/synth.py"),
                "--studies",
                str(args.studies),
                "--files-per-study",
                "20",
                "--out",
                str(content),
            ],
            check=True,
        )
    site = work / "site"
    facts = build_index(content, site, args.studies)
    print(
        f"{facts['studies']} studies: loaded in {facts['load_s']:.1f} s, index built in "
        f"{facts['index_s']:.1f} s ({facts['index_files']} files, {facts['index_mb']:.1f} MB)"
    )
    rows = measure(site, args.repeat)
    print(
        f"{'query':45} {'engine':6} {'results':>7} {'cold ms':>8} {'warm ms':>8} "
        f"{'files':>5} {'raw kB':>8} {'gzip kB':>8}"
    )
    for r in rows:
        print(
            f"{r['query']:45} {r['engine']:6} {r['results']:>7} {r['cold_ms']:>8.0f} "
            f"{r['warm_ms']:>8.0f} {r['files']:>5} {r['raw_kb']:>8.0f} {r['gzip_kb']:>8.0f}"
        )
    print(json.dumps({"facts": facts, "rows": rows}))


if __name__ == "__main__":
    main()
