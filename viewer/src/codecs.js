// Blosc (lz4, lz4hc, zstd, zlib inside) and zstd decoders in plain JavaScript.
//
// numcodecs.js builds these from C with Emscripten's embind, which compiles functions
// from strings at start-up and so needs 'unsafe-eval' in the Content-Security-Policy.
// The viewer must run under a strict policy, so it decodes these itself: Blosc's
// container format (c-blosc 1.x: a 16-byte header, block offsets, optional splits,
// byte shuffle) around LZ4 blocks, zstd frames (fzstd) or zlib (the browser's own
// DecompressionStream). Bitshuffle and BloscLZ are not supported and say so.
import { decompress as zstdDecompress } from "fzstd";

function lz4Block(src, dst, dstStart, dstEnd) {
  let s = 0;
  let d = dstStart;
  while (s < src.length) {
    const token = src[s++];
    let literals = token >> 4;
    if (literals === 15) {
      let b;
      do {
        b = src[s++];
        literals += b;
      } while (b === 255);
    }
    dst.set(src.subarray(s, s + literals), d);
    s += literals;
    d += literals;
    if (s >= src.length) break;
    const offset = src[s] | (src[s + 1] << 8);
    s += 2;
    let length = token & 15;
    if (length === 15) {
      let b;
      do {
        b = src[s++];
        length += b;
      } while (b === 255);
    }
    length += 4;
    if (offset === 0 || d + length > dstEnd) throw new Error("corrupt LZ4 block");
    for (let m = d - offset, end = d + length; d < end; ) dst[d++] = dst[m++];
  }
  return d - dstStart;
}

async function inflate(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function decodeSplit(code, src, size) {
  if (code === 1) {
    const out = new Uint8Array(size);
    lz4Block(src, out, 0, size);
    return out;
  }
  if (code === 4) return zstdDecompress(src, new Uint8Array(size));
  if (code === 3) return inflate(src);
  throw new Error(`Blosc compressor ${["blosclz", "lz4", "snappy", "zlib", "zstd"][code] || code} is not supported by this viewer`);
}

export async function bloscDecode(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const flags = bytes[2];
  const typesize = bytes[3] || 1;
  const nbytes = view.getUint32(4, true);
  const blocksize = view.getUint32(8, true);
  const out = new Uint8Array(nbytes);
  if (flags & 0x02) {
    out.set(bytes.subarray(16, 16 + nbytes));
    return out;
  }
  if (flags & 0x04 && typesize > 1) throw new Error("Blosc bitshuffle is not supported by this viewer");
  const code = (flags >> 5) & 7;
  const shuffle = flags & 0x01 && typesize > 1;
  const dontSplit = flags & 0x10;
  const nblocks = Math.ceil(nbytes / blocksize);
  for (let j = 0; j < nblocks; j += 1) {
    let s = view.getInt32(16 + 4 * j, true);
    const bsize = Math.min(blocksize, nbytes - j * blocksize);
    const leftover = bsize < blocksize;
    const nsplits = !dontSplit && typesize <= 16 && bsize / typesize >= 128 && !leftover ? typesize : 1;
    const neblock = bsize / nsplits;
    const block = new Uint8Array(bsize);
    for (let k = 0; k < nsplits; k += 1) {
      const cbytes = view.getInt32(s, true);
      s += 4;
      const src = bytes.subarray(s, s + cbytes);
      s += cbytes;
      block.set(cbytes === neblock ? src : await decodeSplit(code, src, neblock), k * neblock);
    }
    const base = j * blocksize;
    if (shuffle) {
      const count = Math.floor(bsize / typesize);
      for (let b = 0; b < typesize; b += 1) {
        const from = b * count;
        for (let i = 0; i < count; i += 1) out[base + i * typesize + b] = block[from + i];
      }
      const rest = bsize - count * typesize;
      if (rest) out.set(block.subarray(count * typesize), base + count * typesize);
    } else {
      out.set(block, base);
    }
  }
  return out;
}

export class BloscCodec {
  kind = "bytes_to_bytes";
  static fromConfig() {
    return new BloscCodec();
  }
  encode() {
    throw new Error("encoding is not supported");
  }
  async decode(bytes) {
    return bloscDecode(bytes);
  }
}

export class ZstdCodec {
  kind = "bytes_to_bytes";
  static fromConfig() {
    return new ZstdCodec();
  }
  encode() {
    throw new Error("encoding is not supported");
  }
  async decode(bytes) {
    return zstdDecompress(bytes);
  }
}
