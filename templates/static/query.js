// The query language of the archive's search, evaluated over the static index that
// catalogue/search/index.py writes to /search/index/. One ES module for the search page and
// for scripts (Node 18+: pass a fetch that reads files, see docs/search.md). The text rules
// (normalise, words, stem, stop words) are those of catalogue/search/text.py, tested
// against each other in tests/test_search.py.

export const FIELDS = {
  title: 1, description: 2, author: 4, keyword: 8, organism: 16, method: 32, rembi: 64,
  accession: 128, licence: 256, collection: 512, files: 1024, publication: 2048,
};
const WEIGHTS = {
  accession: 12, title: 8, keyword: 5, author: 5, organism: 5, method: 5, collection: 3,
  licence: 2, publication: 2, description: 2, files: 1.5, rembi: 1,
};
// names a reader may type for a field
const ALIASES = {
  license: "licence", authors: "author", keywords: "keyword", desc: "description",
  methods: "method", organisms: "organism", species: "organism", publications: "publication",
  acc: "accession", id: "accession", year: "released", date: "released", file: "files",
};
// fields whose whole value is also a facet value (organism:"Homo sapiens" is exact)
const FACET_OF = { organism: "organism", method: "imaging method", licence: "licence", collection: "collection" };
const RANGES = new Set(["released", "size", "files_count"]);
const STOPWORDS = new Set("a an and are as at be by for from in into is it of on or the to with".split(" "));

export class QueryError extends Error {
  constructor(message, position) {
    super(message);
    this.position = position;
  }
}

// --- text rules (same as catalogue/search/text.py) --------------------------------------
export function normalise(text) {
  return text.toLowerCase().normalize("NFKD").replace(/\p{M}/gu, "");
}
export function stem(word) {
  if (word.length < 4 || !/^\p{L}+$/u.test(word)) return word;
  if (word.endsWith("ies") && !word.endsWith("eies") && !word.endsWith("aies")) return word.slice(0, -3) + "y";
  if (word.endsWith("es") && !/(aes|ees|oes)$/.test(word)) return word.slice(0, -1);
  if (word.endsWith("s") && !/(us|ss)$/.test(word)) return word.slice(0, -1);
  return word;
}
export function words(text) {
  return normalise(text).match(/[\p{L}\p{N}]+/gu) || [];
}
export function keys(text) {
  return words(text).filter((w) => !STOPWORDS.has(w)).map(stem);
}
export function columnField(name) {
  return words(name).join("_");
}

// --- parsing ------------------------------------------------------------------------------
function lex(q) {
  const out = [];
  let i = 0;
  while (i < q.length) {
    const c = q[i];
    if (/\s/.test(c)) { i++; continue; }
    if (c === "(" || c === ")") { out.push({ t: c, pos: i }); i++; continue; }
    if (c === '"') {
      const end = q.indexOf('"', i + 1);
      if (end < 0) throw new QueryError("a quote is not closed", i);
      out.push({ t: "phrase", v: q.slice(i + 1, end), pos: i });
      i = end + 1;
      continue;
    }
    let j = i;
    while (j < q.length && !/[\s()"]/.test(q[j])) {
      if (q[j] === ":" ) break;
      j++;
    }
    const word = q.slice(i, j);
    if (q[j] === ":" && /^[\p{L}_][\p{L}\p{N}_.-]*$/u.test(word)) {
      out.push({ t: "field", v: word, pos: i });
      i = j + 1;
      continue;
    }
    if (q[j] === ":") j++; // a colon inside a word (a DOI, a time) is part of it
    while (j < q.length && !/[\s()"]/.test(q[j])) j++;
    const raw = q.slice(i, j);
    if (raw === "OR" || raw === "|") out.push({ t: "OR", pos: i });
    else if (raw === "AND" || raw === "&") out.push({ t: "AND", pos: i });
    else if (raw === "NOT") out.push({ t: "NOT", pos: i });
    else if (raw.startsWith("-") && raw.length > 1) {
      out.push({ t: "NOT", pos: i });
      out.push({ t: "word", v: raw.slice(1), pos: i + 1 });
    } else if (raw === "-") out.push({ t: "NOT", pos: i });
    else out.push({ t: "word", v: raw, pos: i });
    i = j;
  }
  return out;
}

export function parse(q) {
  const tokens = lex(q);
  let k = 0;
  const peek = () => tokens[k];
  function or() {
    const parts = [and()];
    while (peek() && peek().t === "OR") { k++; parts.push(and()); }
    return parts.length === 1 ? parts[0] : { t: "or", c: parts };
  }
  function and() {
    const parts = [unary()];
    while (peek() && peek().t !== "OR" && peek().t !== ")") {
      if (peek().t === "AND") k++;
      parts.push(unary());
    }
    return parts.length === 1 ? parts[0] : { t: "and", c: parts };
  }
  function unary() {
    const tok = peek();
    if (!tok) throw new QueryError("the query ends where a term was expected", q.length);
    if (tok.t === "NOT") { k++; return { t: "not", c: unary() }; }
    if (tok.t === "-") { k++; return { t: "not", c: unary() }; }
    return primary(null);
  }
  function primary(field) {
    const tok = tokens[k++];
    if (!tok) throw new QueryError("the query ends where a term was expected", q.length);
    if (tok.t === "(") {
      const inner = field ? withField(or(), field) : or();
      if (!peek() || peek().t !== ")") throw new QueryError("a parenthesis is not closed", tok.pos);
      k++;
      return inner;
    }
    if (tok.t === "field") {
      if (field) throw new QueryError(`field ${tok.v}: inside field ${field}:`, tok.pos);
      const name = tok.v.toLowerCase();
      return primary(ALIASES[name] || name);
    }
    if (tok.t === "phrase") return term(field, tok.v, true, tok.pos);
    if (tok.t === "word") return term(field, tok.v, false, tok.pos);
    throw new QueryError(`unexpected ${tok.t === ")" ? "closing parenthesis" : tok.t}`, tok.pos);
  }
  function withField(node, field) {
    if (node.t === "term" || node.t === "range") {
      if (node.field) throw new QueryError(`field ${node.field}: inside field ${field}:`, node.pos);
      return term(field, node.raw, node.phrase, node.pos);
    }
    if (node.t === "not") return { t: "not", c: withField(node.c, field) };
    return { t: node.t, c: node.c.map((n) => withField(n, field)) };
  }
  if (!tokens.length) return { t: "all" };
  const tree = or();
  if (k < tokens.length) throw new QueryError("unexpected closing parenthesis", tokens[k].pos);
  return tree;
}

const UNITS = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, pb: 1e15, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4, pib: 1024 ** 5 };

function rangeValue(field, text, upper, pos) {
  if (field === "released") {
    const m = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$/.exec(text);
    if (!m) throw new QueryError(`released: takes a year or a date (2021, 2021-06 or 2021-06-30), not ${JSON.stringify(text)}`, pos);
    const y = +m[1];
    const mo = m[2] ? +m[2] - 1 : (upper ? 11 : 0);
    let d;
    if (m[3]) d = +m[3];
    else d = upper ? new Date(Date.UTC(y, mo + 1, 0)).getUTCDate() : 1;
    return Math.round(Date.UTC(y, mo, d) / 86400000);
  }
  const m = /^(\d+(?:[.,]\d+)?)\s*([a-z]*)$/i.exec(text);
  if (!m) throw new QueryError(`${field === "size" ? "size" : "files"}: takes a number${field === "size" ? " with a unit (10GB, 1.5TB)" : ""}, not ${JSON.stringify(text)}`, pos);
  const n = parseFloat(m[1].replace(",", "."));
  if (field === "size") {
    const unit = (m[2] || "b").toLowerCase();
    if (!(unit in UNITS)) throw new QueryError(`unknown size unit ${m[2]} (B, KB, MB, GB, TB, PB, KiB … PiB)`, pos);
    return n * UNITS[unit];
  }
  if (m[2]) throw new QueryError(`files: takes a count, not ${JSON.stringify(text)}`, pos);
  return n;
}

function term(field, raw, phrase, pos) {
  if (field === "files" && /^[<>=]|\.\./.test(raw)) field = "files_count";
  if (field && RANGES.has(field)) {
    let lo = -Infinity, hi = Infinity;
    const m = /^(>=|<=|>|<|=)?(.*)$/.exec(raw);
    const op = m[1] || "";
    const rest = m[2];
    if (!op && rest.includes("..")) {
      const [a, b] = rest.split("..");
      if (a) lo = rangeValue(field, a, false, pos);
      if (b) hi = rangeValue(field, b, true, pos);
    } else if (op === ">") {
      lo = field === "released" ? rangeValue(field, rest, true, pos) + 1 : Math.floor(rangeValue(field, rest, false, pos)) + 1;
    } else if (op === ">=") {
      lo = rangeValue(field, rest, false, pos);
    } else if (op === "<") {
      hi = field === "released" ? rangeValue(field, rest, false, pos) - 1 : Math.ceil(rangeValue(field, rest, false, pos)) - 1;
    } else if (op === "<=") {
      hi = rangeValue(field, rest, true, pos);
    } else {
      lo = rangeValue(field, rest, false, pos);
      hi = rangeValue(field, rest, true, pos);
    }
    return { t: "range", field: field === "files_count" ? "files" : field, lo, hi, raw, pos };
  }
  const prefix = !phrase && raw.endsWith("*");
  const text = prefix ? raw.slice(0, -1) : raw;
  let ks = prefix ? words(text) : keys(text);
  ks = ks.filter((x) => x.length >= 2);
  if (prefix && ks.length) {
    const last = ks[ks.length - 1];
    if (last.length < 3) throw new QueryError(`a prefix needs three letters or more: ${raw}`, pos);
    ks = [...ks.slice(0, -1).map(stem), last];
  }
  return { t: "term", field, raw, phrase, prefix, keys: ks, pos };
}

// --- sets of studies ------------------------------------------------------------------
export class Bits {
  constructor(n, words) {
    this.n = n;
    this.w = words || new Uint32Array((n + 31) >>> 5);
  }
  static all(n) {
    const b = new Bits(n);
    b.w.fill(0xffffffff);
    const extra = b.w.length * 32 - n;
    if (extra && b.w.length) b.w[b.w.length - 1] = 0xffffffff >>> extra;
    return b;
  }
  has(i) { return (this.w[i >>> 5] >>> (i & 31)) & 1; }
  add(i) { this.w[i >>> 5] |= 1 << (i & 31); }
  and(o) { const r = new Bits(this.n); for (let i = 0; i < this.w.length; i++) r.w[i] = this.w[i] & o.w[i]; return r; }
  or(o) { const r = new Bits(this.n); for (let i = 0; i < this.w.length; i++) r.w[i] = this.w[i] | o.w[i]; return r; }
  not() { return Bits.all(this.n).andNot(this); }
  andNot(o) { const r = new Bits(this.n); for (let i = 0; i < this.w.length; i++) r.w[i] = this.w[i] & ~o.w[i]; return r; }
  count() {
    let c = 0;
    for (let v of this.w) { v -= (v >>> 1) & 0x55555555; v = (v & 0x33333333) + ((v >>> 2) & 0x33333333); c += (((v + (v >>> 4)) & 0xf0f0f0f) * 0x1010101) >>> 24; }
    return c;
  }
  ids() {
    const out = [];
    for (let k = 0; k < this.w.length; k++) {
      let v = this.w[k];
      while (v) { const t = v & -v; out.push(k * 32 + 31 - Math.clz32(t)); v ^= t; }
    }
    return out;
  }
}

function b64(text) {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

// postings of a word key: [ids, masks]; of a column key: [ids, null]
function decodePostings(text, withMasks) {
  const bytes = b64(text);
  const ids = [], masks = withMasks ? [] : null;
  let i = 0, last = -1;
  const next = () => { let n = 0, shift = 0, b; do { b = bytes[i++]; n += (b & 0x7f) * 2 ** shift; shift += 7; } while (b & 0x80); return n; };
  while (i < bytes.length) {
    last += next() + 1;
    ids.push(last);
    if (withMasks) masks.push(next());
  }
  return [ids, masks];
}

function decodeSet(text, n) {
  if (text[0] === "b") {
    const bytes = b64(text.slice(1));
    const b = new Bits(n);
    for (let i = 0; i < bytes.length; i++) if (bytes[i]) for (let j = 0; j < 8; j++) if (bytes[i] & (1 << j)) b.add(i * 8 + j);
    return b;
  }
  const b = new Bits(n);
  for (const i of decodePostings(text.slice(1), false)[0]) b.add(i);
  return b;
}

function crc32(str) {
  const bytes = new TextEncoder().encode(str);
  let c = -1;
  for (const byte of bytes) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return (c ^ -1) >>> 0;
}

function editDistance(a, b, max) {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      best = Math.min(best, cur[j]);
    }
    if (best > max) return max + 1;
    prev = cur;
  }
  return prev[b.length];
}

// --- the index --------------------------------------------------------------------------
export class SearchIndex {
  // base: URL of the folder holding meta.json (ending in "/"); fetchJson(url) -> object
  constructor(base, meta, fetchJson) {
    this.base = base;
    this.meta = meta;
    this.n = meta.studies;
    this.fetchJson = fetchJson;
    this.cache = new Map();
    this.facetBits = new Map();
    this.bytes = 0;
  }

  static async open(base, fetchJson) {
    const get = fetchJson || (async (url) => {
      const r = await fetch(url);
      if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
      return r.json();
    });
    const meta = await get(new URL("meta.json", base).href);
    return new SearchIndex(base, meta, get);
  }

  file(name) {
    if (!this.cache.has(name)) {
      const url = new URL(`${name}?v=${this.meta.version}`, this.base).href;
      this.cache.set(name, this.fetchJson(url));
    }
    return this.cache.get(name);
  }

  shardName(key) {
    return `w${crc32(key.slice(0, 3)) % this.meta.shards}.json`;
  }

  async postings(key) {
    const shard = await this.file(this.shardName(key));
    const text = shard[key];
    return text === undefined ? null : decodePostings(text, !key.includes("@"));
  }

  async prefixKeys(prefix, column) {
    const shard = await this.file(this.shardName(prefix));
    return Object.keys(shard).filter((k) => {
      const at = k.indexOf("@");
      if (column === null ? at >= 0 : k.slice(at + 1) !== column) return false;
      return (at >= 0 ? k.slice(0, at) : k).startsWith(prefix);
    });
  }

  async facet(name) {
    const facets = await this.file("facets.json");
    return facets[name] || {};
  }

  async facetSet(name, value) {
    const id = `${name}\u0000${value}`;
    if (!this.facetBits.has(id)) {
      const values = await this.facet(name);
      this.facetBits.set(id, values[value] === undefined ? new Bits(this.n) : decodeSet(values[value], this.n));
    }
    return this.facetBits.get(id);
  }

  async numbers(name) {
    const key = `numbers:${name}`;
    if (!this.cache.has(key)) {
      this.cache.set(key, this.file(`n-${name}.json`).then(({ type, data }) => {
        const bytes = b64(data);
        const view = new DataView(bytes.buffer);
        const size = { u16: 2, u32: 4, f64: 8 }[type];
        const out = new Float64Array(bytes.length / size);
        for (let i = 0; i < out.length; i++) {
          out[i] = type === "u16" ? view.getUint16(i * 2, true) : type === "u32" ? view.getUint32(i * 4, true) : view.getFloat64(i * 8, true);
        }
        return out;
      }));
    }
    return this.cache.get(key);
  }

  columnsFor(field) {
    const out = [];
    for (const slug of Object.keys(this.meta.columns)) {
      if (slug === field || slug.startsWith(field + "_")) out.push(slug);
    }
    return out;
  }

  // a term's studies, and their scores when the term counts for ranking
  async evalTerm(node, scores) {
    const field = node.field;
    const n = this.n;
    let columns = null;
    let mask = 0;
    if (field) {
      if (field in FIELDS) mask = FIELDS[field];
      else {
        columns = this.columnsFor(field);
        if (!columns.length) {
          const known = [...Object.keys(FIELDS), "released", "size", "files", ...Object.keys(this.meta.columns)];
          throw new QueryError(`unknown field ${field}: (known: ${known.join(", ")})`, node.pos);
        }
      }
      if (FACET_OF[field] && !node.prefix && node.keys.length) {
        const values = await this.facet(FACET_OF[field]);
        const wanted = normalise(node.raw).trim();
        const hit = Object.keys(values).find((v) => normalise(v) === wanted);
        if (hit !== undefined) {
          const bits = await this.facetSet(FACET_OF[field], hit);
          if (scores) for (const i of bits.ids()) scores[i] += WEIGHTS[field] * 2;
          return { bits };
        }
      }
    }
    if (!node.keys.length) return { bits: new Bits(n) };
    // one set per key; a prefix key is the union of the keys it opens
    let result = null;
    let common = null; // per study, the fields every key of a phrase shares
    for (let k = 0; k < node.keys.length; k++) {
      const key = node.keys[k];
      const last = k === node.keys.length - 1;
      const candidates = node.prefix && last
        ? await this.prefixKeys(key, null)
        : [key];
      const bits = new Bits(n);
      const masks = new Map();
      const df = [];
      if (columns) {
        for (const c of columns) {
          const list = node.prefix && last ? await this.prefixKeys(key, c) : [`${key}@${c}`];
          for (const ck of list) {
            const p = await this.postings(ck);
            if (p) for (const i of p[0]) { bits.add(i); masks.set(i, FIELDS.files); }
          }
        }
      } else {
        for (const cand of candidates) {
          const p = await this.postings(cand);
          if (!p) continue;
          const [ids, ms] = p;
          let d = 0;
          for (let j = 0; j < ids.length; j++) {
            if (mask && !(ms[j] & mask)) continue;
            bits.add(ids[j]);
            masks.set(ids[j], (masks.get(ids[j]) || 0) | (mask ? ms[j] & mask : ms[j]));
            d++;
          }
          df.push(d);
        }
      }
      if (scores) {
        const idf = Math.log(1 + n / Math.max(1, bits.count()));
        for (const [i, m] of masks) {
          let w = 0;
          for (const [f, bit] of Object.entries(FIELDS)) if (m & bit) w = Math.max(w, WEIGHTS[f]);
          scores[i] += w * idf;
        }
      }
      result = result ? result.and(bits) : bits;
      if (node.phrase && node.keys.length > 1 && !columns) {
        const next = new Map();
        for (const [i, m] of masks) {
          const prev = common ? common.get(i) : m;
          if (prev !== undefined && (prev & m)) next.set(i, prev & m);
        }
        common = next;
      }
    }
    if (common) {
      const bits = new Bits(n);
      for (const i of common.keys()) if (result.has(i)) bits.add(i);
      result = bits;
    }
    return { bits: result, missing: result.count() === 0 ? node : null };
  }

  async evalRange(node) {
    const nums = await this.numbers(node.field);
    const bits = new Bits(this.n);
    for (let i = 0; i < nums.length; i++) if (nums[i] >= node.lo && nums[i] <= node.hi) bits.add(i);
    return bits;
  }

  async evaluate(node, scores, missing, negated = false) {
    switch (node.t) {
      case "all": return Bits.all(this.n);
      case "term": {
        const r = await this.evalTerm(node, negated ? null : scores);
        if (!negated && r.bits.count() === 0) missing.push(node);
        return r.bits;
      }
      case "range": return this.evalRange(node);
      case "not": return (await this.evaluate(node.c, scores, missing, !negated)).not();
      case "and": {
        let acc = null;
        for (const c of node.c) { const b = await this.evaluate(c, scores, missing, negated); acc = acc ? acc.and(b) : b; }
        return acc;
      }
      case "or": {
        let acc = null;
        for (const c of node.c) { const b = await this.evaluate(c, scores, missing, negated); acc = acc ? acc.or(b) : b; }
        return acc;
      }
    }
    throw new Error(`unknown node ${node.t}`);
  }

  // filters: {facet name: [values]}; sort: relevance | newest | oldest | title | size | files
  async search(query, { filters = {}, sort = "relevance" } = {}) {
    const tree = typeof query === "string" ? parse(query) : query;
    const scores = new Float64Array(this.n);
    const missing = [];
    const matched = await this.evaluate(tree, scores, missing);
    // disjunctive facets: a facet's counts ignore its own selection, not the others'
    const selections = {};
    for (const [name, values] of Object.entries(filters)) {
      if (!values || !values.length) continue;
      let any = new Bits(this.n);
      for (const v of values) any = any.or(await this.facetSet(name, v));
      selections[name] = any;
    }
    let result = matched;
    for (const s of Object.values(selections)) result = result.and(s);
    const facets = {};
    for (const name of this.meta.facets) {
      let base = matched;
      for (const [other, s] of Object.entries(selections)) if (other !== name) base = base.and(s);
      const counts = {};
      for (const value of Object.keys(await this.facet(name))) {
        counts[value] = base.and(await this.facetSet(name, value)).count();
      }
      facets[name] = counts;
    }
    const ids = result.ids();
    const hasWords = tree.t !== "all" && scores.some((s) => s > 0);
    let order;
    if (sort === "relevance" && hasWords) {
      // ties in accession order: a first search needs no per-study numbers at all
      order = (a, b) => scores[b] - scores[a] || a - b;
    } else {
      order = await this.ordering(sort);
    }
    ids.sort(order);
    const suggestions = ids.length === 0 ? await this.suggest(missing) : [];
    return { tree, ids, total: ids.length, facets, missing: missing.map((m) => m.raw), suggestions };
  }

  async ordering(sort) {
    const released = await this.numbers("released");
    const tie = (a, b) => released[b] - released[a] || a - b;
    let order;
    if (sort === "oldest") order = (a, b) => released[a] - released[b] || a - b;
    else if (sort === "title") { const t = await this.numbers("title"); order = (a, b) => t[a] - t[b]; }
    else if (sort === "size" || sort === "files") { const v = await this.numbers(sort); order = (a, b) => v[b] - v[a] || tie(a, b); }
    else order = tie;
    return order;
  }

  // words of the index close to the words that found nothing
  async suggest(missing) {
    const out = [];
    for (const node of missing) {
      const raw = words(node.raw).filter((w) => !STOPWORDS.has(w) && w.length >= 2);
      for (let j = 0; j < node.keys.length; j++) {
        const key = node.keys[j];
        const word = raw[j] || key;
        if (key.length < 4 || (await this.postings(key))) continue;
        const shard = await this.file(this.shardName(key));
        const max = word.length > 7 ? 2 : 1;
        const near = [];
        for (const k of Object.keys(shard)) {
          if (k.includes("@")) continue;
          const d = Math.min(editDistance(key, k, max), editDistance(word, k, max));
          if (d <= max) near.push([d, -decodePostings(shard[k], true)[0].length, k]);
        }
        near.sort((a, b) => a[0] - b[0] || a[1] - b[1] || (a[2] < b[2] ? -1 : 1));
        for (const [, , k] of near.slice(0, 3)) out.push({ word: node.raw, suggestion: k });
      }
    }
    return out;
  }

  async docs(ids) {
    const block = this.meta.block;
    return Promise.all(ids.map(async (i) => {
      const rows = await this.file(`d${Math.floor(i / block)}.json`);
      const [accession, title, url, thumbnail, released, snippet] = rows[i % block];
      return { id: i, accession, title, url, thumbnail, released, snippet };
    }));
  }

  // which dataset values of study i match the file-level terms of the query
  async fileHits(i, tree) {
    const terms = [];
    (function walk(n, neg) {
      if (n.t === "term" && !neg) terms.push(n);
      else if (n.t === "not") walk(n.c, !neg);
      else if (n.c) n.c.forEach((c) => walk(c, neg));
    })(tree, false);
    if (!terms.length) return [];
    const block = this.meta.block;
    const rows = await this.file(`v${Math.floor(i / block)}.json`);
    const datasets = rows[i % block];
    const hits = [];
    for (const [dataset, columns] of Object.entries(datasets)) {
      for (const [column, values] of Object.entries(columns)) {
        const slug = columnField(column);
        for (const t of terms) {
          if (t.field && (t.field in FIELDS) && t.field !== "files") continue;
          if (t.field && !(t.field in FIELDS) && !(slug === t.field || slug.startsWith(t.field + "_"))) continue;
          for (const value of values) {
            const vk = keys(value);
            const ok = t.keys.length && t.keys.every((k, j) => (t.prefix && j === t.keys.length - 1) ? vk.some((x) => x.startsWith(k)) : vk.includes(k));
            if (ok) hits.push({ dataset, column, value });
            if (hits.length >= 5) return hits;
          }
        }
      }
    }
    return hits;
  }
}
