// Filters, sorts and pages a dataset's file list off the main thread, so that a
// million-row table never freezes the page. Columns arrive as chunks (data/c<col>-<k>.json)
// and are fetched only when a filter, a sort or the visible page needs them. A dataset of
// one chunk has its columns in meta.json ("data": chunk 0 of each column) instead.
//
// Every string column is held dictionary-encoded: an Int32Array of codes per row plus the
// list of distinct values. Filters are evaluated once per distinct value, then rows are
// scanned as integers; that is what keeps a 100,000-row filter far under a second.
"use strict";

let meta = null;
let inline = null; // meta.data of a one-chunk dataset: its column chunks, no fetch needed
let base = "";
let columns = [];
let current = new Uint32Array(0);

function column(index) {
  const c = columns[index];
  if (c) return c;
  const info = meta.columns[index];
  const numeric = info.kind === "size" || info.kind === "count";
  const fresh = {
    info,
    numeric,
    codes: numeric ? null : new Int32Array(meta.count).fill(-1),
    numbers: numeric ? new Float64Array(meta.count).fill(NaN) : null,
    values: [],
    lookup: new Map(),
    loaded: new Uint8Array(meta.chunks),
    pending: new Map(),
    parsed: null,
  };
  columns[index] = fresh;
  return fresh;
}

function code(col, value) {
  let c = col.lookup.get(value);
  if (c === undefined) {
    c = col.values.length;
    col.values.push(value);
    col.lookup.set(value, c);
    col.parsed = null;
  }
  return c;
}

async function loadChunk(index, k) {
  const col = column(index);
  if (col.loaded[k]) return;
  if (!col.pending.has(k)) {
    col.pending.set(k, (async () => {
      let chunk;
      if (inline) {
        chunk = inline[index];
      } else {
        const response = await fetch(`${base}c${index}-${k}.json`);
        if (!response.ok) throw new Error(`cannot load ${base}c${index}-${k}.json (${response.status})`);
        chunk = await response.json();
      }
      const offset = k * meta.chunk_rows;
      if (chunk.n) {
        chunk.n.forEach((v, j) => { col.numbers[offset + j] = v === null ? NaN : v; });
      } else if (chunk.d) {
        const remap = chunk.d.map((v) => code(col, v));
        chunk.i.forEach((v, j) => { col.codes[offset + j] = remap[v]; });
      } else {
        // mostly distinct values (paths, checksums): append without de-duplicating; a
        // repeated value then has two codes, which filters and sorts treat alike
        const start = col.values.length;
        for (let j = 0; j < chunk.v.length; j++) {
          col.values.push(chunk.v[j]);
          col.codes[offset + j] = start + j;
        }
        col.parsed = null;
      }
      col.loaded[k] = 1;
    })());
  }
  await col.pending.get(k);
}

let progressDone = 0;
let progressTotal = 0;

async function loadColumns(indexes) {
  const jobs = [];
  for (const i of indexes) {
    for (let k = 0; k < meta.chunks; k++) if (!column(i).loaded[k]) jobs.push([i, k]);
  }
  if (!jobs.length) return;
  progressDone = 0;
  progressTotal = jobs.length;
  let next = 0;
  async function worker() {
    while (next < jobs.length) {
      const [i, k] = jobs[next++];
      await loadChunk(i, k);
      progressDone++;
      if (progressTotal > 4) postMessage({ type: "progress", done: progressDone, total: progressTotal });
    }
  }
  await Promise.all([worker(), worker(), worker(), worker()]);
}

async function loadRows(rows) {
  const chunks = new Set();
  for (const r of rows) chunks.add(Math.floor(r / meta.chunk_rows));
  const jobs = [];
  for (let i = 0; i < meta.columns.length; i++) for (const k of chunks) jobs.push(loadChunk(i, k));
  await Promise.all(jobs);
}

function parsedValues(col) {
  if (!col.parsed || col.parsed.length !== col.values.length) {
    // "99,94": the build marks columns whose decimals are written with a comma
    const comma = col.info.decimal === ",";
    col.parsed = Float64Array.from(col.values, (v) =>
      v === "" ? NaN : Number(comma ? v.replace(",", ".") : v));
  }
  return col.parsed;
}

// Which distinct values of a string column pass a filter: a Uint8Array over the codes.
function passingCodes(col, filter) {
  const ok = new Uint8Array(col.values.length);
  if (filter.values) {
    const wanted = new Set(filter.values);
    col.values.forEach((v, c) => { ok[c] = wanted.has(v) ? 1 : 0; });
  } else if (filter.exclude) {
    const unwanted = new Set(filter.exclude);
    col.values.forEach((v, c) => { ok[c] = unwanted.has(v) ? 0 : 1; });
  } else if (filter.substr !== undefined) {
    const needle = filter.substr.toLowerCase();
    col.values.forEach((v, c) => { ok[c] = v.toLowerCase().includes(needle) ? 1 : 0; });
  } else {
    const nums = parsedValues(col);
    const lo = filter.min ?? -Infinity;
    const hi = filter.max ?? Infinity;
    nums.forEach((x, c) => { ok[c] = x >= lo && x <= hi ? 1 : 0; });
  }
  return ok;
}

function compareText(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sortKeys(col) {
  if (col.numeric) return col.numbers;
  const order = col.values.map((_, c) => c);
  if (col.info.kind === "number") {
    const nums = parsedValues(col);
    order.sort((a, b) => (nums[a] - nums[b]) || compareText(col.values[a], col.values[b]));
  } else {
    order.sort((a, b) => compareText(col.values[a], col.values[b]));
  }
  const rank = new Float64Array(col.values.length);
  order.forEach((c, r) => { rank[c] = r; });
  const keys = new Float64Array(meta.count);
  for (let r = 0; r < meta.count; r++) keys[r] = col.codes[r] < 0 ? NaN : rank[col.codes[r]];
  return keys;
}

async function query(q) {
  const started = performance.now();
  const filterCols = Object.keys(q.filters).map(Number);
  const textCols = q.text
    ? meta.columns.map((c, i) => i).filter((i) => !["size", "count", "preview"].includes(meta.columns[i].kind))
    : [];
  const sizeCol = meta.columns.findIndex((c) => c.kind === "size");
  // with Zarr images a row may stand for many files: their count is a column
  const countCol = meta.columns.findIndex((c) => c.kind === "count");
  const needed = new Set([...filterCols, ...textCols, sizeCol]);
  if (countCol >= 0) needed.add(countCol);
  if (q.sort !== null && q.sort !== undefined) needed.add(q.sort);
  await loadColumns([...needed]);

  const tests = [];
  for (const i of filterCols) {
    const col = column(i);
    const f = q.filters[i];
    if (col.numeric) {
      const lo = f.min ?? -Infinity;
      const hi = f.max ?? Infinity;
      tests.push((r) => col.numbers[r] >= lo && col.numbers[r] <= hi);
    } else {
      const ok = passingCodes(col, f);
      tests.push((r) => col.codes[r] >= 0 && ok[col.codes[r]] === 1);
    }
  }
  if (q.text) {
    const matchers = textCols.map((i) => {
      const col = column(i);
      return [col, passingCodes(col, { substr: q.text })];
    });
    tests.push((r) => matchers.some(([col, ok]) => col.codes[r] >= 0 && ok[col.codes[r]] === 1));
  }
  const hits = new Uint32Array(meta.count);
  let n = 0;
  for (let r = 0; r < meta.count; r++) {
    let pass = true;
    for (let t = 0; t < tests.length; t++) if (!tests[t](r)) { pass = false; break; }
    if (pass) hits[n++] = r;
  }
  let matched = hits.subarray(0, n);
  if (q.sort !== null && q.sort !== undefined) {
    const keys = sortKeys(column(q.sort));
    const dir = q.desc ? -1 : 1;
    matched = Uint32Array.from(matched).sort((a, b) => {
      const ka = keys[a];
      const kb = keys[b];
      if (Number.isNaN(ka)) return Number.isNaN(kb) ? a - b : 1;
      if (Number.isNaN(kb)) return -1;
      return (ka - kb) * dir || a - b;
    });
  }
  current = matched;
  let total = 0;
  let unknown = 0;
  let files = matched.length;
  const sizes = column(sizeCol).numbers;
  for (let j = 0; j < matched.length; j++) {
    const s = sizes[matched[j]];
    if (Number.isNaN(s)) unknown++; else total += s;
  }
  if (countCol >= 0) {
    const counts = column(countCol).numbers;
    files = 0;
    for (let j = 0; j < matched.length; j++) {
      const n = counts[matched[j]];
      files += Number.isNaN(n) ? 1 : n;
    }
  }
  const filterMs = performance.now() - started;
  return { count: matched.length, files, total, unknown, filterMs, rows: await pageRows(q.page, q.pageSize) };
}

async function pageRows(page, size) {
  const rows = Array.from(current.subarray(page * size, page * size + size));
  await loadRows(rows);
  return rows.map((r) => meta.columns.map((info, i) => {
    const col = column(i);
    if (col.numeric) return Number.isNaN(col.numbers[r]) ? null : col.numbers[r];
    return col.codes[r] < 0 ? "" : col.values[col.codes[r]];
  }));
}

// The distinct values of a column with their row counts, sorted: the suggestions of a
// value picker. Codes are counted first, so this is one pass over integers.
async function distinctValues(index) {
  await loadColumns([index]);
  const col = column(index);
  const tally = new Uint32Array(col.values.length);
  for (let r = 0; r < meta.count; r++) if (col.codes[r] >= 0) tally[col.codes[r]]++;
  const counts = new Map();
  col.values.forEach((v, c) => { if (tally[c] && v !== "") counts.set(v, (counts.get(v) || 0) + tally[c]); });
  const values = [...counts.keys()].sort(compareText);
  return { values, counts: values.map((v) => counts.get(v)) };
}

function encodePath(path) {
  return path.split("/").map(encodeURIComponent).join("/");
}

// The Zarr folder a file URL lies in, as a manifest path ("a/b.ome.zarr"), or null:
// the rule of catalogue.formats.zarr_root, read on the URL's decoded segments.
function zarrRootOfUrl(url) {
  const parts = url.slice(meta.data_url.length).split("/");
  for (let i = 0; i < parts.length; i++) {
    if (parts[i].toLowerCase().endsWith(".zarr")) return parts.slice(0, i + 1).map(decodeURIComponent).join("/");
  }
  return null;
}

// The URL of every file of the current selection. A Zarr image's row stands for all
// the files of its folder: those come from the dataset's urls.txt, read only then.
let zarrUrls = null;
async function selectionUrls() {
  const pathCol = meta.columns.findIndex((c) => c.kind === "path");
  const countCol = meta.columns.findIndex((c) => c.kind === "count");
  await loadColumns(countCol >= 0 ? [pathCol, countCol] : [pathCol]);
  const paths = column(pathCol);
  const counts = countCol >= 0 ? column(countCol).numbers : null;
  const out = [];
  for (const r of current) {
    const path = paths.values[paths.codes[r]];
    if (counts && !Number.isNaN(counts[r])) {
      if (!zarrUrls) {
        const response = await fetch(`${base}../urls.txt`);
        if (!response.ok) throw new Error(`cannot load urls.txt (${response.status})`);
        zarrUrls = new Map();
        for (const line of (await response.text()).split("\n")) {
          const root = line ? zarrRootOfUrl(line) : null;
          if (root === null) continue;
          if (!zarrUrls.has(root)) zarrUrls.set(root, []);
          zarrUrls.get(root).push(line);
        }
      }
      for (const url of zarrUrls.get(path) || []) out.push(url);
    } else {
      out.push(meta.data_url + encodePath(path));
    }
  }
  return out;
}

onmessage = async (event) => {
  const msg = event.data;
  try {
    if (msg.type === "init") {
      base = msg.base;
      const response = await fetch(msg.meta);
      if (!response.ok) throw new Error(`cannot load ${msg.meta} (${response.status})`);
      const { data, ...rest } = await response.json();
      meta = rest;
      inline = data || null;
      columns = [];
      // the page needs the column facts, not the rows: those stay here
      postMessage({ type: "meta", meta });
    } else if (msg.type === "query") {
      const result = await query(msg);
      postMessage({ type: "result", id: msg.id, ...result });
    } else if (msg.type === "page") {
      postMessage({ type: "page", id: msg.id, rows: await pageRows(msg.page, msg.pageSize) });
    } else if (msg.type === "values") {
      postMessage({ type: "values", id: msg.id, ...(await distinctValues(msg.column)) });
    } else if (msg.type === "urls") {
      postMessage({ type: "urls", id: msg.id, urls: await selectionUrls() });
    }
  } catch (error) {
    postMessage({ type: "error", id: msg.id, message: String(error && error.message || error) });
  }
};
