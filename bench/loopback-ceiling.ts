/**
 * What this machine's loopback carries at best, as a baseline for the warm sidecar in the same run:
 * this process writes the same bytes as a warm pull (blocks of one cached buffer each, over as many
 * connections as the image has layers) to a child process that reads them into one reused buffer and
 * discards them. No HTTP, no cache, no checks: only the kernel's copies and Node's socket writes,
 * which a warm sidecar pays too.
 */
import { spawn } from "node:child_process";
import { createServer, type Socket } from "node:net";
import type { AddressInfo } from "node:net";

/** The receiver: connects `count` times, reads `bytesEach` bytes on each into one buffer, then exits. */
const RECEIVER = `
const net = require("node:net");
const [port, count, bytesEach] = process.argv.slice(1).map(Number);
const buffer = Buffer.allocUnsafe(64 * 1024);
for (let i = 0; i < count; i++) {
  let got = 0;
  const socket = net.connect({
    port,
    host: "127.0.0.1",
    onread: { buffer, callback: (n) => { got += n; if (got >= bytesEach) socket.destroy(); return true; } },
  });
}
`;

export interface LoopbackOptions {
  readonly bytes: number;
  readonly blockBytes: number;
  readonly connections: number;
}

/** One transfer of `bytes` over `connections` loopback connections; resolves with its MB/s. */
export async function loopbackMBps(opts: LoopbackOptions): Promise<number> {
  const bytesEach = Math.ceil(opts.bytes / opts.connections / opts.blockBytes) * opts.blockBytes;
  const blocks = Array.from({ length: bytesEach / opts.blockBytes }, () => Buffer.alloc(opts.blockBytes, 7));
  const closed: Promise<void>[] = [];
  const connected = Promise.withResolvers<"connected">();
  let started = 0;
  const server = createServer((socket: Socket) => {
    started ||= performance.now();
    closed.push(new Promise((resolve) => socket.once("close", () => resolve())));
    if (closed.length === opts.connections) connected.resolve("connected");
    socket.on("error", () => undefined); // the receiver closes once it has every byte
    let next = 0;
    const pump = () => {
      while (next < blocks.length)
        if (!socket.write(blocks[next++] as Buffer)) return void socket.once("drain", pump);
    };
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const args = ["-e", RECEIVER, String(port), String(opts.connections), String(bytesEach)];
  const receiver = spawn(process.execPath, args, { stdio: "ignore" });
  const exited = new Promise<number | null>((resolve) => receiver.once("exit", resolve));
  try {
    const first = await Promise.race([connected.promise, exited]);
    if (first !== "connected")
      throw new Error(`loopback receiver exited (${String(first)}) before connecting`);
    await Promise.all(closed);
    const seconds = (performance.now() - started) / 1000;
    // It exits 0 only once every connection got all its bytes (a crash also closes the connections).
    const code = await exited;
    if (code !== 0) throw new Error(`loopback receiver exited (${String(code)}) before reading every byte`);
    return Math.round((bytesEach * opts.connections) / 1e6 / seconds);
  } finally {
    receiver.kill();
    await exited;
    server.close();
  }
}
