/**
 * The CLI's entry points as a shell runs them: `version`, `--help` on stdout with exit 0, usage errors on
 * stderr with exit 2.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { expect } from "chai";

const ROOT = new URL("../../../", import.meta.url);
const VERSION = (JSON.parse(readFileSync(new URL("package.json", ROOT), "utf8")) as { version: string })
  .version;

function run(entry: string, args: string[]) {
  const r = spawnSync(process.execPath, [entry, ...args], { cwd: ROOT, encoding: "utf8", timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("build info", () => {
  it("both processes export acr_p2p_build_info with what `version` prints", async () => {
    const { SidecarMetrics } = await import("../../../sidecar/metrics/sidecar-metrics.ts");
    const { WebhookMetrics } = await import("../../../webhook/metrics/webhook-metrics.ts");
    const head = spawnSync("git", ["rev-parse", "HEAD"], { cwd: ROOT, encoding: "utf8" }).stdout.trim();
    const labels = `version="${VERSION}",revision="${head}",node="${process.version}"`;
    const sidecar = await new SidecarMetrics({ processMetrics: false }).registry.metrics();
    const controller = await new WebhookMetrics().registry.metrics();
    expect(sidecar).to.include(`acr_p2p_build_info{component="sidecar",${labels}} 1`);
    expect(controller).to.include(`acr_p2p_build_info{component="controller",${labels}} 1`);
  });
});

describe("acr-p2p CLI entry points", function () {
  this.timeout(30_000);

  for (const entry of ["bin/acr-p2p.ts", "bin/acr-p2p-sidecar.ts"]) {
    it(`${entry}: version prints the package version, the git revision and Node's`, () => {
      const r = run(entry, ["version"]);
      expect(r.code, r.stderr).to.equal(0);
      const head = spawnSync("git", ["rev-parse", "HEAD"], { cwd: ROOT, encoding: "utf8" }).stdout.trim();
      expect(r.stdout).to.equal(`acr-p2p ${VERSION}\nrevision: ${head}\nnode: ${process.version}\n`);
      expect(run(entry, ["--version"]).stdout).to.equal(r.stdout);
    });
  }

  it("--help goes to stdout with exit 0; no command is a usage error on stderr with exit 2", () => {
    const help = run("bin/acr-p2p.ts", ["--help"]);
    expect(help.code).to.equal(0);
    expect(help.stdout)
      .to.match(/^usage: acr-p2p <command>/)
      .and.include("version");
    expect(help.stderr).to.equal("");
    const none = run("bin/acr-p2p.ts", []);
    expect(none.code).to.equal(2);
    expect(none.stdout).to.equal("");
    expect(none.stderr).to.match(/^usage: acr-p2p <command>/);
    const unknown = run("bin/acr-p2p.ts", ["inejct"]);
    expect(unknown.code).to.equal(2);
    expect(unknown.stdout).to.equal("");
    expect(unknown.stderr).to.include('unknown command "inejct"');
    const extra = run("bin/acr-p2p.ts", ["version", "now"]);
    expect(extra.code).to.equal(2);
    expect(extra.stderr).to.include("takes no arguments");
  });
});
