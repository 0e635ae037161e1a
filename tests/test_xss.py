"""Script injection through every user field, on every page type, in Chromium.

A tree whose every free-text field (site, collection, study, people, REMBI sections,
datasets, manifest paths, columns and values, the withdrawal reason, redirect notes)
holds a set of classic payloads is built and served; every kind of page is opened, the
search and the file table (which render in JavaScript) are used. Nothing may run: no
dialog, no ``window.__xss``, no element with an event-handler attribute, no script
that is not the site's own, no ``javascript:`` link. The payloads must still be there
as text (else the test would prove nothing).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import expect

from .conftest import ROOTS, build_site
from .test_csp import serve

MARK = "xsspayload"
PAYLOADS = [
    "<script>window.__xss=1</script>",
    '"><img src=x onerror="window.__xss=1">',
    "'><svg onload=window.__xss=1>",
    "javascript:window.__xss=1",
    '<a href="javascript:window.__xss=1">link</a>',
    "</title><script>window.__xss=1</script>",
    "</script><script>window.__xss=1</script>",
    '<iframe srcdoc="<script>parent.__xss=1</script>"></iframe>',
    "<details open ontoggle=window.__xss=1>",
    '"-alert(1)-"',
    "{{7*7}}{% raw %}",
    "[md link](javascript:window.__xss=1)",
    '![md image](x" onerror="window.__xss=1)',
    "<style>body{display:none}</style>",
    "\u2028\u2029<!--",
]
TEXT = MARK + " " + " ".join(PAYLOADS)
# what a page's DOM must never hold
HOSTILE_DOM = """() => {
  const bad = [];
  for (const el of document.querySelectorAll('*')) {
    for (const a of el.attributes) {
      if (/^on/i.test(a.name)) bad.push(el.tagName + ' ' + a.name);
      if (/^\\s*javascript:/i.test(a.value)) bad.push(el.tagName + ' ' + a.name + '=' + a.value);
    }
  }
  for (const s of document.querySelectorAll('script')) {
    if (!s.src && s.type !== 'application/ld+json') bad.push('inline script ' + s.textContent);
    if (s.src && new URL(s.src).origin !== location.origin) bad.push('script ' + s.src);
  }
  for (const t of ['iframe', 'object', 'embed', 'style', 'base', 'svg[onload]'])
    for (const e of document.querySelectorAll(t)) bad.push(t);
  return bad;
}"""


def hostile_tree(tmp_path: Path) -> Path:
    content = tmp_path / "content"
    shutil.copytree(ROOTS / "lifecycle" / "content", content)
    site = yaml.safe_load((content / "site.yaml").read_text())
    site["title"] = "Archive " + TEXT
    site["description"] = TEXT
    site["collections"]["direct"] = {"title": "Direct " + TEXT, "description": TEXT}
    (content / "site.yaml").write_text(yaml.safe_dump(site, allow_unicode=True))
    path = content / "studies/S-BIAD1/study.yaml"
    study = yaml.safe_load(path.read_text())
    study.update(
        title="Worm " + TEXT,
        keywords=[TEXT, "worm"],
        description=TEXT + "\n\n" + "\n".join(f"- {p}" for p in PAYLOADS),
        authors=[
            {"name": "Ada " + TEXT, "affiliations": ["lab"], "roles": [TEXT]},
        ],
        affiliations={"lab": {"name": "Lab " + TEXT, "address": TEXT}},
        funding=[{"funder": "Funder " + TEXT, "grant_id": TEXT}],
        publications=[{"title": "Paper " + TEXT, "authors": TEXT, "year": 2024}],
        links=[{"type": TEXT, "id": TEXT, "url": "https://example.org/x", "description": TEXT}],
        biosamples={
            "worm": {
                "organism": {"scientific_name": "Caenorhabditis " + TEXT, "common_name": TEXT},
                "biological_entity": TEXT,
                "description": TEXT,
                "intrinsic_variables": [TEXT],
                "extrinsic_variables": [TEXT],
                "experimental_variables": [TEXT],
            }
        },
        specimens={
            "prep": {
                "preparation": TEXT,
                "description": TEXT,
                "signal_channels": [{"stain": TEXT, "target": TEXT}],
            }
        },
        image_acquisitions={
            "wide": {
                "imaging_method": {"name": "fluorescence " + TEXT},
                "instrument": TEXT,
                "parameters": TEXT,
                "description": TEXT,
            }
        },
        annotations={"seg": {"type": TEXT, "method": TEXT, "description": TEXT}},
        analyses={"count": {"description": TEXT, "software": [TEXT]}},
    )
    study["datasets"][0].update(
        title="Images " + TEXT,
        description=TEXT,
        specimen="prep",
        annotation="seg",
        analysis="count",
    )
    path.write_text(yaml.safe_dump(study, allow_unicode=True, sort_keys=False))
    cell = TEXT.replace("\u2028", " ").replace("\u2029", " ")
    manifest = content / "studies/S-BIAD1/images.files.tsv"
    manifest.write_text(
        f"path\tsize\tsha256\tChannel\tNote {MARK} <b onmouseover=x>\n"
        f"worm.tif\t18688\t\tFITC\t{cell}\n"
        f"{MARK}<img src=x onerror=window.__xss=1>.tif\t1\t\t{cell}\t{cell}\n",
        encoding="utf-8",
    )
    withdrawn = content / "studies/S-BIAD3/study.yaml"
    text = yaml.safe_load(withdrawn.read_text())
    text["withdrawn"]["reason"] = "Mislabelled " + TEXT
    withdrawn.write_text(yaml.safe_dump(text, allow_unicode=True, sort_keys=False))
    redirects = content / "redirects.tsv"
    redirects.write_text(redirects.read_text().replace("merged: same worms", "merged " + cell))
    return content


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("xss")
    out = tmp / "build"
    build_site(hostile_tree(tmp), out)
    return out


PAGES = [
    "/",
    "/studies/",
    "/studies/S-BIAD1/",
    "/studies/S-BIAD1/files/images/",
    "/studies/S-BIAD3/",  # tombstone
    "/studies/S-BIAD5/",  # redirect page
    "/stats/",
    "/search/?q=" + MARK,
    "/no/such/page/",
]


def test_payloads_reach_the_pages_as_text(hostile_site: Path):
    page = (hostile_site / "studies/S-BIAD1/index.html").read_text(encoding="utf-8")
    assert page.count(MARK) > 20
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in page
    record = json.loads((hostile_site / "api/v1/studies/S-BIAD1.json").read_text())
    assert record["title"].startswith("Worm " + MARK)


def test_no_payload_runs_in_any_page(hostile_site: Path, page):
    pg, problems = page
    dialogs: list[str] = []
    pg.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    seen = 0
    with serve(hostile_site) as url:
        for path in PAGES:
            pg.goto(url + path, wait_until="networkidle")
            if path.startswith("/search/"):
                expect(pg.locator("#results .result")).to_have_count(1, timeout=30_000)
            if "/files/" in path:
                expect(pg.locator("#ff-status")).to_contain_text("files match", timeout=30_000)
                pg.get_by_label("Search all columns").fill(MARK)
                expect(pg.locator("#ff-status")).to_contain_text(
                    "2 of 2 files match", timeout=30_000
                )
            seen += pg.content().count(MARK)
            assert pg.evaluate("window.__xss") is None, path
            assert pg.evaluate(HOSTILE_DOM) == [], path
    assert dialogs == []
    assert seen > 50
    # the policy would report a blocked inline script: there must be none to block
    assert [p for p in problems if "Content Security Policy" in p] == []
