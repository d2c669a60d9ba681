/**
 * `npm run demo` as a newcomer runs it, at a size CI affords: the P2P run has the origin send the image
 * about once, the direct run once per pod; Ctrl-C in the middle of the pulls leaves nothing behind.
 */
import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { DemoReport } from "../../../demo/report.ts";
import { makeTempDir, waitUntil } from "../../support/origin/child-process.ts";

const DEMO = fileURLToPath(new URL("../../../demo/run.ts", import.meta.url));

interface Run {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<number | null>;
}

const emptyDirs: string[] = [];

/** An empty directory for the demo's TMPDIR (the rig's own temp dirs carry an owner file). */
function emptyDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "acr-p2p-demo-tmpdir-"));
  emptyDirs.push(dir);
  return dir;
}

/** The demo with a TMPDIR of its own, so what it leaves there is visible. */
function startDemo(args: string[], tmp: string): Run {
  let output = "";
  const child = spawn(process.execPath, [DEMO, ...args], {
    env: { ...process.env, TMPDIR: tmp },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.on("data", (b: Buffer) => (output += b.toString()));
  child.stderr!.on("data", (b: Buffer) => (output += b.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code, signal) => resolve(code ?? (signal ? 128 : null))),
  );
  return { child, output: () => output, exited };
}

/** Every process below `pid`, from /proc. */
function descendants(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      parents.set(Number(name), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // gone meanwhile
    }
  }
  const found: number[] = [];
  const walk = (p: number) => {
    for (const [child, parent] of parents) {
      if (parent === p) {
        found.push(child);
        walk(child);
      }
    }
  };
  walk(pid);
  return found;
}

function running(pid: number): boolean {
  try {
    const state = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.[0];
    return state !== "Z";
  } catch {
    return false;
  }
}

describe("npm run demo", function () {
  this.timeout(300_000);
  after(() => {
    for (const dir of emptyDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it("3 pods, 48 MiB, no rate limit: the origin sends the image about once through the sidecars and 3x directly", async () => {
    const tmp = emptyDir();
    const out = makeTempDir("demo-out");
    const run = startDemo(["--pods", "3", "--size", "48MiB", "--origin-rate", "0", "--out", out], tmp);
    expect(await run.exited, run.output()).to.equal(0);
    const report = JSON.parse(readFileSync(join(out, "demo.json"), "utf8")) as DemoReport;
    expect(report.p2p.pods).to.have.lengthOf(3);
    expect(report.p2p.originSentBytes / report.imageBytes).to.be.at.most(1.1);
    expect(report.direct.originSentBytes / report.imageBytes).to.be.within(2.9, 3.1);
    // Every pod's download adds up to the image: from the origin, its peers and its cache.
    for (const pod of report.p2p.pods) {
      expect(pod.originBytes + pod.peerBytes + pod.cacheBytes, pod.name).to.equal(report.imageBytes);
      expect(pod.peerBytes, `${pod.name} got blocks from its peers`).to.be.above(0);
    }
    // The table says it too.
    const ratios = [...run.output().matchAll(/\((\d+\.\d+)x the image\)/g)].map((m) => Number(m[1]));
    expect(ratios).to.have.lengthOf(2);
    expect(ratios[0]).to.be.at.most(1.1);
    expect(ratios[1]).to.be.within(2.9, 3.1);
    expect(readFileSync(join(out, "demo.svg"), "utf8")).to.match(/^<svg [^>]*>[\s\S]*<\/svg>\n$/);
    expect(readdirSync(tmp)).to.deep.equal([]);
  });

  it("Ctrl-C during the pulls stops every process it started and removes its temp dirs", async () => {
    const tmp = emptyDir();
    const out = makeTempDir("demo-out");
    // A rate limit long enough to be in the middle of the pulls when the signal comes.
    const run = startDemo(["--pods", "3", "--size", "96MiB", "--origin-rate", "10MB/s", "--out", out], tmp);
    await waitUntil(
      async () => {
        if (run.child.exitCode !== null) throw new Error(`demo exited early: ${run.output()}`);
        return /pod-\d +\[/.test(run.output());
      },
      120_000,
      () => `no pull progress: ${run.output()}`,
    );
    const started = descendants(run.child.pid!);
    // The registry, three sidecars and three skopeo pulls at least.
    expect(started.length, run.output()).to.be.at.least(7);
    expect(readdirSync(tmp).length).to.be.above(0);
    run.child.kill("SIGINT");
    expect(await run.exited, run.output()).to.equal(130);
    await waitUntil(
      async () => started.every((pid) => !running(pid)),
      10_000,
      () => `still running: ${started.filter(running).join(", ")}`,
    );
    expect(readdirSync(tmp), "left in TMPDIR").to.deep.equal([]);
    expect(existsSync(join(out, "demo.json")), "no report from an interrupted demo").to.equal(false);
  });
});
