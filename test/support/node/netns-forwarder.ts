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

/** A host 127.0.0.1 port as the namespace sees it: at `address`:`port` (default 127.0.0.1, the same port). */
export interface ForwardedPort {
  readonly hostPort: number;
  readonly address?: string;
  readonly port?: number;
}

/**
 * Makes each host 127.0.0.1 port in `ports` reachable inside network namespace `netns`: a number at
 * the same port on its 127.0.0.1, a ForwardedPort where it says (its address must be on an interface
 * of the namespace).
 */
export async function forwardPortsInto(
  netns: string,
  ports: readonly (number | ForwardedPort)[],
): Promise<PortForwarding> {
  const dir = makeTempDir("netns-forward");
  const servers: Server[] = [];
  const pairs: string[] = [];
  for (const [i, entry] of ports.entries()) {
    const {
      hostPort,
      address = "127.0.0.1",
      port = hostPort,
    } = typeof entry === "number" ? { hostPort: entry } : entry;
    const socket = join(dir, `${i}.sock`);
    const server = createServer();
    relay(server, () => createConnection({ host: "127.0.0.1", port: hostPort }));
    await new Promise<void>((resolve, reject) => server.once("error", reject).listen(socket, resolve));
    servers.push(server);
    pairs.push(`${address}:${port}=${socket}`);
  }
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
    const [listen, socket] = pair.split("=");
    const colon = listen!.lastIndexOf(":");
    const server = createServer();
    relay(server, () => createConnection({ path: socket! }));
    await new Promise<void>((resolve, reject) =>
      server.once("error", reject).listen(Number(listen!.slice(colon + 1)), listen!.slice(0, colon), resolve),
    );
  }
  process.stdout.write(`forwarding ${pairs.join(" ")}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main(process.argv.slice(2));
