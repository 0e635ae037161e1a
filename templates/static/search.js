// Faceted study search over the Pagefind index: free text plus filters for organism,
// imaging method, licence, release year and collection. Filters are visible before any
// text is typed (a catalogue is browsed as often as it is searched), and the state is
// kept in the URL so a filtered view can be linked.
const page = document.getElementById("searchpage");
const input = document.getElementById("search-input");
const facetsEl = document.getElementById("facets");
const statusEl = document.getElementById("status");
const resultsEl = document.getElementById("results");
const moreEl = document.getElementById("more");
const FACETS = ["organism", "imaging method", "licence", "release year", "collection"];
const PAGE = 20;

const pagefind = await import(page.dataset.bundle + "pagefind.js");
await pagefind.options({ baseUrl: page.dataset.root });
await pagefind.init();

const params = new URLSearchParams(location.search);
input.value = params.get("q") || "";
const selected = {};
for (const name of FACETS) selected[name] = new Set(params.getAll(name));

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function drawFacets(all, remaining) {
  // redrawing replaces the checkboxes: keep keyboard focus on the one the reader was on
  const focused = facetsEl.contains(document.activeElement) ? document.activeElement.id : null;
  facetsEl.replaceChildren();
  FACETS.forEach((name, i) => {
    const values = all[name] || {};
    const keys = Object.keys(values).sort((a, b) => name === "release year" ? b.localeCompare(a) : a.localeCompare(b));
    if (!keys.length) return;
    const box = el("fieldset", { class: "facet" });
    box.append(el("legend", {}, name));
    keys.forEach((value, j) => {
      const id = `f${i}-${j}`;
      const count = remaining && remaining[name] ? (remaining[name][value] || 0) : values[value];
      const cb = el("input", { type: "checkbox", id, value });
      cb.checked = selected[name].has(value);
      cb.addEventListener("change", () => {
        cb.checked ? selected[name].add(value) : selected[name].delete(value);
        run();
      });
      const label = el("label", { for: id }, `${value} (${count})`);
      const row = el("div", { class: "facet-value" });
      row.append(cb, label);
      box.append(row);
    });
    facetsEl.append(box);
  });
  if (focused) {
    const again = document.getElementById(focused);
    if (again) again.focus();
  }
}

function filtersArg() {
  const out = {};
  for (const name of FACETS) if (selected[name].size) out[name] = { any: [...selected[name]] };
  return out;
}

function syncUrl() {
  const p = new URLSearchParams();
  if (input.value.trim()) p.set("q", input.value.trim());
  for (const name of FACETS) for (const v of selected[name]) p.append(name, v);
  const qs = p.toString();
  history.replaceState(null, "", qs ? `?${qs}` : location.pathname);
}

let current = [];
let shown = 0;
let generation = 0;

async function showMore() {
  const mine = generation;
  const batch = await Promise.all(current.slice(shown, shown + PAGE).map((r) => r.data()));
  if (mine !== generation) return;
  for (const data of batch) {
    const li = el("li", { class: "result" });
    const h = el("h2", { class: "result-title" });
    h.append(el("a", { href: data.url }, data.meta.title || data.url));
    const meta = el("p", { class: "result-meta" },
      [data.meta.accession, data.meta.released && `released ${data.meta.released}`].filter(Boolean).join(" · "));
    const excerpt = el("p", { class: "result-excerpt" });
    excerpt.innerHTML = data.excerpt; // Pagefind escapes page text and adds only <mark>
    if (data.meta.image) {
      li.append(el("img", { src: data.meta.image, alt: "", width: "96", height: "96", loading: "lazy" }));
    }
    const body = el("div", { class: "result-body" });
    body.append(h, meta, excerpt);
    li.append(body);
    resultsEl.append(li);
  }
  shown += batch.length;
  moreEl.hidden = shown >= current.length;
}

const allFilters = await pagefind.filters();

async function run() {
  syncUrl();
  const mine = ++generation;
  const term = input.value.trim();
  const filters = filtersArg();
  const hasFilters = Object.keys(filters).length > 0;
  if (!term && !hasFilters) {
    current = [];
    resultsEl.replaceChildren();
    moreEl.hidden = true;
    statusEl.textContent = "Type a word or choose a filter.";
    drawFacets(allFilters, null);
    return;
  }
  const search = await pagefind.debouncedSearch(term || null, { filters }, 150);
  if (search === null || mine !== generation) return;
  current = search.results;
  shown = 0;
  resultsEl.replaceChildren();
  const n = current.length;
  statusEl.textContent = `${n} ${n === 1 ? "study" : "studies"} found`;
  drawFacets(allFilters, search.filters);
  await showMore();
}

input.addEventListener("input", run);
moreEl.addEventListener("click", showMore);
drawFacets(allFilters, null);
run();
