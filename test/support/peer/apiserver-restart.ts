/**
 * Restarts the kube-apiserver of a hack/cluster control plane with exactly the arguments it ran with
 * (read from /proc), keeping etcd and therefore every object: what an apiserver upgrade or crash looks
 * like to a watcher. The new pid goes to the state dir so `hack/cluster down` still stops it.
 */
import { spawn } from "node:child_process";
import { openSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Running, as opposed to gone or a zombie nobody reaps (hack/cluster's processes are orphans). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

async function waitFor(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function apiServerArgv(stateDir: string): { pid: number; argv: string[] } {
  const pid = Number(readFileSync(join(stateDir, "apiserver.pid"), "utf8").trim());
  const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8")
    .split("\0")
    .filter((a) => a !== "");
  return { pid, argv };
}

/**
 * Compacts etcd's history up to its current revision (etcd's JSON gateway), so any watch resuming from
 * an older resourceVersion gets 410 Gone and must relist.
 */
export async function compactEtcd(stateDir: string): Promise<number> {
  const { argv } = apiServerArgv(stateDir);
  const url = argv[argv.indexOf("--etcd-servers") + 1]?.split(",")[0];
  if (url === undefined) throw new Error("no --etcd-servers in the apiserver's arguments");
  const post = async (path: string, body: unknown): Promise<{ header?: { revision?: string } }> => {
    const res = await fetch(`${url}${path}`, { method: "POST", body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`etcd ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as { header?: { revision?: string } };
  };
  const revision = Number(
    (await post("/v3/kv/range", { key: Buffer.from("/").toString("base64") })).header?.revision,
  );
  await post("/v3/kv/compaction", { revision: String(revision), physical: true });
  return revision;
}

/** Stops the apiserver, runs `whileDown`, starts it again and waits until `ready()` says so. */
export async function restartApiServer(
  stateDir: string,
  ready: () => Promise<boolean>,
  whileDown: () => Promise<void> = async () => {},
): Promise<void> {
  const pidFile = join(stateDir, "apiserver.pid");
  const pid = Number(readFileSync(pidFile, "utf8").trim());
  const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8")
    .split("\0")
    .filter((a) => a !== "");
  const [binary, ...args] = argv as [string, ...string[]];
  // A graceful shutdown drains for a long while; a few seconds of it, then the crash case.
  process.kill(pid, "SIGTERM");
  await waitFor(() => !alive(pid), 5_000, "apiserver exit").catch(() => process.kill(pid, "SIGKILL"));
  await waitFor(() => !alive(pid), 10_000, "apiserver exit");
  await whileDown();
  const log = openSync(join(stateDir, "apiserver.log"), "a");
  const child = spawn(binary, args, { detached: true, stdio: ["ignore", log, log] });
  child.unref();
  writeFileSync(pidFile, `${child.pid}\n`);
  await waitFor(() => ready().catch(() => false), 60_000, "apiserver ready after restart");
}
