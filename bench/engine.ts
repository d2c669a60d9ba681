/**
 * Block engine micro benchmark (no network): how fast the engine itself moves bytes.
 *
 * - warm: a 256 MiB blob, verified once and fully cached (memory store, 512 MiB cap, 256 KiB blocks),
 *   streamed to a consumer that discards the bytes. Each block is checked against the blob's verified
 *   record (one sha256 pass). Target: >= 1 GB/s.
 * - cold: the first stream of that blob from an in-memory source (whole-blob sha256 + per-block sha256,
 *   commit to the store): the engine's ceiling when the network is infinitely fast.
 * - memory: a 1 GiB blob through a 128 MiB cache, from a source that allocates every block as a
 *   network source does; live ArrayBuffer memory is sampled after forced collections and compared with
 *   cap + readahead x blockSize + holdback (the margin documented in sidecar/blocks/index.ts).
 *
 * Run: `npm exec -- node bench/engine.ts` (prints a table, writes bench/results/engine.json), or call
 * benchEngine() from the bench runner.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { BlockEngine, MemoryBlockSource } from "../sidecar/blocks/index.ts";
import type { BlobDescriptor, BlockRequest, BlockSource } from "../sidecar/blocks/index.ts";
import { MemoryBlockStore } from "../sidecar/stores/memory-store.ts";

const MiB = 1024 * 1024;
const BLOCK = 256 * 1024;

export interface EngineBenchResult {
  readonly name: string;
  readonly bytes: number;
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly mbPerSecond: number;
  /** Throughput per CPU second: what the engine does when it has a core to itself. */
  readonly mbPerCpuSecond: number;
  readonly peakLiveMiB?: number;
  readonly boundMiB?: number;
}

function engine(capacityBytes: number, readaheadBlocks?: number): BlockEngine {
  return new BlockEngine({
    store: new MemoryBlockStore({ capacityBytes }),
    blockSizeBytes: BLOCK,
    proxyFsParallels: 128,
    transferTimeoutMs: 15_000,
    connectTimeoutMs: 5_000,
    ...(readaheadBlocks ? { readaheadBlocks } : {}),
  });
}

/** Streams to a consumer that drops the bytes; `every` runs on each chunk (memory sampling). */
async function timeStream(
  name: string,
  run: () => NodeJS.ReadableStream,
  bytes: number,
  every?: (chunk: number) => Promise<void>,
): Promise<EngineBenchResult> {
  let chunks = 0;
  const sink = new Writable({
    highWaterMark: BLOCK,
    write(_chunk, _encoding, done) {
      if (!every) return done();
      every(++chunks).then(() => done(), done);
    },
  });
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  await pipeline(run(), sink);
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  const used = process.cpuUsage(cpu);
  return {
    name,
    bytes,
    wallMs: round(wallMs),
    cpuMs: round((used.user + used.system) / 1000),
    mbPerSecond: round(bytes / 1e6 / (wallMs / 1000)),
    mbPerCpuSecond: round(bytes / 1e3 / ((used.user + used.system) / 1000)),
  };
}

/** Blocks computed on the fly, each in a fresh buffer, so a 1 GiB blob needs no 1 GiB of memory. */
class PatternSource implements BlockSource {
  readonly kind = "origin";
  readonly #seed = randomBytes(BLOCK);
  async fetchBlock(request: BlockRequest): Promise<Uint8Array> {
    const block = Buffer.allocUnsafe(request.length);
    this.#seed.copy(block, 0, 0, request.length);
    block.writeUInt32BE(request.index, 0);
    return block;
  }
  async describe(size: number): Promise<BlobDescriptor> {
    const hash = createHash("sha256");
    for (let offset = 0, index = 0; offset < size; offset += BLOCK, index++) {
      const length = Math.min(BLOCK, size - offset);
      hash.update(await this.fetchBlock({ digest: "", blobSize: size, index, offset, length }));
    }
    return { digest: `sha256:${hash.digest("hex")}`, size };
  }
}

export async function benchEngine(): Promise<EngineBenchResult[]> {
  const results: EngineBenchResult[] = [];
  const warmEngine = engine(512 * MiB);
  const source = new MemoryBlockSource({ kind: "origin" });
  const blob = source.add(randomBytes(256 * MiB));
  results.push(
    await timeStream(
      "cold 256 MiB (in-memory source)",
      () => warmEngine.streamBlob(blob, [source]),
      blob.size,
    ),
  );
  if (!warmEngine.isVerified(blob)) throw new Error("the cold stream did not verify the blob");
  for (let run = 1; run <= 3; run++) {
    const fetches = source.fetches;
    results.push(
      await timeStream(`warm 256 MiB #${run}`, () => warmEngine.streamBlob(blob, [source]), blob.size),
    );
    if (source.fetches !== fetches) throw new Error("the warm stream fetched blocks: the cache did not hold");
  }

  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  const cap = 128 * MiB;
  const memoryEngine = engine(cap);
  const pattern = new PatternSource();
  const big = await pattern.describe(1024 * MiB);
  gc();
  const baseline = process.memoryUsage().arrayBuffers;
  let peak = 0;
  const sample = async (chunk: number) => {
    if (chunk % 64 !== 0) return;
    gc();
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    peak = Math.max(peak, process.memoryUsage().arrayBuffers - baseline);
  };
  const memory = await timeStream(
    "1 GiB through 128 MiB cache",
    () => memoryEngine.streamBlob(big, [pattern]),
    big.size,
    sample,
  );
  const bound = cap + (memoryEngine.readaheadBlocks + 2) * BLOCK;
  results.push({ ...memory, peakLiveMiB: round(peak / MiB), boundMiB: round(bound / MiB) });
  if (peak > bound) throw new Error(`live memory ${peak} exceeded the documented bound ${bound}`);
  return results;
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

async function main(): Promise<void> {
  const results = await benchEngine();
  console.table(results);
  const out = join(dirname(fileURLToPath(import.meta.url)), "results", "engine.json");
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, JSON.stringify({ node: process.version, results }, null, 2) + "\n");
  console.log(`wrote ${out}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
