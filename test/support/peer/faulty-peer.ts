/**
 * Peers that misbehave in one specific way, on a loopback address, for the fault matrix of the peer
 * tests: accept and stay silent, cut the body short, or serve wrong bytes.
 */
import { createServer as createHttpServer } from "node:http";
import { createServer as createNetServer } from "node:net";
import type { Server as NetServer, Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { parseBlockPath, type PeerBlockRequest } from "../../../sidecar/peer/peer-protocol.ts";

export type Fault = "silent" | "cut" | "wrong-bytes";

export interface FaultyPeer {
  readonly id: string;
  /** Requests (or connections, for "silent") received. */
  readonly hits: () => number;
  /** The block requests received, parsed (none for "silent"). */
  readonly requests: () => readonly PeerBlockRequest[];
  close(): Promise<void>;
}

function blockLengthOf(url: string): number {
  const u = new URL(url, "http://x");
  const size = Number(u.searchParams.get("size"));
  const bs = Number(u.searchParams.get("bs"));
  const index = Number(u.pathname.split("/").pop());
  return Math.min(bs, size - index * bs);
}

export async function startFaultyPeer(host: string, fault: Fault): Promise<FaultyPeer> {
  let hits = 0;
  const requests: PeerBlockRequest[] = [];
  const sockets = new Set<Socket>();
  let server: NetServer;
  if (fault === "silent") {
    server = createNetServer((socket) => {
      hits++;
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => {});
    });
  } else {
    server = createHttpServer((req, res) => {
      hits++;
      const asked = parseBlockPath(req.url ?? "/");
      if (asked) requests.push(asked);
      const length = blockLengthOf(req.url ?? "/");
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": length });
      if (fault === "cut") {
        res.write(Buffer.alloc(Math.floor(length / 2), 7));
        setTimeout(() => res.socket?.destroy(), 20);
      } else {
        res.end(Buffer.alloc(length, 0x5a));
      }
    });
    server.on("connection", (socket: Socket) => {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
    });
  }
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    id: `${host}:${port}`,
    hits: () => hits,
    requests: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
