// Plate map of a screening dataset (data/plates.json + data/plates-<k>.json, written by
// catalogue/steps/plates.py). Only the shard of the plate being shown is fetched; when
// there is one shard, plates.json carries it ("data") and nothing more is fetched. A well
// is a button named by its well and values ("C07 · Compound: …"); choosing it, or a value
// in the colour key, filters the file table below through a "catalogue:filter" event that
// files.js applies.
const section = document.getElementById("plates");
const pick = document.getElementById("plate-pick");
const colourBy = document.getElementById("plate-colour");
const find = document.getElementById("plate-find");
const valuesList = document.getElementById("plate-values");
const grid = document.getElementById("plate-grid");
const legend = document.getElementById("plate-legend");
const statusEl = document.getElementById("plate-status");
const thumbsBox = section.querySelector(".plate-thumbs");
const thumbsEl = document.getElementById("plate-thumbs");
const prevEl = document.getElementById("plate-prev");
const nextEl = document.getElementById("plate-next");

const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22"];
const OTHER = "#9aa5b1";
const VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
let index = null;
const shards = new Map();
let plate = null; // {name, rows, cols, wells}
let chosenWell = null;
let chosenValue = null;

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function number(v) {
  if (v === undefined || v === null || v === "") return NaN;
  const t = /^[+-]?\d+,\d+$/.test(v) ? v.replace(",", ".") : v;
  const n = Number(t);
  return Number.isFinite(n) ? n : NaN;
}

function viridis(t) {
  const x = Math.max(0, Math.min(1, t)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  const c = VIRIDIS[i].map((a, j) => Math.round(a + (VIRIDIS[i + 1][j] - a) * f));
  return `rgb(${c[0]} ${c[1]} ${c[2]})`;
}

function filter(filters) {
  document.dispatchEvent(new CustomEvent("catalogue:filter", { detail: { filters } }));
}

async function shard(k) {
  if (!shards.has(k) && index.data && k === 0) shards.set(k, index.data.plates);
  if (!shards.has(k)) {
    const response = await fetch(`${section.dataset.base}plates-${k}.json`);
    if (!response.ok) throw new Error(`cannot load plate data (${response.status})`);
    shards.set(k, (await response.json()).plates);
  }
  return shards.get(k);
}

function attribute() {
  return Number(colourBy.value);
}

// how wells are coloured for the chosen attribute: a numeric ramp or a categorical key
function scale(a) {
  const values = Object.values(plate.wells).map((w) => w.v[a]);
  const filled = values.filter((v) => v !== "");
  const nums = filled.map(number);
  if (filled.length && nums.every((n) => !Number.isNaN(n))) {
    const lo = Math.min(...nums);
    const hi = Math.max(...nums);
    return { numeric: true, lo, hi, colour: (v) => (v === "" ? null : viridis(hi > lo ? (number(v) - lo) / (hi - lo) : 0.5)) };
  }
  const counts = new Map();
  filled.forEach((v) => counts.set(v, (counts.get(v) || 0) + 1));
  const top = [...counts.entries()].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1)).slice(0, PALETTE.length);
  const colours = new Map(top.map(([v], i) => [v, PALETTE[i]]));
  return { numeric: false, top, others: counts.size - top.length, colour: (v) => (v === "" ? null : colours.get(v) || OTHER) };
}

function describe(label, w) {
  const parts = [label];
  index.attributes.forEach((name, i) => { if (w.v[i] !== "") parts.push(`${name}: ${w.v[i]}`); });
  if (w.n > 1) parts.push(`${w.n} files`);
  return parts.join(" · ");
}

function draw() {
  const a = attribute();
  const s = scale(a);
  grid.replaceChildren();
  grid.classList.toggle("p384", plate.cols > 12);
  grid.style.gridTemplateColumns = `repeat(${plate.cols + 1}, auto)`;
  grid.setAttribute("aria-label", `Wells of plate ${plate.name}`);
  grid.append(el("span", { class: "lbl", "aria-hidden": "true" }));
  for (let c = 0; c < plate.cols; c++) grid.append(el("span", { class: "lbl", "aria-hidden": "true" }, String(c + 1)));
  let first = true;
  for (let r = 0; r < plate.rows; r++) {
    const letter = r < 26 ? String.fromCharCode(65 + r) : String.fromCharCode(64 + Math.floor(r / 26)) + String.fromCharCode(65 + (r % 26));
    grid.append(el("span", { class: "lbl", "aria-hidden": "true" }, letter));
    for (let c = 0; c < plate.cols; c++) {
      const label = `${letter}${String(c + 1).padStart(2, "0")}`;
      const w = plate.wells[label];
      if (!w) { grid.append(el("span", { class: "well empty", "aria-hidden": "true" })); continue; }
      const b = el("button", { type: "button", class: "well", "data-well": label, "aria-label": describe(label, w), "aria-pressed": chosenWell === label ? "true" : "false", tabindex: first ? "0" : "-1" });
      first = false;
      b.title = describe(label, w);
      const colour = s.colour(w.v[a]);
      if (colour) b.style.backgroundColor = colour;
      if (thumbsEl.checked && w.t) b.style.backgroundImage = `url("${w.t}")`;
      if (chosenValue !== null && w.v[chosenValue.a] !== chosenValue.v) b.classList.add("dim");
      grid.append(b);
    }
  }
  drawLegend(a, s);
}

function drawLegend(a, s) {
  legend.replaceChildren();
  if (s.numeric) {
    const li = el("li");
    li.append(el("span", {}, `${s.lo} `), el("span", { class: "ramp", "aria-hidden": "true" }), el("span", {}, ` ${s.hi}`));
    legend.append(li);
    return;
  }
  s.top.forEach(([v, n], i) => {
    const li = el("li");
    const pressed = chosenValue && chosenValue.a === a && chosenValue.v === v;
    const b = el("button", { type: "button", "aria-pressed": pressed ? "true" : "false" });
    const sw = el("span", { class: "sw", "aria-hidden": "true" });
    sw.style.backgroundColor = PALETTE[i];
    b.append(sw, document.createTextNode(` ${v} (${n})`));
    b.addEventListener("click", () => chooseValue(a, v));
    li.append(b);
    legend.append(li);
  });
  if (s.others > 0) legend.append(el("li", { class: "small muted" }, `${s.others} more values in grey`));
}

function chooseValue(a, v) {
  const name = index.attributes[a];
  if (chosenValue && chosenValue.a === a && chosenValue.v === v) {
    chosenValue = null;
    filter({ [name]: null });
  } else {
    chosenValue = { a, v };
    filter({ [name]: { values: [v] }, [index.plate_column]: { values: [plate.name] } });
  }
  draw();
  const again = [...legend.querySelectorAll("button")].find((b) => b.textContent.trim().startsWith(v + " ("));
  if (again) again.focus();
}

function chooseWell(label) {
  const w = plate.wells[label];
  if (chosenWell === label) {
    chosenWell = null;
    filter({ [index.well_column]: null, [index.plate_column]: { values: [plate.name] } });
  } else {
    chosenWell = label;
    filter({ [index.well_column]: { values: [w.w] }, [index.plate_column]: { values: [plate.name] } });
  }
  grid.querySelectorAll("button.well").forEach((b) => b.setAttribute("aria-pressed", b.dataset.well === chosenWell ? "true" : "false"));
}

grid.addEventListener("click", (e) => {
  const b = e.target.closest("button.well");
  if (b) { focusWell(b); chooseWell(b.dataset.well); }
});

function focusWell(b) {
  grid.querySelectorAll("button.well").forEach((x) => x.setAttribute("tabindex", "-1"));
  b.setAttribute("tabindex", "0");
  b.focus();
}

grid.addEventListener("keydown", (e) => {
  const b = e.target.closest("button.well");
  if (!b) return;
  const wells = [...grid.querySelectorAll("button.well")];
  const at = (label) => wells.find((x) => x.dataset.well === label);
  const m = /^([A-Z]+)(\d+)$/.exec(b.dataset.well);
  const r = m[1].charCodeAt(m[1].length - 1) - 65 + (m[1].length > 1 ? 26 * (m[1].charCodeAt(0) - 64) : 0);
  const c = Number(m[2]) - 1;
  const step = { ArrowRight: [0, 1], ArrowLeft: [0, -1], ArrowDown: [1, 0], ArrowUp: [-1, 0] }[e.key];
  if (!step) return;
  e.preventDefault();
  let [rr, cc] = [r + step[0], c + step[1]];
  while (rr >= 0 && rr < plate.rows && cc >= 0 && cc < plate.cols) {
    const letter = rr < 26 ? String.fromCharCode(65 + rr) : String.fromCharCode(64 + Math.floor(rr / 26)) + String.fromCharCode(65 + (rr % 26));
    const next = at(`${letter}${String(cc + 1).padStart(2, "0")}`);
    if (next) { focusWell(next); return; }
    rr += step[0]; cc += step[1];
  }
});

let showing = 0;
async function show(name) {
  const entry = index.plates.find((p) => p.name === name);
  if (!entry) return;
  const mine = ++showing;
  statusEl.textContent = `Loading plate ${name}…`;
  const data = (await shard(entry.shard))[name];
  if (mine !== showing) return; // a later plate was asked for meanwhile
  plate = { name, ...data };
  chosenWell = null;
  const n = Object.keys(plate.wells).length;
  const images = Object.values(plate.wells).some((w) => w.t);
  thumbsBox.hidden = !images;
  const at = index.plates.findIndex((p) => p.name === name);
  prevEl.disabled = at <= 0;
  nextEl.disabled = at + 1 >= index.plates.length;
  statusEl.textContent = `Plate ${name}: ${n} of ${plate.rows * plate.cols} wells have files (${index.plates.length.toLocaleString("en")} plates in this dataset).`;
  const values = new Set();
  Object.values(plate.wells).forEach((w) => w.v.forEach((v) => { if (v && v.length < 80) values.add(v); }));
  valuesList.replaceChildren(...[...values].sort().slice(0, 2000).map((v) => el("option", { value: v })));
  draw();
}

find.addEventListener("change", () => {
  const v = find.value.trim();
  if (!plate || !v) return;
  const a = index.attributes.findIndex((_, i) => Object.values(plate.wells).some((w) => w.v[i] === v));
  if (a >= 0) { colourBy.value = String(a); chosenValue = null; chooseValue(a, v); }
  else statusEl.textContent = `No well of plate ${plate.name} has the value "${v}".`;
});
function choosePlate(name) {
  // the well and the value chosen on the last plate no longer filter the table
  const cleared = chosenValue ? { [index.attributes[chosenValue.a]]: null } : {};
  chosenValue = null;
  pick.value = name;
  show(name);
  filter({ ...cleared, [index.plate_column]: { values: [name] }, [index.well_column]: null });
}

// paging through plates: with 1,000 of them, the next one is one press away
function step(by) {
  const at = index.plates.findIndex((p) => p.name === (plate && plate.name));
  const next = index.plates[at + by];
  if (next) choosePlate(next.name);
}

pick.addEventListener("change", () => choosePlate(pick.value));
prevEl.addEventListener("click", () => step(-1));
nextEl.addEventListener("click", () => step(1));
colourBy.addEventListener("change", () => { chosenValue = null; draw(); });
thumbsEl.addEventListener("change", draw);

async function start() {
  const response = await fetch(section.dataset.index);
  if (!response.ok) throw new Error(`cannot load ${section.dataset.index} (${response.status})`);
  index = await response.json();
  if (!index.plates.length) return;
  index.plates.forEach((p) => pick.append(el("option", { value: p.name }, `${p.name} (${p.wells} wells)`)));
  index.attributes.forEach((name, i) => colourBy.append(el("option", { value: String(i) }, name)));
  // a readout or a control type tells more at a glance than the first column
  for (const pattern of [/inhibition|readout|score|intensity|activity/i, /control/i]) {
    const preferred = index.attributes.findIndex((n) => pattern.test(n));
    if (preferred >= 0) { colourBy.value = String(preferred); break; }
  }
  section.hidden = false;
  await show(index.plates[0].name);
}

start().catch((error) => { statusEl.textContent = `Cannot show the plate map: ${error.message}`; section.hidden = false; });
