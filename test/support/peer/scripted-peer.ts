/**
 * A raw TCP peer that answers HTTP requests byte for byte as a test scripts it (heads split anywhere,
 * lies about lengths, silence, closes), on loopback.
 */
import { createServer } from "node:net";
import type { AddressInfo, Server, Socket } from "node:net";

/** What a scripted peer does with the n-th request (0-based) it reads on a connection. */
export type Script = (socket: Socket, request: string, n: number) => void;

export interface ScriptedPeer {
  readonly id: string;
  /** Connections accepted so far. */
  connections: number;
  close(): Promise<void>;
}

/** `host` "::1" listens on IPv6 loopback; the id is then `[::1]:port`, as a directory would list it. */
export async function startScriptedPeer(script: Script, host = "127.0.0.1"): Promise<ScriptedPeer> {
  const sockets = new Set<Socket>();
  const peer = { id: "", connections: 0, close: async () => {} };
  const server: Server = createServer((socket) => {
    peer.connections++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let pending = "";
    let n = 0;
    socket.on("data", (chunk: Buffer) => {
      pending += chunk.toString("latin1");
      let end: number;
      while ((end = pending.indexOf("\r\n\r\n")) >= 0) {
        const request = pending.slice(0, end);
        pending = pending.slice(end + 4);
        script(socket, request, n++);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as AddressInfo).port;
  peer.id = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
  peer.close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return peer;
}
