/**
 * A group of real sidecar processes (`node bin/acr-p2p.ts sidecar`), one per loopback address
 * (127.0.0.2, .3, ...), sharing a static peer list and a ticket key, in front of one rig origin. Each
 * listens on its own address with the same three ports (registry front, peer, health), as pods would.
 */
import { writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { generateTicketKey, ticketKeyToPem } from "../../../contract/peer-ticket.ts";
import { encodeHostForPath } from "../../../contract/registry-host.ts";
import { SIDECAR_ENV, SIDECAR_NODE_FLAGS } from "../../../sidecar/node-flags.ts";
import { cpuSecondsOf, cpuTimesOf, memoryBytesOf } from "../process-stats.ts";
import type { CpuTimes } from "../process-stats.ts";
import { makeTempDir, spawnManaged, waitUntil, type ManagedProcess } from "../origin/child-process.ts";
import type { Origin } from "../origin/origin-stack.ts";

const ROOT = new URL("../../../", import.meta.url).pathname;

export interface GroupSidecar {
  readonly ip: string;
  readonly peerId: string;
  readonly frontUrl: string;
  readonly healthUrl: string;
  readonly process: ManagedProcess;
  cpuSeconds(): number;
  /** CPU time in the sidecar's own code and in the kernel for it (socket copies, mostly). */
  cpuTimes(): CpuTimes;
  /** Peak resident set size so far (VmHWM), MiB. */
  peakRssMiB(): number;
  metrics(): Promise<string>;
}

export interface P2PGroup {
  readonly sidecars: readonly GroupSidecar[];
  readonly apiPrefix: string;
  readonly keyFile: string;
  readonly ports: { front: number; peer: number; health: number };
  stop(): Promise<void>;
}

export interface GroupOptions {
  readonly size: number;
  /** Last octet of the first sidecar's address (default 2: 127.0.0.2). */
  readonly firstOctet?: number;
  /** More peers in the static list (e.g. faulty ones), as ip:port. */
  readonly extraPeers?: readonly string[];
  readonly args?: readonly string[];
  /** Peer sharing off: each sidecar pulls straight from the origin (the direct baseline). */
  readonly noPeers?: boolean;
  /**
   * One network namespace per sidecar (shaped-network.ts), instead of loopback addresses: each runs
   * there (`ip netns exec`) on the namespace's address, and `size` is the number of namespaces.
   */
  readonly namespaces?: readonly { readonly name: string; readonly ip: string }[];
  /**
   * The script the sidecars run: default the TypeScript sources (bin/acr-p2p.ts); benchmarks pass the
   * sidecar image's bundle (hack/images/bundle.ts), so that they measure what ships.
   */
  readonly entry?: string;
}

/** Ports in a group of fresh namespaces: nothing else listens there. */
const NAMESPACE_PORTS = { front: 5000, peer: 65002, health: 9090 };

async function portFreeOn(ip: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, ip, () => s.close(() => resolve(true)));
  });
}

/** One port number free on every address (outside the ephemeral range, so nothing takes it meanwhile). */
async function commonPort(ips: readonly string[], taken: Set<number>): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (taken.has(port)) continue;
    const free = await Promise.all(ips.map((ip) => portFreeOn(ip, port)));
    if (free.every(Boolean)) {
      taken.add(port);
      return port;
    }
  }
  throw new Error("no common free port");
}

/**
 * Node.js flags for every sidecar beyond the shipped ones (SIDECAR_NODE_FLAGS), e.g.
 * `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile a benchmark (NODE_OPTIONS refuses --cpu-prof).
 */
const nodeArgs = (process.env.ACR_P2P_SIDECAR_NODE_ARGS ?? "").split(" ").filter(Boolean);

/**
 * A sample's value from a sidecar's Prometheus text, 0 when absent (a labelled counter appears only
 * once counted): sampleOrZero(text, "acr_p2p_peer_failures_total", '{code="DIGEST_MISMATCH"}').
 */
export function sampleOrZero(text: string, name: string, labels = ""): number {
  const line = text.split("\n").find((l) => l.startsWith(`${name}${labels} `));
  return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : 0;
}

export async function startP2PGroup(origin: Origin, opts: GroupOptions): Promise<P2PGroup> {
  const first = opts.firstOctet ?? 2;
  const ips = opts.namespaces
    ? opts.namespaces.map((ns) => ns.ip)
    : Array.from({ length: opts.size }, (_, i) => `127.0.0.${first + i}`);
  const taken = new Set<number>();
  const ports = opts.namespaces
    ? NAMESPACE_PORTS
    : {
        front: await commonPort(ips, taken),
        peer: await commonPort(ips, taken),
        health: await commonPort(ips, taken),
      };
  const dir = makeTempDir("p2p-group");
  const keyFile = join(dir, "ticket-key.pem");
  writeFileSync(keyFile, ticketKeyToPem(generateTicketKey()), { mode: 0o600 });
  const peerList = [...ips.map((ip) => `${ip}:${ports.peer}`), ...(opts.extraPeers ?? [])].join(",");
  const common = [
    "--upstream-host",
    origin.proxy.host,
    "--plain-http-upstream",
    origin.proxy.host,
    ...(origin.tokenServer ? ["--allow-host", new URL(origin.tokenServer.realm).host] : []),
    "--port",
    String(ports.front),
    "--peer-port",
    String(ports.peer),
    "--health-port",
    String(ports.health),
    "--log-level",
    "warn",
    ...(opts.noPeers
      ? ["--peer-sharing", "false"]
      : ["--peer", peerList, "--static-peer-key-file", keyFile, "--group", "p2p-test"]),
    ...(opts.args ?? []),
  ];
  const sidecars: GroupSidecar[] = [];
  const stop = async () => {
    await Promise.all(sidecars.map((s) => s.process.stop()));
  };
  try {
    for (const [i, ip] of ips.entries()) {
      const args = [
        ...SIDECAR_NODE_FLAGS,
        ...nodeArgs,
        opts.entry ?? join(ROOT, "bin/acr-p2p.ts"),
        "sidecar",
        ...common,
        "--listen-host",
        ip,
        "--pod-ip",
        ip,
      ];
      const ns = opts.namespaces?.[i]?.name;
      const [cmd, cmdArgs] = ns
        ? ["ip", ["netns", "exec", ns, process.execPath, ...args]]
        : [process.execPath, args];
      const proc = spawnManaged(cmd, cmdArgs, {
        logPath: join(dir, `sidecar-${ip}.log`),
        env: { ...process.env, ...SIDECAR_ENV },
      });
      const healthUrl = `http://${ip}:${ports.health}`;
      sidecars.push({
        ip,
        peerId: `${ip}:${ports.peer}`,
        frontUrl: `http://${ip}:${ports.front}`,
        healthUrl,
        process: proc,
        cpuSeconds: () => cpuSecondsOf(proc.child.pid ?? 0),
        cpuTimes: () => cpuTimesOf(proc.child.pid ?? 0),
        peakRssMiB: () => memoryBytesOf(proc.child.pid ?? 0, "VmHWM") / 2 ** 20,
        metrics: async () => (await fetch(`${healthUrl}/metrics`)).text(),
      });
    }
    for (const s of sidecars) {
      await waitUntil(
        async () => {
          if (!s.process.running) throw new Error(`sidecar ${s.ip} exited: ${s.process.logTail()}`);
          try {
            const res = await fetch(`${s.healthUrl}/readyz`, { signal: AbortSignal.timeout(1000) });
            await res.body?.cancel();
            return res.status === 200;
          } catch {
            return false;
          }
        },
        30_000,
        () => `sidecar ${s.ip} not ready: ${s.process.logTail()}`,
      );
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { sidecars, apiPrefix: `/v2/${encodeHostForPath(origin.proxy.host)}`, keyFile, ports, stop };
}
