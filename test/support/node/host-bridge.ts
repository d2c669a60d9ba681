/**
 * What the node tier's network (node-network.ts) and the bandwidth benchmark's (peer/shaped-network.ts)
 * share: a bridge on the host with the first address of a private /24 nothing else on this machine uses,
 * and the namespaces and veths hung off it, all removed together, also when the process exits. Nothing
 * routes beyond the /24: no default route, no masquerade, no DNS.
 *
 *   const bridge = createHostBridge("ap2pbr123a", ["10.213.", "10.214."]);
 *   bridge.subnet, bridge.hostIp            X of 10.213.X.0/24, and 10.213.X.1 on the bridge
 *   bridge.addNamespace(ns, hostEnd, ip)    namespace `ns` with eth0 at `ip`/24, its veth's host end on
 *                                           the bridge; loopback up
 *   bridge.remove()                         namespaces, veths, the bridge (idempotent)
 */
import { spawnSync } from "node:child_process";
import { atExit } from "./at-exit.ts";

/** Runs `ip` (or another network command); throws with its stderr unless `allowFail`. */
export function run(cmd: string, args: string[], allowFail = false): string {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.status !== 0 && !allowFail)
    throw new Error(`${cmd} ${args.join(" ")}: ${r.stderr.trim() || r.error?.message}`);
  return r.stdout;
}

export interface HostBridge {
  readonly name: string;
  readonly subnet: number;
  readonly hostIp: string;
  addNamespace(namespace: string, hostEnd: string, ip: string): void;
  remove(): void;
}

/**
 * A bridge at `${prefixes[0]}X.1/24`, X chosen so that no interface or route of this machine uses any
 * of `${prefix}X.` (the other prefixes are /24s the caller routes itself, e.g. pod subnets).
 */
export function createHostBridge(name: string, prefixes: readonly string[]): HostBridge {
  const used = run("ip", ["-4", "-o", "addr", "show"]) + run("ip", ["-4", "route", "show"]);
  let subnet = -1;
  for (let i = 0; i < 250 && subnet < 0; i++) {
    const x = (process.pid + i) % 250;
    if (prefixes.every((p) => !used.includes(`${p}${x}.`))) subnet = x;
  }
  if (subnet < 0) throw new Error(`no free /24 for ${prefixes.map((p) => `${p}X.0/24`).join(" and ")}`);
  const hostIp = `${prefixes[0]}${subnet}.1`;
  const namespaces: string[] = [];
  const veths: string[] = [];
  run("ip", ["link", "add", name, "type", "bridge"]);
  let removed = false;
  const remove = (): void => {
    if (removed) return;
    removed = true;
    unregister();
    for (const ns of namespaces) run("ip", ["netns", "del", ns], true);
    for (const veth of veths) run("ip", ["link", "del", veth], true);
    run("ip", ["link", "del", name], true);
  };
  const unregister = atExit(remove);
  try {
    run("ip", ["addr", "add", `${hostIp}/24`, "dev", name]);
    run("ip", ["link", "set", name, "up"]);
  } catch (err) {
    remove();
    throw err;
  }
  return {
    name,
    subnet,
    hostIp,
    addNamespace(namespace: string, hostEnd: string, ip: string): void {
      run("ip", ["netns", "add", namespace]);
      namespaces.push(namespace);
      run("ip", ["link", "add", hostEnd, "type", "veth", "peer", "name", "eth0", "netns", namespace]);
      veths.push(hostEnd);
      run("ip", ["link", "set", hostEnd, "master", name, "up"]);
      run("ip", ["-n", namespace, "addr", "add", `${ip}/24`, "dev", "eth0"]);
      run("ip", ["-n", namespace, "link", "set", "eth0", "up"]);
      run("ip", ["-n", namespace, "link", "set", "lo", "up"]);
    },
    remove,
  };
}
