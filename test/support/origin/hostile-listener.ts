/**
 * A TCP listener that only records that something connected: proof that a client was (or was not)
 * pointed at an address it must refuse, e.g. a non-allowlisted realm or redirect target.
 *
 *   startHostileListener({host?, respond?}) -> HostileListener
 *   listener.url / listener.host / listener.port
 *   listener.connections        number of TCP connections accepted so far
 *   listener.remoteAddresses    who connected
 *   listener.close()
 *
 * By default a connection is closed at once. With `respond: true` it answers one HTTP 200 with a
 * token-shaped JSON body, so a client that should have refused cannot fail for an unrelated reason.
 */
import { createServer, type AddressInfo, type Socket } from "node:net";

export interface HostileListener {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly connections: number;
  readonly remoteAddresses: string[];
  close(): Promise<void>;
}

const BAIT = JSON.stringify({ token: "hostile", access_token: "hostile", expires_in: 300 });
const BAIT_RESPONSE =
  "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n" +
  `content-length: ${Buffer.byteLength(BAIT)}\r\nconnection: close\r\n\r\n${BAIT}`;

export async function startHostileListener(
  opts: { host?: string; respond?: boolean } = {},
): Promise<HostileListener> {
  const host = opts.host ?? "127.0.0.1";
  const remoteAddresses: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    remoteAddresses.push(socket.remoteAddress ?? "?");
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    if (!opts.respond) return void socket.destroy();
    socket.once("data", () => socket.end(BAIT_RESPONSE));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    host: `${host}:${port}`,
    port,
    get connections() {
      return remoteAddresses.length;
    },
    remoteAddresses,
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
