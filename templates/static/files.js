// The interactive file table of one dataset: per-column filters (value list, substring,
// numeric range), free text, sorting, paging, the filter state in the URL, and a URL list
// of the current selection generated in the browser. The work happens in files-worker.js;
// without JavaScript the plain HTML table below stays.
const section = document.getElementById("browser");
const staticTable = document.getElementById("static-files");
const statusEl = document.getElementById("ff-status");
const textEl = document.getElementById("ff-text");
const columnsEl = document.getElementById("ff-columns");
const table = document.getElementById("ff-table");
const pageEl = document.getElementById("ff-page");
const prevEl = document.getElementById("ff-prev");
const nextEl = document.getElementById("ff-next");
const downloadEl = document.getElementById("ff-download");
const linkEl = document.getElementById("ff-link");
const metadataEl = document.getElementById("ff-metadata");
const resetEl = document.getElementById("ff-reset");
// filters apply as they change; Enter in a field must not submit (and reload) the page
document.getElementById("file-filters").addEventListener("submit", (e) => e.preventDefault());
const PAGE_SIZE = 100;
const here = new URL(document.currentScript ? document.currentScript.src : import.meta.url);
const worker = new Worker(new URL("files-worker.js", here));

let meta = null;
let requestId = 0;
const waiting = new Map();
const state = { text: "", filters: {}, sort: null, desc: false, page: 0, metadataOnly: false };
let lastCount = 0;

function ask(message) {
  const id = ++requestId;
  return new Promise((resolve, reject) => {
    waiting.set(id, { resolve, reject });
    worker.postMessage({ ...message, id });
  });
}

worker.onmessage = (event) => {
  const msg = event.data;
  if (msg.type === "progress") {
    statusEl.textContent = `Loading file list… ${Math.round((100 * msg.done) / msg.total)} %`;
    return;
  }
  if (msg.type === "meta") {
    start(msg.meta);
    return;
  }
  const pending = waiting.get(msg.id);
  if (!pending) return;
  waiting.delete(msg.id);
  if (msg.type === "error") pending.reject(new Error(msg.message));
  else pending.resolve(msg);
};

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function humanSize(n) {
  if (n === null || n === undefined || Number.isNaN(n)) return "unknown";
  const units = ["B", "KB", "MB", "GB", "TB", "PB"];
  let v = n;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) { v /= 1000; u++; }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
}

function encodePath(path) {
  return path.split("/").map(encodeURIComponent).join("/");
}

// --- state in the URL ------------------------------------------------------------
function readUrl() {
  const p = new URLSearchParams(location.search);
  state.text = p.get("q") || "";
  state.sort = null;
  state.desc = p.get("desc") === "1";
  state.page = Math.max(0, (parseInt(p.get("page") || "1", 10) || 1) - 1);
  state.metadataOnly = p.get("metadata") === "1";
  state.filters = {};
  meta.columns.forEach((c, i) => {
    if (p.get("sort") === c.name) state.sort = i;
    const f = {};
    const values = p.getAll(`f.${c.name}`);
    if (values.length) f.values = values;
    if (p.has(`s.${c.name}`)) f.substr = p.get(`s.${c.name}`);
    if (p.has(`min.${c.name}`)) f.min = Number(p.get(`min.${c.name}`));
    if (p.has(`max.${c.name}`)) f.max = Number(p.get(`max.${c.name}`));
    if (Object.keys(f).length) state.filters[i] = f;
  });
}

function writeUrl() {
  const p = new URLSearchParams();
  if (state.text) p.set("q", state.text);
  meta.columns.forEach((c, i) => {
    const f = state.filters[i];
    if (!f) return;
    (f.values || []).forEach((v) => p.append(`f.${c.name}`, v));
    if (f.substr) p.set(`s.${c.name}`, f.substr);
    if (f.min !== undefined) p.set(`min.${c.name}`, String(f.min));
    if (f.max !== undefined) p.set(`max.${c.name}`, String(f.max));
  });
  if (state.metadataOnly) p.set("metadata", "1");
  if (state.sort !== null) p.set("sort", meta.columns[state.sort].name);
  if (state.desc) p.set("desc", "1");
  if (state.page) p.set("page", String(state.page + 1));
  const qs = p.toString();
  const url = qs ? `${location.pathname}?${qs}` : location.pathname;
  history.replaceState(null, "", url);
  linkEl.href = url;
}

// --- controls ----------------------------------------------------------------------
function label(c) {
  return c.kind === "size" ? "size (MB)" : c.name;
}

function buildControls() {
  columnsEl.replaceChildren();
  meta.columns.forEach((c, i) => {
    if (["hash", "preview", "count", "image"].includes(c.kind)) return;
    const box = el("div", { class: "ff-col" });
    const id = `ff-c${i}`;
    const f = state.filters[i] || {};
    if (c.values && c.values.length > 1 && c.kind !== "size") {
      box.append(el("label", { for: id }, c.name));
      const select = el("select", { id, "data-col": String(i) });
      select.append(el("option", { value: "" }, "any"));
      c.values.forEach((v, j) => {
        const option = el("option", { value: v }, `${v || "(empty)"} (${c.counts[j]})`);
        if ((f.values || []).includes(v)) option.selected = true;
        select.append(option);
      });
      select.addEventListener("change", () => {
        if (select.value === "") delete state.filters[i];
        else state.filters[i] = { values: [select.value] };
        changed();
      });
      box.append(select);
    } else if (c.kind === "text" && c.distinct) {
      picker(box, c, i, id, f);
    } else if (c.kind === "number" || c.kind === "size") {
      const scale = c.kind === "size" ? 1e6 : 1;
      const fs = el("fieldset", { class: "ff-range" });
      fs.append(el("legend", {}, label(c)));
      for (const end of ["min", "max"]) {
        const input = el("input", {
          id: `${id}-${end}`, type: "number", step: "any", inputmode: "decimal",
          placeholder: end, "aria-label": `${label(c)} ${end}`,
        });
        if (f[end] !== undefined) input.value = String(f[end] / scale);
        input.addEventListener("input", () => {
          const cur = { ...(state.filters[i] || {}) };
          if (input.value === "") delete cur[end]; else cur[end] = Number(input.value) * scale;
          if (Object.keys(cur).length) state.filters[i] = cur; else delete state.filters[i];
          changed();
        });
        fs.append(input);
      }
      box.append(fs);
    } else {
      box.append(el("label", { for: id }, `${c.name} contains`));
      const input = el("input", { id, type: "search", autocomplete: "off" });
      if (f.substr) input.value = f.substr;
      input.addEventListener("input", () => {
        if (input.value === "") delete state.filters[i];
        else state.filters[i] = { substr: input.value };
        changed();
      });
      box.append(input);
    }
    columnsEl.append(box);
  });
}

// A value picker for a text column with many distinct values (a screen's compounds):
// a text box whose suggestions (a native datalist, so keyboard and screen readers know
// it) are the column's values containing what is typed. A value typed or chosen exactly
// filters to that value; anything else filters to the values containing it. A line
// under the box says which, so the two are never confused.
const SUGGESTIONS = 50;
const valueLists = new Map(); // column -> Promise of {values, counts, index: Map}

function valuesOf(i) {
  if (!valueLists.has(i)) {
    valueLists.set(i, ask({ type: "values", column: i }).then(({ values, counts }) => ({
      values, counts, index: new Map(values.map((v, j) => [v, j])),
    })));
  }
  return valueLists.get(i);
}

function picker(box, c, i, id, f) {
  box.append(el("label", { for: id }, c.name));
  const listId = `${id}-values`;
  const input = el("input", {
    id, type: "search", autocomplete: "off", list: listId, "aria-describedby": `${id}-how`,
    placeholder: "type a value",
  });
  const list = el("datalist", { id: listId });
  const how = el("span", { id: `${id}-how`, class: "ff-how" });
  if (f.values && f.values.length) input.value = f.values[0];
  else if (f.substr) input.value = f.substr;
  box.append(input, list, how);
  let known = null;
  const describe = () => {
    const v = input.value;
    if (v === "") how.textContent = `${c.distinct.toLocaleString("en")} values: type to see matching ones`;
    else if (known && known.index.has(v)) {
      const n = known.counts[known.index.get(v)];
      how.textContent = `Exactly “${v}” (${n.toLocaleString("en")} ${meta.images ? "row" : "file"}${n === 1 ? "" : "s"})`;
    } else how.textContent = `Contains “${v}”; choose a suggestion for one exact value`;
  };
  const suggest = () => {
    if (!known) return;
    const needle = input.value.toLowerCase();
    const starts = [];
    const contains = [];
    for (let j = 0; j < known.values.length && starts.length < SUGGESTIONS; j++) {
      const at = known.values[j].toLowerCase().indexOf(needle);
      if (at === 0) starts.push(j); else if (at > 0 && contains.length < SUGGESTIONS) contains.push(j);
    }
    const shown = [...starts, ...contains].slice(0, SUGGESTIONS);
    list.replaceChildren(...shown.map((j) => el("option", {
      value: known.values[j], label: `${known.counts[j].toLocaleString("en")} ${meta.images ? "row" : "file"}${known.counts[j] === 1 ? "" : "s"}`,
    })));
  };
  const apply = () => {
    const v = input.value;
    if (v === "") delete state.filters[i];
    else if (known && known.index.has(v)) state.filters[i] = { values: [v] };
    else state.filters[i] = { substr: v };
    describe();
    changed();
  };
  const load = () => valuesOf(i).then((values) => {
    known = values;
    suggest();
    describe();
    // typed before the values came: an exact value now counts as one
    if (input.value && known.index.has(input.value) && !(state.filters[i] || {}).values) apply();
  });
  input.addEventListener("focus", load, { once: true });
  input.addEventListener("input", () => { suggest(); apply(); });
  describe();
  if (input.value) load();
}

function buildHeader() {
  const tr = el("tr");
  meta.columns.forEach((c, i) => {
    if (hidden(c)) return;
    const th = el("th", { scope: "col" });
    if (c.kind === "preview") {
      th.textContent = "Preview";
      tr.append(th);
      return;
    }
    const sorted = state.sort === i;
    th.setAttribute("aria-sort", sorted ? (state.desc ? "descending" : "ascending") : "none");
    const button = el("button", { type: "button", class: "sort" }, c.kind === "size" ? "size" : c.kind === "image" ? "Image" : c.name);
    button.append(el("span", { "aria-hidden": "true" }, sorted ? (state.desc ? " ▼" : " ▲") : ""));
    button.addEventListener("click", () => {
      if (state.sort === i) state.desc = !state.desc; else { state.sort = i; state.desc = false; }
      state.page = 0;
      buildHeader();
      run();
      table.querySelectorAll("th button")[visibleIndex(i)].focus();
    });
    th.append(button);
    tr.append(th);
  });
  table.tHead.replaceChildren(tr);
}

// checksums and the file count of a Zarr image's row are data, not columns to show
function hidden(c) {
  return c.kind === "hash" || c.kind === "count";
}

function visibleIndex(i) {
  return meta.columns.slice(0, i).filter((c) => !hidden(c)).length;
}

function drawRows(rows) {
  const body = document.createElement("tbody");
  const countCol = meta.columns.findIndex((c) => c.kind === "count");
  for (const row of rows) {
    const tr = el("tr");
    meta.columns.forEach((c, i) => {
      if (hidden(c)) return;
      const td = el("td");
      if (c.kind === "path" && countCol >= 0 && row[countCol] !== null) {
        // a Zarr image: its folder is no file to download; the URL list has its files
        td.className = "path";
        td.textContent = `${row[i]}/`;
      } else if (c.kind === "path") {
        td.className = "path";
        const a = el("a", { href: meta.data_url + encodePath(row[i]), download: "" }, row[i]);
        td.append(a);
      } else if (c.kind === "size") {
        td.className = "num";
        td.textContent = humanSize(row[i]);
      } else if (c.kind === "preview") {
        td.className = "preview";
        if (row[i]) drawPreview(td, JSON.parse(row[i]));
      } else {
        td.textContent = row[i];
      }
      tr.append(td);
    });
    body.append(tr);
  }
  table.tBodies[0].replaceWith(body);
}

function drawPreview(td, preview) {
  if (preview.src) {
    const scale = 64 / Math.max(preview.w, preview.h, 1);
    td.append(el("img", {
      src: preview.src, alt: "", loading: "lazy",
      width: String(Math.max(1, Math.round(preview.w * scale))),
      height: String(Math.max(1, Math.round(preview.h * scale))),
    }));
  }
  for (const [label, url] of preview.links || []) {
    td.append(" ", el("a", { class: "viewer", href: url }, label));
  }
}

// --- running queries -----------------------------------------------------------------
function filtersForWorker() {
  const filters = { ...state.filters };
  if (state.metadataOnly) {
    const fmt = meta.columns.findIndex((c) => c.name === "format");
    filters[fmt] = { exclude: meta.image_formats };
  }
  return filters;
}

let timer = null;
function changed() {
  state.page = 0;
  clearTimeout(timer);
  timer = setTimeout(run, 150);
}

let generation = 0;
async function run() {
  writeUrl();
  const mine = ++generation;
  statusEl.textContent = "Filtering…";
  try {
    const result = await ask({
      type: "query", text: state.text, filters: filtersForWorker(), sort: state.sort,
      desc: state.desc, page: state.page, pageSize: PAGE_SIZE,
    });
    if (mine !== generation) return;
    lastCount = result.count;
    const pages = Math.max(1, Math.ceil(result.count / PAGE_SIZE));
    if (state.page >= pages) { state.page = pages - 1; return run(); }
    let size = `${humanSize(result.total)} in total`;
    if (result.unknown && result.unknown === result.count) size = "size unknown";
    else if (result.unknown) size += ` (size of ${result.unknown.toLocaleString("en")} unknown)`;
    const n = result.count.toLocaleString("en");
    if (meta.images) {
      const files = `${result.files.toLocaleString("en")} file${result.files === 1 ? "" : "s"}`;
      statusEl.textContent = `${n} of ${meta.count.toLocaleString("en")} rows match (${files}), ${size}`;
    } else {
      statusEl.textContent = `${n} of ${meta.count.toLocaleString("en")} files match, ${size}`;
    }
    statusEl.dataset.filterMs = String(Math.round(result.filterMs));
    pageEl.textContent = `Page ${state.page + 1} of ${pages}`;
    prevEl.disabled = state.page === 0;
    nextEl.disabled = state.page + 1 >= pages;
    downloadEl.disabled = result.count === 0;
    drawRows(result.rows);
    section.dataset.ready = "1";
  } catch (error) {
    statusEl.textContent = `Cannot filter the file list: ${error.message}`;
  }
}

async function downloadSelection() {
  downloadEl.disabled = true;
  statusEl.textContent = "Preparing the URL list…";
  const { urls } = await ask({ type: "urls" });
  const paths = urls;
  const text = urls.join("\n") + "\n";
  const blob = new Blob([text], { type: "text/plain" });
  const a = el("a", { href: URL.createObjectURL(blob), download: `${meta.accession}-${meta.dataset}-urls.txt` });
  document.body.append(a);
  a.click();
  a.remove();
  statusEl.textContent = `URL list of ${paths.length.toLocaleString("en")} files ready (${a.download}).`;
  downloadEl.disabled = false;
}

function start(m) {
  meta = m;
  readUrl();
  textEl.value = state.text;
  metadataEl.setAttribute("aria-pressed", state.metadataOnly ? "true" : "false");
  buildControls();
  buildHeader();
  section.hidden = false;
  if (staticTable) staticTable.hidden = true; // an older page that carried the plain table
  run();
}

// filters chosen elsewhere on the page (the plate map): {column name: filter or null}
document.addEventListener("catalogue:filter", (event) => {
  if (!meta) return;
  for (const [name, f] of Object.entries(event.detail.filters)) {
    const i = meta.columns.findIndex((c) => c.name === name);
    if (i < 0) continue;
    if (f) state.filters[i] = f; else delete state.filters[i];
  }
  buildControls();
  changed();
});

textEl.addEventListener("input", () => { state.text = textEl.value.trim(); changed(); });
prevEl.addEventListener("click", () => { if (state.page > 0) { state.page--; run(); } });
nextEl.addEventListener("click", () => { if ((state.page + 1) * PAGE_SIZE < lastCount) { state.page++; run(); } });
downloadEl.addEventListener("click", downloadSelection);
metadataEl.addEventListener("click", () => {
  state.metadataOnly = !state.metadataOnly;
  metadataEl.setAttribute("aria-pressed", state.metadataOnly ? "true" : "false");
  changed();
});
resetEl.addEventListener("click", () => {
  state.text = ""; state.filters = {}; state.metadataOnly = false; state.sort = null; state.desc = false;
  textEl.value = "";
  metadataEl.setAttribute("aria-pressed", "false");
  buildControls();
  buildHeader();
  changed();
});
worker.postMessage({ type: "init", meta: section.dataset.meta, base: section.dataset.base });
