// SHA-256 of files picked in the deposit form, off the main thread.
//
// A message {id, file, limit?} is answered by {id, sha256} (or {id, error}), with
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

self.onmessage = async (event) => {
  const { id, file, limit } = event.data;
  try {
    self.postMessage({ id, sha256: await sha256(file, id, limit ?? SUBTLE_LIMIT) });
  } catch (err) {
    self.postMessage({ id, error: String((err && err.message) || err) });
  }
};
