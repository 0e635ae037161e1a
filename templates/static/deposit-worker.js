// SHA-256 of files picked in the deposit form, off the main thread, and the image header
// values a browser can read cheaply.
//
// A message {id, file, limit?} is answered by {id, sha256, header} (or {id, error}), with
// {progress: bytes} messages while a large file is read. Files up to `limit` bytes
// (default 64 MB) are hashed by the browser's own SHA-256 (crypto.subtle), which needs
// the whole file in memory; larger ones are read in 8 MB slices into the incremental
// SHA-256 below (FIPS 180-4), so a 100 GB file needs 8 MB of memory, not 100 GB.
"use strict";

const SUBTLE_LIMIT = 64 * 1024 * 1024;
const SLICE = 8 * 1024 * 1024;

const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

class Sha256 {
  constructor() {
    this.h = new Uint32Array([
      0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
    ]);
    this.w = new Uint32Array(64);
    this.block = new Uint8Array(64);
    this.filled = 0;
    this.length = 0; // bytes
  }

  compress(bytes, offset) {
    const w = this.w;
    for (let i = 0; i < 16; i++) {
      const j = offset + i * 4;
      w[i] = (bytes[j] << 24) | (bytes[j + 1] << 16) | (bytes[j + 2] << 8) | bytes[j + 3];
    }
    for (let i = 16; i < 64; i++) {
      const a = w[i - 15];
      const b = w[i - 2];
      const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
      const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
    }
    const h = this.h;
    let a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
    for (let i = 0; i < 64; i++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const ch = (e & f) ^ (~e & g);
      const t1 = (k + S1 + ch + K[i] + w[i]) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const maj = (a & b) ^ (a & c) ^ (b & c);
      const t2 = (S0 + maj) | 0;
      k = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += k;
  }

  update(bytes) {
    let i = 0;
    this.length += bytes.length;
    if (this.filled) {
      while (this.filled < 64 && i < bytes.length) this.block[this.filled++] = bytes[i++];
      if (this.filled < 64) return;
      this.compress(this.block, 0);
      this.filled = 0;
    }
    for (; i + 64 <= bytes.length; i += 64) this.compress(bytes, i);
    while (i < bytes.length) this.block[this.filled++] = bytes[i++];
  }

  hex() {
    const bits = this.length * 8;
    const tail = new Uint8Array(((this.filled < 56 ? 56 : 120) - this.filled) + 8);
    tail[0] = 0x80;
    const view = new DataView(tail.buffer);
    view.setUint32(tail.length - 8, Math.floor(bits / 0x100000000));
    view.setUint32(tail.length - 4, bits >>> 0);
    const length = this.length;
    this.update(tail);
    this.length = length;
    return Array.from(this.h, (x) => x.toString(16).padStart(8, "0")).join("");
  }
}

function hexOf(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function sha256(file, id, limit) {
  if (file.size <= limit && self.crypto && self.crypto.subtle) {
    return hexOf(await self.crypto.subtle.digest("SHA-256", await file.arrayBuffer()));
  }
  const h = new Sha256();
  for (let offset = 0; offset < file.size; offset += SLICE) {
    h.update(new Uint8Array(await file.slice(offset, offset + SLICE).arrayBuffer()));
    self.postMessage({ id, progress: Math.min(file.size, offset + SLICE) });
  }
  return h.hex();
}

// --- image headers -------------------------------------------------------------------------
//
// The columns `catalogue add-files` harvests (SizeX … PhysicalSizeZUnit), for the formats
// whose header a few small reads give: TIFF (classic and BigTIFF; OME-TIFF's OME-XML for
// Z, C, T and pixel sizes), PNG (IHDR) and JPEG (the SOF segment). Only what the header
// states is returned: a multi-page TIFF without OME-XML says nothing of Z or T, and
// vendor metadata (MetaMorph, LSM, SVS pixel sizes) is left to add-files, which keeps
// these cells and fills the empty ones. Anything unreadable gives {} (never an error).

const TIFF_TYPES = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 16: 8, 17: 8, 18: 8 };
const WANTED = new Set([256, 257, 258, 270, 277, 339]);
const MAX_DESCRIPTION = 4 * 1024 * 1024; // OME-XML of a large plate can be megabytes

async function bytesAt(file, offset, length) {
  return new DataView(await file.slice(offset, offset + length).arrayBuffer());
}

function pixelType(bits, format) {
  // SampleFormat 1 unsigned, 2 signed, 3 IEEE float (TIFF 6.0)
  if (format === 3) return bits === 32 ? "float" : bits === 64 ? "double" : null;
  if (![8, 16, 32].includes(bits)) return bits === 1 ? "bit" : null;
  return `${format === 2 ? "int" : "uint"}${bits}`;
}

function number(text) {
  const n = Number(text);
  return Number.isFinite(n) ? String(n) : null;
}

function omeValues(xml) {
  const m = /<(?:\w+:)?Pixels\b([^>]*)>/.exec(xml);
  if (!m) return null;
  const attrs = {};
  for (const a of m[1].matchAll(/([A-Za-z]+)\s*=\s*"([^"]*)"/g)) attrs[a[1]] = a[2];
  const out = {};
  for (const axis of ["X", "Y", "Z", "C", "T"]) {
    if (attrs[`Size${axis}`] && /^\d+$/.test(attrs[`Size${axis}`])) out[`Size${axis}`] = attrs[`Size${axis}`];
  }
  if (attrs.Type) out.PixelType = attrs.Type;
  for (const axis of ["X", "Y", "Z"]) {
    const v = attrs[`PhysicalSize${axis}`] !== undefined ? number(attrs[`PhysicalSize${axis}`]) : null;
    if (v !== null) {
      out[`PhysicalSize${axis}`] = v;
      out[`PhysicalSize${axis}Unit`] = attrs[`PhysicalSize${axis}Unit`] || "µm";
    }
  }
  return out;
}

async function tiffHeader(file, head) {
  const little = head.getUint16(0) === 0x4949;
  const version = head.getUint16(2, little);
  const big = version === 43;
  if (version !== 42 && !big) return {};
  const u64 = (view, at) => Number(view.getBigUint64(at, little));
  const first = big ? u64(head, 8) : head.getUint32(4, little);
  if (!first || first >= file.size) return {};
  const countSize = big ? 8 : 2;
  const entrySize = big ? 20 : 12;
  const inline = big ? 8 : 4;
  const countView = await bytesAt(file, first, countSize);
  if (countView.byteLength < countSize) return {};
  const n = big ? u64(countView, 0) : countView.getUint16(0, little);
  if (!n || n > 4096) return {};
  const ifd = await bytesAt(file, first + countSize, n * entrySize + (big ? 8 : 4));
  if (ifd.byteLength < n * entrySize) return {};
  const tags = {};
  for (let i = 0; i < n; i++) {
    const at = i * entrySize;
    const tag = ifd.getUint16(at, little);
    if (!WANTED.has(tag)) continue;
    const type = ifd.getUint16(at + 2, little);
    const size = TIFF_TYPES[type];
    if (!size) continue;
    const count = big ? u64(ifd, at + 4) : ifd.getUint32(at + 4, little);
    const bytes = count * size;
    let view;
    let base = 0;
    if (bytes <= inline) {
      view = ifd;
      base = at + (big ? 12 : 8);
    } else {
      if (tag === 270 && bytes > MAX_DESCRIPTION) continue;
      const offset = big ? u64(ifd, at + 12) : ifd.getUint32(at + 8, little);
      view = await bytesAt(file, offset, Math.min(bytes, tag === 270 ? bytes : 64));
    }
    if (tag === 270) {
      tags[tag] = new TextDecoder("utf-8", { fatal: false }).decode(
        new Uint8Array(view.buffer, view.byteOffset + base, Math.min(bytes, view.byteLength - base)));
      continue;
    }
    const read = (k) => (size === 2 ? view.getUint16(base + k * 2, little) : size === 4 ? view.getUint32(base + k * 4, little) : size === 1 ? view.getUint8(base + k) : u64(view, base + k * 8));
    tags[tag] = Array.from({ length: Math.min(count, 8) }, (_, k) => read(k));
  }
  const next = big ? (ifd.byteLength >= n * entrySize + 8 ? u64(ifd, n * entrySize) : 0) : (ifd.byteLength >= n * entrySize + 4 ? ifd.getUint32(n * entrySize, little) : 0);
  const out = {};
  if (tags[256]) out.SizeX = String(tags[256][0]);
  if (tags[257]) out.SizeY = String(tags[257][0]);
  const samples = tags[277] ? tags[277][0] : 1;
  const bits = tags[258] ? tags[258][0] : 1;
  const format = tags[339] ? tags[339][0] : 1;
  const type = pixelType(bits, format);
  const ome = tags[270] && tags[270].includes("<OME") ? omeValues(tags[270]) : null;
  if (ome) return { ...out, ...ome };
  out.SizeC = String(samples);
  if (!next) { out.SizeZ = "1"; out.SizeT = "1"; } // one page: one plane
  if (type) out.PixelType = type;
  return out;
}

function pngHeader(head) {
  // IHDR: width, height, bit depth, colour type (0 grey, 2 RGB, 3 palette, 4 grey+alpha,
  // 6 RGBA), read as add-files (Pillow) does: a palette is one band, 16-bit colour is
  // opened as 8-bit, only 16-bit grey stays uint16, 1-bit grey is "bit"
  if (head.byteLength < 26 || head.getUint32(12) !== 0x49484452) return {};
  const depth = head.getUint8(24);
  const colour = head.getUint8(25);
  const channels = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }[colour];
  if (!channels) return {};
  let type = "uint8";
  if (colour === 0 && depth === 16) type = "uint16";
  if (colour === 0 && depth === 1) type = "bit";
  return {
    SizeX: String(head.getUint32(16)), SizeY: String(head.getUint32(20)), SizeZ: "1",
    SizeC: String(channels), SizeT: "1", PixelType: type,
  };
}

async function jpegHeader(file) {
  // walk the segments to the first SOFn (not DHT C4, JPG C8, DAC CC): precision, height, width, components
  let offset = 2;
  for (let i = 0; i < 512 && offset + 4 <= file.size; i++) {
    const seg = await bytesAt(file, offset, 10);
    if (seg.byteLength < 4 || seg.getUint8(0) !== 0xff) return {};
    const marker = seg.getUint8(1);
    if (marker === 0xff) { offset += 1; continue; }
    const length = seg.getUint16(2);
    if (marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker)) {
      if (seg.byteLength < 10) return {};
      const precision = seg.getUint8(4);
      const out = { SizeX: String(seg.getUint16(7)), SizeY: String(seg.getUint16(5)), SizeZ: "1", SizeC: String(seg.getUint8(9)), SizeT: "1" };
      if (precision === 8) out.PixelType = "uint8";
      return out;
    }
    if (marker === 0xda || marker === 0xd9) return {};
    offset += 2 + length;
  }
  return {};
}

async function header(file) {
  try {
    const head = await bytesAt(file, 0, 32);
    if (head.byteLength < 8) return {};
    const b0 = head.getUint8(0), b1 = head.getUint8(1);
    if ((b0 === 0x49 && b1 === 0x49) || (b0 === 0x4d && b1 === 0x4d)) return await tiffHeader(file, head);
    if (head.getUint32(0) === 0x89504e47 && head.getUint32(4) === 0x0d0a1a0a) return pngHeader(head);
    if (b0 === 0xff && b1 === 0xd8) return await jpegHeader(file);
  } catch (err) {
    return {};
  }
  return {};
}

self.onmessage = async (event) => {
  const { id, file, limit } = event.data;
  try {
    const digest = await sha256(file, id, limit ?? SUBTLE_LIMIT);
    self.postMessage({ id, sha256: digest, header: await header(file) });
  } catch (err) {
    self.postMessage({ id, error: String((err && err.message) || err) });
  }
};
