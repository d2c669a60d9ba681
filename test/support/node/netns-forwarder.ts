/**
 * Host services (API server, origin registry, token server) as a virtual node sees them: on its own
 * 127.0.0.1, at the same port numbers, so a URL means the same thing on the host and on the node.
 * Unix sockets are not bound to a network namespace, so they carry the bytes across: this process
 * runs inside the node's namespace (`ip netns exec NS node netns-forwarder.ts PORT=SOCKET...`) and
 * forwards each TCP connection to a socket the host side (forwardPortsInto) serves.
 */
import { createConnection, createServer, type Server } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  makeTempDir,
  removeTempDir,
  spawnManaged,
  waitUntil,
  type ManagedProcess,
} from "../origin/child-process.ts";

/** Pipes every connection to `server` into a new connection made by `connect`, both ways. */
function relay(server: Server, connect: () => ReturnType<typeof createConnection>): void {
  server.on("connection", (inbound) => {
    const outbound = connect();
    inbound.pipe(outbound).pipe(inbound);
    const close = () => {
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on("error", close).on("close", close);
    outbound.on("error", close).on("close", close);
  });
}

export interface PortForwarding {
  readonly process: ManagedProcess;
  stop(): Promise<void>;
}

/** Makes each host 127.0.0.1 port in `ports` reachable at the same port inside network namespace `netns`. */
export async function forwardPortsInto(netns: string, ports: readonly number[]): Promise<PortForwarding> {
  const dir = makeTempDir("netns-forward");
  const servers: Server[] = [];
  for (const port of ports) {
    const socket = join(dir, `${port}.sock`);
    const server = createServer();
    relay(server, () => createConnection({ host: "127.0.0.1", port }));
    await new Promise<void>((resolve, reject) => server.once("error", reject).listen(socket, resolve));
    servers.push(server);
  }
  const pairs = ports.map((port) => `${port}=${join(dir, `${port}.sock`)}`);
  const proc = spawnManaged(
    "ip",
    ["netns", "exec", netns, process.execPath, fileURLToPath(import.meta.url), ...pairs],
    {
      logPath: join(dir, "forwarder.log"),
    },
  );
  await waitUntil(
    async () => {
      if (!proc.running) throw new Error(`port forwarder into ${netns} exited: ${proc.logTail()}`);
      return proc.logTail().includes("forwarding");
    },
    10_000,
    () => `port forwarder into ${netns} not ready: ${proc.logTail()}`,
  );
  return {
    process: proc,
    async stop() {
      await proc.stop();
      for (const server of servers) server.close();
      removeTempDir(dir);
    },
  };
}

async function main(pairs: string[]): Promise<void> {
  for (const pair of pairs) {
    const [port, socket] = pair.split("=");
    const server = createServer();
    relay(server, () => createConnection({ path: socket! }));
    await new Promise<void>((resolve, reject) =>
      server.once("error", reject).listen(Number(port), "127.0.0.1", resolve),
    );
  }
  process.stdout.write(`forwarding ${pairs.join(" ")}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main(process.argv.slice(2));
