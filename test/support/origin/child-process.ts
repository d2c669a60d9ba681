/**
 * Child processes and temp dirs for the test rigs, with cleanup that survives test failures.
 *
 *   spawnManaged(cmd, args, {logPath, env}) -> ManagedProcess   long-running daemons (registry, containerd)
 *   runCommand(cmd, args, {timeoutMs, env}) -> CommandResult    short commands (ctr, skopeo), time-bounded
 *   makeTempDir(prefix) -> string                                removed at process exit if still present
 *   freePort(host) -> number                                     a port that was free a moment ago
 *
 * Daemons are started under `setpriv --pdeathsig KILL` so the kernel kills them if the test process dies
 * (even by SIGKILL, where no exit hook runs); an exit hook also kills what is still alive. Temp dirs
 * carry an owner-pid file; dirs left by a test process that was SIGKILLed are swept on the next run.
 */
import { spawn, type ChildProcess } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface CommandResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  durationMs: number;
  timedOut: boolean;
}

const live = new Set<ChildProcess>();
const tempDirs = new Set<string>();
let hooked = false;

const OWNER_FILE = ".acr-p2p-rig-owner-pid";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Removes rig temp dirs whose owning process is gone (only dirs this module created). */
function sweepStaleDirs(): void {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith("acr-p2p-")) continue;
    const owner = join(tmpdir(), name, OWNER_FILE);
    if (!existsSync(owner)) continue;
    const pid = Number(safeRead(owner));
    if (pid > 0 && !alive(pid)) rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
}

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  sweepStaleDirs();
  process.once("exit", () => {
    for (const child of live) child.kill("SIGKILL");
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  });
}

const pdeathsig = existsSync("/usr/bin/setpriv");

/** Wraps a command so the kernel kills it when this process dies. */
function wrap(cmd: string, args: string[]): [string, string[]] {
  return pdeathsig ? ["/usr/bin/setpriv", ["--pdeathsig", "KILL", "--", cmd, ...args]] : [cmd, args];
}

export function makeTempDir(prefix: string): string {
  hookExit();
  const dir = mkdtempSync(join(tmpdir(), `acr-p2p-${prefix}-`));
  writeFileSync(join(dir, OWNER_FILE), String(process.pid));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

export async function freePort(host = "127.0.0.1"): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, resolve);
  });
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

export class ManagedProcess {
  readonly child: ChildProcess;
  readonly logPath: string;
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  exitCode: number | null | undefined = undefined;

  constructor(cmd: string, args: string[], logPath: string, env?: NodeJS.ProcessEnv) {
    hookExit();
    this.logPath = logPath;
    const fd = openSync(logPath, "a");
    const [c, a] = wrap(cmd, args);
    this.child = spawn(c, a, { stdio: ["ignore", fd, fd], env: env ?? process.env });
    closeSync(fd);
    live.add(this.child);
    this.exited = new Promise((resolve) => {
      this.child.once("exit", (code, signal) => {
        live.delete(this.child);
        this.exitCode = code;
        resolve({ code, signal });
      });
    });
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** The last `bytes` of the process's combined stdout/stderr: for error messages. */
  logTail(bytes = 4000): string {
    const text = existsSync(this.logPath) ? readFileSync(this.logPath, "utf8") : "";
    return text.slice(-bytes);
  }

  /** SIGTERM, then SIGKILL after `graceMs`. Resolves once the process is gone. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.running) return;
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

export function spawnManaged(
  cmd: string,
  args: string[],
  opts: { logPath: string; env?: NodeJS.ProcessEnv },
): ManagedProcess {
  return new ManagedProcess(cmd, args, opts.logPath, opts.env);
}

/** Runs a command to completion, killing it after `timeoutMs`. Never throws for a non-zero exit. */
export function runCommand(
  cmd: string,
  args: string[],
  opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<CommandResult> {
  hookExit();
  const started = performance.now();
  const [c, a] = wrap(cmd, args);
  const child = spawn(c, a, { stdio: ["ignore", "pipe", "pipe"], env: opts.env ?? process.env });
  live.add(child);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on("data", (b: Buffer) => out.push(b));
  child.stderr.on("data", (b: Buffer) => err.push(b));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, opts.timeoutMs ?? 60_000);
  return new Promise((resolve, reject) => {
    child.once("error", (e) => {
      clearTimeout(timer);
      live.delete(child);
      reject(e);
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      live.delete(child);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
        durationMs: performance.now() - started,
        timedOut,
      });
    });
  });
}

/** Waits until `probe` returns true, polling every `intervalMs`; throws `describe()` on timeout. */
export async function waitUntil(
  probe: () => Promise<boolean>,
  timeoutMs: number,
  describe: () => string,
  intervalMs = 50,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms: ${describe()}`);
}

/** The Debian packages are installed in the background at machine start: wait for that to finish. */
export async function waitForSystemPackages(binary: string, timeoutMs = 600_000): Promise<void> {
  if (existsSync(binary)) return;
  await waitUntil(
    async () => existsSync(binary) && /done\s*$/.test(safeRead("/tmp/apt.log")),
    timeoutMs,
    () => `${binary} not installed (run hack/registry-deps.sh)`,
    1000,
  );
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}
