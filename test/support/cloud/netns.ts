/**
 * A network namespace of our own for tests that must serve a fixed address such as the ECS metadata
 * service's 100.100.100.200: the namespace has only its loopback device, with that address added to
 * it, so nothing sent inside can leave the machine (there is no other interface and no route).
 *
 *   createNetns(addresses) -> Netns      needs root and iproute2 (`ip`)
 *   ns.command(cmd, args) -> [cmd, args] the same command run inside the namespace (ip netns exec)
 *   ns.remove()                          deletes the namespace (also at process exit)
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { randomBytes } from "node:crypto";

export interface Netns {
  readonly name: string;
  command(cmd: string, args: readonly string[]): [string, string[]];
  remove(): void;
}

const IP = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip"].find((p) => existsSync(p));
const live = new Set<string>();
let hooked = false;

/** Why a namespace cannot be made here, or undefined when it can. */
export function netnsUnavailableReason(): string | undefined {
  if (!IP) return "iproute2 (ip) is not installed";
  if (process.getuid?.() !== 0) return "creating a network namespace needs root";
  return undefined;
}

function ip(args: string[]): void {
  execFileSync(IP!, args, { stdio: ["ignore", "ignore", "pipe"], timeout: 10_000 });
}

export function createNetns(addresses: readonly string[]): Netns {
  const reason = netnsUnavailableReason();
  if (reason) throw new Error(`cannot create a network namespace: ${reason}`);
  const name = `acrp2p-${process.pid}-${randomBytes(3).toString("hex")}`;
  if (!hooked) {
    hooked = true;
    process.once("exit", () => {
      for (const ns of live) {
        try {
          ip(["netns", "del", ns]);
        } catch {
          // already gone
        }
      }
    });
  }
  ip(["netns", "add", name]);
  live.add(name);
  try {
    ip(["-n", name, "link", "set", "lo", "up"]);
    for (const a of addresses) ip(["-n", name, "addr", "add", `${a}/32`, "dev", "lo"]);
  } catch (err) {
    ip(["netns", "del", name]);
    live.delete(name);
    throw err;
  }
  return {
    name,
    command: (cmd, args) => [IP!, ["netns", "exec", name, cmd, ...args]],
    remove() {
      if (!live.delete(name)) return;
      ip(["netns", "del", name]);
    },
  };
}
