// The catalogue's zoomable OME-Zarr viewer: a canvas over zarrita (no framework).
//
// One element per page, <div class="omz-viewer" data-source="URL">, is turned into a
// viewer. An image opens at the pyramid level that fills the canvas; panning and
// zooming fetch only the chunks in view, from the level whose pixels match the
// screen's. Channels can be toggled and their contrast window set; Z and T get
// sliders when the image has them. A plate opens as a grid of its wells (the first
// field of each, at its smallest level); a well opens its field as an image.
// Everything is fetched from the URL given, on the site's own origin, and there is no
// inline script or style, so it runs under a strict Content-Security-Policy.
import * as zarr from "zarrita";
import { BloscCodec, ZstdCodec } from "./codecs.js";

for (const name of ["blosc", "numcodecs.blosc"]) zarr.registry.set(name, () => BloscCodec);
for (const name of ["zstd", "numcodecs.zstd"]) zarr.registry.set(name, () => ZstdCodec);

let openNode = zarr.open; // pinned to the format the page names: no probing requests

const PALETTE = { 1: ["ffffff"], 2: ["00ff00", "ff00ff"], 3: ["ff0000", "00ff00", "0000ff"] };
const CYCLE = ["0000ff", "00ff00", "ff0000", "00ffff", "ff00ff", "ffff00"];

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function hexColour(text, index, count) {
  const fallback = (PALETTE[count] || CYCLE)[index % (PALETTE[count] || CYCLE).length];
  const value = /^[0-9a-f]{6}$/i.test(text || "") ? text : fallback;
  return [0, 2, 4].map((i) => parseInt(value.slice(i, i + 2), 16));
}

function omeAttrs(attrs) {
  return attrs && attrs.ome ? attrs.ome : attrs || {};
}

async function openGroup(location) {
  const node = await openNode(location, { kind: "group" });
  return { node, attrs: omeAttrs(node.attrs) };
}

// --- an image: levels, channels, tiles -------------------------------------------------

class ImageSource {
  static async open(location) {
    const { attrs } = await openGroup(location);
    const multiscale = (attrs.multiscales || [])[0];
    if (!multiscale) throw new Error("no multiscale image here");
    const source = new ImageSource();
    source.axes = multiscale.axes.map((axis) => (typeof axis === "string" ? axis : axis.name));
    source.levels = await Promise.all(
      multiscale.datasets.map((d) => openNode(location.resolve(d.path), { kind: "array" })),
    );
    const shape0 = source.levels[0].shape;
    source.size = (axis) => (source.axes.includes(axis) ? shape0[source.axes.indexOf(axis)] : 1);
    source.factors = source.levels.map(
      (level) => shape0[source.axes.indexOf("x")] / level.shape[source.axes.indexOf("x")],
    );
    const count = source.size("c");
    const omero = (attrs.omero && attrs.omero.channels) || [];
    source.channels = [];
    for (let c = 0; c < count; c += 1) {
      const meta = omero[c] || {};
      const window = meta.window || {};
      source.channels.push({
        label: meta.label || `channel ${c}`,
        colour: hexColour(meta.color, c, count),
        active: meta.active !== false && c < 7,
        start: Number.isFinite(window.start) ? window.start : null,
        end: Number.isFinite(window.end) ? window.end : null,
        min: Number.isFinite(window.min) ? window.min : null,
        max: Number.isFinite(window.max) ? window.max : null,
      });
    }
    return source;
  }

  selection(level, c, t, z, ys, xs) {
    return this.axes.map((axis) => {
      if (axis === "x") return xs;
      if (axis === "y") return ys;
      if (axis === "c") return c;
      if (axis === "t") return t;
      if (axis === "z") return z;
      return 0;
    });
  }

  async region(levelIndex, c, t, z, y0, y1, x0, x1) {
    const level = this.levels[levelIndex];
    const sel = this.selection(level, c, t, z, zarr.slice(y0, y1), zarr.slice(x0, x1));
    const chunk = await zarr.get(level, sel);
    return chunk.data;
  }

  // Unset windows come from the smallest level: its 0.5th and 99.5th percentiles.
  async defaultWindows() {
    const last = this.levels.length - 1;
    const level = this.levels[last];
    const h = level.shape[this.axes.indexOf("y")];
    const w = level.shape[this.axes.indexOf("x")];
    await Promise.all(
      this.channels.map(async (channel, c) => {
        if (channel.start !== null && channel.end !== null && channel.end > channel.start) return;
        const data = await this.region(last, c, 0, Math.floor(this.size("z") / 2), 0, h, 0, w);
        const sorted = Float64Array.from(data).filter(Number.isFinite).sort();
        const pick = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
        channel.start = sorted.length ? pick(0.005) : 0;
        channel.end = sorted.length ? pick(0.995) : 1;
        if (channel.end <= channel.start) channel.end = channel.start + 1;
        if (channel.min === null) channel.min = sorted.length ? sorted[0] : 0;
        if (channel.max === null) channel.max = sorted.length ? sorted[sorted.length - 1] : 1;
      }),
    );
    for (const channel of this.channels) {
      channel.min = Math.min(channel.min ?? channel.start, channel.start);
      channel.max = Math.max(channel.max ?? channel.end, channel.end);
    }
  }
}

// Channel planes of one region -> RGBA pixels (additive colour merge).
function composite(planes, channels, width, height) {
  const out = new Uint8ClampedArray(width * height * 4);
  const acc = new Float32Array(width * height * 3);
  channels.forEach((channel, c) => {
    const data = planes[c];
    if (!channel.active || !data) return;
    const scale = 1 / Math.max(1e-12, channel.end - channel.start);
    const [r, g, b] = channel.colour;
    for (let i = 0; i < width * height; i += 1) {
      let v = (data[i] - channel.start) * scale;
      v = v < 0 || v !== v ? 0 : v > 1 ? 1 : v;
      acc[3 * i] += v * r;
      acc[3 * i + 1] += v * g;
      acc[3 * i + 2] += v * b;
    }
  });
  for (let i = 0; i < width * height; i += 1) {
    out[4 * i] = acc[3 * i];
    out[4 * i + 1] = acc[3 * i + 1];
    out[4 * i + 2] = acc[3 * i + 2];
    out[4 * i + 3] = 255;
  }
  return new ImageData(out, width, height);
}

class ImageViewer {
  constructor(root, source, title) {
    this.root = root;
    this.source = source;
    this.t = 0;
    this.z = Math.floor(source.size("z") / 2);
    this.tiles = new Map(); // key -> {planes, w, h, bitmap, version}
    this.version = 0;
    this.pending = 0;
    this.build(title);
    this.fit();
  }

  build(title) {
    const s = this.source;
    this.canvas = el("canvas", {
      class: "omz-canvas",
      tabindex: "0",
      role: "img",
      "aria-label": `${title}: drag to pan, wheel or + and − to zoom`,
    });
    const tools = el("div", { class: "omz-tools" });
    const button = (label, text, action) => {
      const b = el("button", { type: "button", "aria-label": label, text });
      b.addEventListener("click", action);
      tools.append(b);
    };
    button("Zoom in", "+", () => this.zoomBy(2));
    button("Zoom out", "−", () => this.zoomBy(0.5));
    button("Fit to view", "Fit", () => this.fit());
    this.status = el("span", { class: "omz-status", "aria-live": "polite" });
    tools.append(this.status);
    const panel = el("div", { class: "omz-panel" });
    s.channels.forEach((channel, c) => panel.append(this.channelControls(channel, c)));
    for (const axis of ["z", "t"]) {
      const count = s.size(axis);
      if (count < 2) continue;
      const id = `omz-${axis}-${Math.random().toString(36).slice(2, 8)}`;
      const input = el("input", {
        type: "range",
        id,
        min: "0",
        max: String(count - 1),
        value: String(this[axis]),
        class: `omz-${axis}`,
      });
      const label = el("label", { for: id, text: `${axis.toUpperCase()} ${this[axis] + 1}/${count}` });
      input.addEventListener("input", () => {
        this[axis] = Number(input.value);
        label.textContent = `${axis.toUpperCase()} ${this[axis] + 1}/${count}`;
        this.redraw(true);
      });
      panel.append(el("div", { class: "omz-slider" }, label, input));
    }
    this.root.replaceChildren(tools, el("div", { class: "omz-stage" }, this.canvas, panel));
    this.bindPointer();
    new ResizeObserver(() => this.redraw(false)).observe(this.canvas);
  }

  channelControls(channel, c) {
    const box = el("fieldset", { class: "omz-channel" });
    const swatch = el("span", { class: "omz-swatch", "aria-hidden": "true" });
    swatch.style.background = `rgb(${channel.colour.join(",")})`;
    const toggle = el("input", { type: "checkbox", class: "omz-toggle" });
    toggle.checked = channel.active;
    toggle.addEventListener("change", () => {
      channel.active = toggle.checked;
      this.redraw(true, true);
    });
    box.append(el("legend", {}, el("label", {}, toggle, swatch, ` ${channel.label}`)));
    const step = Number.isInteger(channel.min) && Number.isInteger(channel.max) ? "1" : "any";
    for (const key of ["start", "end"]) {
      const input = el("input", {
        type: "range",
        class: `omz-${key}`,
        min: String(channel.min),
        max: String(channel.max),
        step,
        value: String(channel[key]),
        "aria-label": `${channel.label}: contrast ${key === "start" ? "black" : "white"} point`,
      });
      input.addEventListener("input", () => {
        channel[key] = Number(input.value);
        if (channel.end <= channel.start) channel.end = channel.start + (step === "1" ? 1 : 1e-6);
        this.redraw(true, true);
      });
      box.append(input);
    }
    return box;
  }

  bindPointer() {
    const c = this.canvas;
    let last = null;
    c.addEventListener("pointerdown", (e) => {
      last = [e.clientX, e.clientY];
      c.setPointerCapture(e.pointerId);
    });
    c.addEventListener("pointermove", (e) => {
      if (!last) return;
      const ratio = window.devicePixelRatio || 1;
      this.cx -= ((e.clientX - last[0]) * ratio) / this.zoom;
      this.cy -= ((e.clientY - last[1]) * ratio) / this.zoom;
      last = [e.clientX, e.clientY];
      this.redraw(false);
    });
    const stop = () => {
      last = null;
    };
    c.addEventListener("pointerup", stop);
    c.addEventListener("pointercancel", stop);
    c.addEventListener(
      "wheel",
      (e) => {
        e.preventDefault();
        const rect = c.getBoundingClientRect();
        const ratio = window.devicePixelRatio || 1;
        this.zoomBy(e.deltaY < 0 ? 1.25 : 0.8, (e.clientX - rect.left) * ratio, (e.clientY - rect.top) * ratio);
      },
      { passive: false },
    );
    c.addEventListener("keydown", (e) => {
      const step = 64 / this.zoom;
      const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
      if (moves[e.key]) {
        this.cx += moves[e.key][0];
        this.cy += moves[e.key][1];
        this.redraw(false);
      } else if (e.key === "+" || e.key === "=") this.zoomBy(2);
      else if (e.key === "-") this.zoomBy(0.5);
      else return;
      e.preventDefault();
    });
  }

  resize() {
    const ratio = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(this.canvas.clientWidth * ratio));
    const h = Math.max(1, Math.round(this.canvas.clientHeight * ratio));
    if (this.canvas.width !== w || this.canvas.height !== h) {
      this.canvas.width = w;
      this.canvas.height = h;
    }
  }

  fit() {
    this.resize();
    const W = this.source.size("x");
    const H = this.source.size("y");
    this.zoom = Math.min(this.canvas.width / W, this.canvas.height / H);
    this.cx = W / 2;
    this.cy = H / 2;
    this.redraw(false);
  }

  zoomBy(factor, px, py) {
    const x = px ?? this.canvas.width / 2;
    const y = py ?? this.canvas.height / 2;
    const wx = this.cx + (x - this.canvas.width / 2) / this.zoom;
    const wy = this.cy + (y - this.canvas.height / 2) / this.zoom;
    this.zoom = Math.min(64, Math.max(1e-4, this.zoom * factor));
    this.cx = wx - (x - this.canvas.width / 2) / this.zoom;
    this.cy = wy - (y - this.canvas.height / 2) / this.zoom;
    this.redraw(false);
  }

  // The coarsest level whose pixels are still no larger than a screen pixel.
  levelFor(zoom) {
    let chosen = 0;
    this.source.factors.forEach((f, i) => {
      if (f * zoom <= 1.0001) chosen = i;
    });
    return chosen;
  }

  redraw(planesChanged, coloursOnly = false) {
    if (planesChanged && !coloursOnly) this.tiles.clear();
    if (coloursOnly) this.version += 1;
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = null;
      this.draw();
    });
  }

  tilesFor(levelIndex, x0, y0, x1, y1) {
    const s = this.source;
    const level = s.levels[levelIndex];
    const f = s.factors[levelIndex];
    const iy = s.axes.indexOf("y");
    const ix = s.axes.indexOf("x");
    const [ch, cw] = [level.chunks[iy], level.chunks[ix]];
    const [lh, lw] = [level.shape[iy], level.shape[ix]];
    const out = [];
    const ty0 = Math.max(0, Math.floor(y0 / f / ch));
    const ty1 = Math.min(Math.ceil(lh / ch) - 1, Math.floor(y1 / f / ch));
    const tx0 = Math.max(0, Math.floor(x0 / f / cw));
    const tx1 = Math.min(Math.ceil(lw / cw) - 1, Math.floor(x1 / f / cw));
    for (let ty = ty0; ty <= ty1; ty += 1) {
      for (let tx = tx0; tx <= tx1; tx += 1) {
        const ya = ty * ch;
        const xa = tx * cw;
        out.push({ levelIndex, f, ya, yb: Math.min(lh, ya + ch), xa, xb: Math.min(lw, xa + cw) });
      }
    }
    return out;
  }

  tile(spec) {
    const key = `${spec.levelIndex}/${this.t}/${this.z}/${spec.ya}/${spec.xa}`;
    let tile = this.tiles.get(key);
    if (!tile) {
      tile = { planes: null, version: -1, canvas: null };
      this.tiles.set(key, tile);
      this.pending += 1;
      this.root.dataset.state = "loading";
      const s = this.source;
      Promise.all(
        s.channels.map((_, c) => s.region(spec.levelIndex, c, this.t, this.z, spec.ya, spec.yb, spec.xa, spec.xb)),
      )
        .then((planes) => {
          tile.planes = planes;
          this.redraw(false);
        })
        .catch((error) => {
          tile.error = String(error);
          this.status.textContent = `could not load a tile: ${error.message || error}`;
        })
        .finally(() => {
          this.pending -= 1;
        });
    }
    if (tile.planes && tile.version !== this.version) {
      const w = spec.xb - spec.xa;
      const h = spec.yb - spec.ya;
      tile.canvas = tile.canvas || el("canvas", { width: String(w), height: String(h) });
      tile.canvas.getContext("2d").putImageData(composite(tile.planes, this.source.channels, w, h), 0, 0);
      tile.version = this.version;
    }
    return tile;
  }

  draw() {
    this.resize();
    const ctx = this.canvas.getContext("2d");
    const { width: W, height: H } = this.canvas;
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, W, H);
    ctx.imageSmoothingEnabled = this.zoom < 1;
    const x0 = this.cx - W / 2 / this.zoom;
    const y0 = this.cy - H / 2 / this.zoom;
    const x1 = this.cx + W / 2 / this.zoom;
    const y1 = this.cy + H / 2 / this.zoom;
    const wanted = this.levelFor(this.zoom);
    const coarsest = this.source.levels.length - 1;
    let complete = true;
    // the coarsest level first (one or few chunks) as a backdrop, then the level wanted
    for (const levelIndex of wanted === coarsest ? [wanted] : [coarsest, wanted]) {
      for (const spec of this.tilesFor(levelIndex, x0, y0, x1, y1)) {
        const tile = this.tile(spec);
        if (!tile.canvas || !tile.planes) {
          if (levelIndex === wanted) complete = false;
          continue;
        }
        const f = spec.f;
        ctx.drawImage(
          tile.canvas,
          (spec.xa * f - x0) * this.zoom,
          (spec.ya * f - y0) * this.zoom,
          (spec.xb - spec.xa) * f * this.zoom,
          (spec.yb - spec.ya) * f * this.zoom,
        );
      }
    }
    this.root.dataset.level = String(wanted);
    this.status.textContent = `level ${wanted + 1}/${this.source.levels.length} · zoom ${this.zoom.toFixed(2)}×`;
    if (complete) this.root.dataset.state = "ready";
  }
}

// --- a plate: a grid of wells ----------------------------------------------------------

async function openPlate(root, location, attrs, title) {
  const plate = attrs.plate;
  const rows = plate.rows.map((r) => r.name);
  const columns = plate.columns.map((c) => c.name);
  const cell = 160;
  const canvas = el("canvas", {
    class: "omz-plate",
    width: String(columns.length * cell),
    height: String(rows.length * cell),
    role: "img",
    "aria-label": `${title}: plate of ${plate.wells.length} wells`,
  });
  const list = el("ul", { class: "omz-wells" });
  root.replaceChildren(el("div", { class: "omz-tools" }, `Plate ${plate.name || ""}: choose a well`), canvas, list);
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#222";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  root.dataset.state = "loading";
  await Promise.all(
    plate.wells.map(async (well) => {
      const wellLocation = location.resolve(well.path);
      const { attrs: wellAttrs } = await openGroup(wellLocation);
      const field = ((wellAttrs.well && wellAttrs.well.images) || [])[0];
      if (!field) return;
      const imageLocation = wellLocation.resolve(field.path);
      const source = await ImageSource.open(imageLocation);
      await source.defaultWindows();
      const last = source.levels.length - 1;
      const level = source.levels[last];
      const h = level.shape[source.axes.indexOf("y")];
      const w = level.shape[source.axes.indexOf("x")];
      const planes = await Promise.all(
        source.channels.map((_, c) => source.region(last, c, 0, Math.floor(source.size("z") / 2), 0, h, 0, w)),
      );
      const tile = el("canvas", { width: String(w), height: String(h) });
      tile.getContext("2d").putImageData(composite(planes, source.channels, w, h), 0, 0);
      const r = well.rowIndex ?? rows.indexOf(well.path.split("/")[0]);
      const c = well.columnIndex ?? columns.indexOf(well.path.split("/")[1]);
      const scale = (cell - 8) / Math.max(w, h);
      ctx.drawImage(tile, c * cell + 4, r * cell + 4, w * scale, h * scale);
      const open = el("button", { type: "button", text: `Well ${well.path}` });
      open.addEventListener("click", () => showImage(root, imageLocation, `${title}, well ${well.path}`));
      list.append(el("li", {}, open));
      canvas.addEventListener("click", (e) => {
        const rect = canvas.getBoundingClientRect();
        const x = Math.floor(((e.clientX - rect.left) / rect.width) * columns.length);
        const y = Math.floor(((e.clientY - rect.top) / rect.height) * rows.length);
        if (x === c && y === r) showImage(root, imageLocation, `${title}, well ${well.path}`);
      });
    }),
  );
  root.dataset.state = "ready";
}

async function showImage(root, location, title) {
  root.dataset.state = "loading";
  const source = await ImageSource.open(location);
  await source.defaultWindows();
  root.viewer = new ImageViewer(root, source, title);
}

async function start(root) {
  const url = new URL(root.dataset.source, window.location.href).href.replace(/\/$/, "");
  const location = zarr.root(new zarr.FetchStore(url));
  const title = root.dataset.title || "image";
  if (root.dataset.zarrFormat === "2") openNode = zarr.open.v2;
  if (root.dataset.zarrFormat === "3") openNode = zarr.open.v3;
  try {
    const { attrs } = await openGroup(location);
    if (attrs.plate) {
      await openPlate(root, location, attrs, title);
      return;
    }
    if (attrs.well) {
      const field = (attrs.well.images || [])[0];
      await showImage(root, location.resolve(field.path), title);
      return;
    }
    if (!attrs.multiscales && attrs["bioformats2raw.layout"]) {
      await showImage(root, location.resolve("0"), title);
      return;
    }
    await showImage(root, location, title);
  } catch (error) {
    root.dataset.state = "error";
    root.replaceChildren(el("p", { class: "omz-error", text: `This image could not be opened: ${error.message || error}` }));
  }
}

for (const root of document.querySelectorAll(".omz-viewer[data-source]")) start(root);
