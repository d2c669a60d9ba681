/**
 * Deterministic, incompressible image layers that are valid tar+gzip (containerd unpacks them).
 *
 *   layerChunks(spec) -> Generator<Buffer>     the layer blob (.tar.gz), regenerated identically each time
 *   hashLayer(spec) -> LayerDigests            {digest, size, diffId}, memoized per spec
 *   splitLayers(totalBytes, count, seed) -> LayerSpec[]
 *
 * A layer holds one regular file of `size` pseudo-random bytes (AES-256-CTR keystream keyed by the
 * seed: GB/s, and gzip cannot shrink it, so a byte-counting proxy sees real sizes). The gzip stream
 * is written here with stored (uncompressed) deflate blocks rather than by zlib: the bytes then do
 * not depend on the zlib version or on chunking, and no CPU is spent trying to compress noise.
 */
import { createCipheriv, createHash } from "node:crypto";
import { crc32 } from "node:zlib";

export interface LayerSpec {
  /** Same seed and size -> same bytes. */
  seed: string;
  /** Bytes of file content (the blob is this plus ~0.01% tar and gzip framing). */
  size: number;
  /** Path of the file inside the layer; default `data/<seed>.bin` sanitized. */
  fileName?: string;
  /** The file's bytes instead of pseudo-random ones, e.g. a program (`size` must be their length). */
  content?: Uint8Array;
  /** The file's mode; default 0644. */
  mode?: number;
}

export interface LayerDigests {
  digest: string;
  size: number;
  diffId: string;
}

const CHUNK = 1 << 20;
const MAX_STORED_BLOCK = 65535;

export function* pseudoRandom(seed: string, size: number): Generator<Buffer> {
  const key = createHash("sha256").update(`acr-p2p layer ${seed}`).digest();
  const cipher = createCipheriv("aes-256-ctr", key, Buffer.alloc(16));
  const zeros = Buffer.alloc(CHUNK);
  for (let left = size; left > 0; left -= CHUNK) {
    yield cipher.update(left >= CHUNK ? zeros : zeros.subarray(0, left));
  }
}

function defaultFileName(seed: string): string {
  return `data/${seed.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 80)}.bin`;
}

/** A ustar header for one regular file (mode 0644 unless given), owned by root, mtime 0. */
export function tarHeader(name: string, size: number, mode = 0o644): Buffer {
  const h = Buffer.alloc(512);
  const put = (text: string, offset: number, length: number) => h.write(text, offset, length, "ascii");
  const octal = (n: number, length: number) => n.toString(8).padStart(length - 1, "0") + "\0";
  if (Buffer.byteLength(name) > 100) throw new Error(`tar name too long: ${name}`);
  put(name, 0, 100);
  put(octal(mode, 8), 100, 8);
  put(octal(0, 8), 108, 8);
  put(octal(0, 8), 116, 8);
  put(octal(size, 12), 124, 12);
  put(octal(0, 12), 136, 12);
  put("        ", 148, 8);
  put("0", 156, 1);
  put("ustar\0" + "00", 257, 8);
  put("root", 265, 32);
  put("root", 297, 32);
  let sum = 0;
  for (const byte of h) sum += byte;
  put(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8);
  return h;
}

function* tarChunks(spec: LayerSpec): Generator<Buffer> {
  if (spec.content && spec.content.length !== spec.size)
    throw new Error(`layer ${spec.seed}: size ${spec.size} but ${spec.content.length} bytes of content`);
  yield tarHeader(spec.fileName ?? defaultFileName(spec.seed), spec.size, spec.mode);
  if (spec.content) yield Buffer.from(spec.content);
  else yield* pseudoRandom(spec.seed, spec.size);
  const pad = (512 - (spec.size % 512)) % 512;
  // Padding to a record, then the two zero records that end an archive.
  yield Buffer.alloc(pad + 1024);
}

/** gzip (RFC 1952) around deflate stored blocks (RFC 1951 BTYPE=00). */
function* gzipStored(input: Iterable<Buffer>): Generator<Buffer> {
  yield Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
  let crc = 0;
  let length = 0;
  for (const chunk of input) {
    crc = crc32(chunk, crc);
    length += chunk.length;
    for (let off = 0; off < chunk.length; off += MAX_STORED_BLOCK) {
      const piece = chunk.subarray(off, off + MAX_STORED_BLOCK);
      const header = Buffer.alloc(5);
      header.writeUInt16LE(piece.length, 1);
      header.writeUInt16LE(~piece.length & 0xffff, 3);
      yield Buffer.concat([header, piece]);
    }
  }
  const trailer = Buffer.alloc(13);
  trailer.writeUInt8(1, 0); // final, empty stored block
  trailer.writeUInt16LE(0xffff, 3);
  trailer.writeUInt32LE(crc >>> 0, 5);
  trailer.writeUInt32LE(length % 2 ** 32, 9);
  yield trailer;
}

/** Hashes a stream of chunks as it passes: `tap.result()` is valid once the source is drained. */
function hashTap(source: Iterable<Buffer>): { chunks: Generator<Buffer>; result: () => [string, number] } {
  const hash = createHash("sha256");
  let size = 0;
  function* chunks(): Generator<Buffer> {
    for (const c of source) {
      hash.update(c);
      size += c.length;
      yield c;
    }
  }
  return { chunks: chunks(), result: () => [`sha256:${hash.digest("hex")}`, size] };
}

const memo = new Map<string, LayerDigests>();
// Layers with content are told apart by their seed, like the others.
const key = (spec: LayerSpec) => `${spec.seed}\0${spec.size}\0${spec.fileName ?? ""}\0${spec.mode ?? ""}`;

/** The layer blob; when drained completely, its digests are recorded for `knownDigests`. */
export function* layerChunks(spec: LayerSpec): Generator<Buffer> {
  const tar = hashTap(tarChunks(spec));
  const gz = hashTap(gzipStored(tar.chunks));
  yield* gz.chunks;
  const [digest, size] = gz.result();
  memo.set(key(spec), { digest, size, diffId: tar.result()[0] });
}

export function knownDigests(spec: LayerSpec): LayerDigests | undefined {
  return memo.get(key(spec));
}

export function hashLayer(spec: LayerSpec): LayerDigests {
  const known = knownDigests(spec);
  if (known) return known;
  for (const _ of layerChunks(spec));
  return memo.get(key(spec))!;
}

/** `count` layers adding up to `totalBytes`, the first ones larger (like real images). */
export function splitLayers(totalBytes: number, count: number, seed: string): LayerSpec[] {
  const weights = Array.from({ length: count }, (_, i) => count - i);
  const sum = weights.reduce((a, b) => a + b, 0);
  const sizes = weights.map((w) => Math.floor((totalBytes * w) / sum));
  sizes[0]! += totalBytes - sizes.reduce((a, b) => a + b, 0);
  return sizes.map((size, i) => ({ seed: `${seed}-layer${i}`, size }));
}
