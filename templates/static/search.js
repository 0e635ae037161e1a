// The search page: the query language of query.js over /search/index/, with facets whose
// counts are disjunctive (OR within a facet, AND across facets), results that name the
// file-list value a hit came from, and the whole state in the URL.
import { SearchIndex, QueryError } from "./query.js";

const page = document.getElementById("searchpage");
const form = document.getElementById("search-form");
const input = document.getElementById("search-input");
const sortEl = document.getElementById("search-sort");
const panel = document.getElementById("facets-panel");
const facetsEl = document.getElementById("facets");
const countEl = document.getElementById("filter-count");
const statusEl = document.getElementById("status");
const adviceEl = document.getElementById("advice");
const resultsEl = document.getElementById("results");
const moreEl = document.getElementById("more");
const PAGE = 20;
const COLLAPSED = 8;
const root = page.dataset.root;

const index = await SearchIndex.open(new URL(page.dataset.index, location.href).href);
const FACETS = index.meta.facets;

const params = new URLSearchParams(location.search);
input.value = params.get("q") || "";
sortEl.value = params.get("sort") || "relevance";
const selected = {};
for (const name of FACETS) selected[name] = new Set(params.getAll(name));
const expanded = new Set();
const facetFilter = {};

// wide screens show the filters beside the results; phones fold them above the results
const wide = window.matchMedia("(min-width: 48rem)");
function placePanel() { panel.open = wide.matches; }
wide.addEventListener("change", placePanel);
placePanel();

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function plural(n, one, many) { return `${n.toLocaleString("en")} ${n === 1 ? one : many}`; }

function size(bytes) {
  if (!bytes) return "";
  const units = ["B", "kB", "MB", "GB", "TB", "PB"];
  let i = 0;
  let v = bytes;
  while (v >= 1000 && i < units.length - 1) { v /= 1000; i++; }
  return `${v >= 100 || i === 0 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

function syncUrl() {
  const p = new URLSearchParams();
  if (input.value.trim()) p.set("q", input.value.trim());
  if (sortEl.value !== "relevance") p.set("sort", sortEl.value);
  for (const name of FACETS) for (const v of selected[name]) p.append(name, v);
  const qs = p.toString();
  history.replaceState(null, "", qs ? `?${qs}` : location.pathname);
}

function drawFacets(counts) {
  const focused = facetsEl.contains(document.activeElement) ? document.activeElement.id : null;
  facetsEl.replaceChildren();
  let nSelected = 0;
  FACETS.forEach((name, i) => {
    const values = counts[name] || {};
    let keys = Object.keys(values).filter((v) => values[v] > 0 || selected[name].has(v));
    if (!keys.length) return;
    keys.sort((a, b) => name === "release year" ? b.localeCompare(a) : (values[b] - values[a]) || a.localeCompare(b));
    const box = el("fieldset", { class: "facet" });
    box.append(el("legend", {}, name));
    if (keys.length > COLLAPSED) {
      const fid = `ff${i}`;
      const lab = el("label", { for: fid, class: "visually-hidden" }, `Filter ${name} values`);
      const filter = el("input", { type: "search", id: fid, class: "facet-filter", placeholder: `Find ${name}`, autocomplete: "off" });
      filter.value = facetFilter[name] || "";
      filter.addEventListener("input", () => { facetFilter[name] = filter.value; expanded.add(name); drawFacets(counts); });
      box.append(lab, filter);
    }
    const wanted = (facetFilter[name] || "").toLowerCase();
    const matching = keys.filter((v) => !wanted || v.toLowerCase().includes(wanted));
    const shownKeys = expanded.has(name) ? matching : matching.slice(0, COLLAPSED);
    shownKeys.forEach((value) => {
      const id = `f${i}-${keys.indexOf(value)}`;
      const cb = el("input", { type: "checkbox", id, value });
      cb.checked = selected[name].has(value);
      if (cb.checked) nSelected++;
      cb.addEventListener("change", () => {
        cb.checked ? selected[name].add(value) : selected[name].delete(value);
        run(true);
      });
      const label = el("label", { for: id });
      label.append(el("span", { class: "facet-name" }, value), " ",
        el("span", { class: "facet-count" }, `(${values[value].toLocaleString("en")})`));
      const row = el("div", { class: values[value] ? "facet-value" : "facet-value muted" });
      row.append(cb, label);
      box.append(row);
    });
    if (matching.length > COLLAPSED) {
      const more = el("button", { type: "button", class: "facet-more" },
        expanded.has(name) ? "Show fewer" : `Show all ${matching.length}`);
      more.addEventListener("click", () => {
        expanded.has(name) ? expanded.delete(name) : expanded.add(name);
        drawFacets(counts);
      });
      box.append(more);
    }
    facetsEl.append(box);
  });
  for (const name of FACETS) for (const v of selected[name]) if (!Object.hasOwn(counts[name] || {}, v)) nSelected++;
  countEl.textContent = nSelected ? `(${nSelected} selected)` : "";
  if (focused) {
    const again = document.getElementById(focused);
    if (again) again.focus();
  }
}

let current = null;
let shown = 0;
let generation = 0;

function filesUrl(doc, hit) {
  const p = new URLSearchParams();
  p.append(`f.${hit.column}`, hit.value);
  return `${doc.url}files/${encodeURIComponent(hit.dataset)}/?${p}`;
}

async function showMore() {
  const mine = generation;
  const ids = current.ids.slice(shown, shown + PAGE);
  const docs = await index.docs(ids);
  const hits = await Promise.all(ids.map((i) => index.fileHits(i, current.tree)));
  if (mine !== generation) return;
  docs.forEach((doc, k) => {
    const li = el("li", { class: "result" });
    if (doc.thumbnail) li.append(el("img", { src: doc.thumbnail, alt: "", width: "96", height: "96", loading: "lazy" }));
    const body = el("div", { class: "result-body" });
    const h = el("h2", { class: "result-title" });
    h.append(el("a", { href: doc.url }, doc.title));
    const meta = el("p", { class: "result-meta" });
    const facts = [doc.accession, `released ${doc.released}`];
    meta.textContent = facts.join(" · ");
    body.append(h, meta, el("p", { class: "result-excerpt" }, doc.snippet));
    if (hits[k].length) {
      const list = el("ul", { class: "result-hits", "aria-label": "Matching file-list values" });
      for (const hit of hits[k]) {
        const item = el("li");
        item.append(`In dataset ${hit.dataset}: ${hit.column} = `);
        item.append(el("a", { href: filesUrl(doc, hit) }, hit.value));
        list.append(item);
      }
      body.append(list);
    }
    li.append(body);
    resultsEl.append(li);
  });
  shown += docs.length;
  moreEl.hidden = shown >= current.ids.length;
}

function advise(result, hasFilters) {
  adviceEl.replaceChildren();
  if (result.total) return;
  const p = el("p", { class: "advice" });
  const parts = [];
  if (result.suggestions.length) {
    p.append("Did you mean ");
    result.suggestions.forEach((s, i) => {
      if (i) p.append(i === result.suggestions.length - 1 ? " or " : ", ");
      const q = input.value.replace(s.word, s.suggestion);
      const a = el("a", { href: `?q=${encodeURIComponent(q)}` }, s.suggestion);
      a.addEventListener("click", (e) => { e.preventDefault(); input.value = q; run(true); });
      p.append(a);
    });
    p.append("?");
    parts.push(p);
  }
  if (hasFilters) {
    const q = el("p", { class: "advice" });
    q.append("Filters narrow the results: ");
    const b = el("button", { type: "button", class: "button" }, "clear all filters");
    b.addEventListener("click", () => { for (const n of FACETS) selected[n].clear(); run(true); });
    q.append(b);
    parts.push(q);
  }
  adviceEl.append(...parts);
}

async function run(now = false) {
  syncUrl();
  const mine = ++generation;
  if (!now) {
    await new Promise((r) => setTimeout(r, 150));
    if (mine !== generation) return;
  }
  const filters = {};
  for (const name of FACETS) if (selected[name].size) filters[name] = [...selected[name]];
  const hasFilters = Object.keys(filters).length > 0;
  let result;
  try {
    result = await index.search(input.value, { filters, sort: sortEl.value });
  } catch (err) {
    if (!(err instanceof QueryError)) throw err;
    if (mine !== generation) return;
    statusEl.textContent = `The query cannot be read: ${err.message}.`;
    adviceEl.replaceChildren();
    resultsEl.replaceChildren();
    moreEl.hidden = true;
    return;
  }
  if (mine !== generation) return;
  current = result;
  shown = 0;
  resultsEl.replaceChildren();
  const q = input.value.trim();
  if (result.total) {
    statusEl.textContent = `${plural(result.total, "study", "studies")} found`;
  } else if (result.missing.length) {
    statusEl.textContent = `No study matches: nothing in the archive contains ${result.missing.map((m) => `"${m}"`).join(", ")}.`;
  } else {
    statusEl.textContent = q ? `No study matches "${q}"${hasFilters ? " with these filters" : ""}.` : "No study matches these filters.";
  }
  advise(result, hasFilters);
  drawFacets(result.facets);
  await showMore();
}

form.addEventListener("submit", (e) => { e.preventDefault(); run(true); });
input.addEventListener("input", () => run());
sortEl.addEventListener("change", () => run(true));
moreEl.addEventListener("click", showMore);
run(true);
