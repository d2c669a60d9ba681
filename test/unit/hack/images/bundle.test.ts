/**
 * The image bundles (hack/images/bundle.ts): one file per image that runs on its own, and a sidecar
 * bundle that carries nothing of the controller (every injected pod pulls it).
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  bundle,
  SIDECAR_PACKAGE_ENTRIES,
  UNDICI_HTTP2_CLIENT,
  type Bundle,
} from "../../../../hack/images/bundle.ts";
import { makeTempDir } from "../../../support/origin/child-process.ts";

/** Packages and folders only the controller uses. */
const CONTROLLER_ONLY = [
  /^node_modules\/@kubernetes\//,
  /^node_modules\/@alicloud\//,
  /^node_modules\/@darabonba\//,
  /^node_modules\/express\//,
  /^node_modules\/node-forge\//,
  /^node_modules\/zod\//,
  /^node_modules\/yaml\//,
  /^webhook\//,
];

const ROOT = resolve(fileURLToPath(import.meta.url), "../../../../..");
const requireFromRoot = createRequire(join(ROOT, "package.json"));

/** The names (types left out) that the bundle's own sources import from a package's entry. */
function namesImported(made: Bundle, pkg: string): Set<string> {
  const names = new Set<string>();
  const importFrom = new RegExp(`import\\s*{([^}]*)}\\s*from\\s*"${pkg}"`, "g");
  for (const input of made.inputs.filter((i) => i.endsWith(".ts") && !i.startsWith("node_modules/"))) {
    for (const [, list] of readFileSync(join(ROOT, input), "utf8").matchAll(importFrom)) {
      for (const name of list!.split(",").map((n) => n.trim())) {
        if (name !== "" && !name.startsWith("type ")) names.add(name.split(/\s+as\s+/)[0]!);
      }
    }
  }
  return names;
}

/** Runs a bundle copied alone into an empty directory: no node_modules or sources beside it to fall back on. */
function runAlone(
  made: Bundle,
  args: string[],
  nodeArgs: string[] = [],
): { status: number | null; stdout: string; stderr: string } {
  const dir = makeTempDir("bundle-alone");
  const file = join(dir, `${made.name}.mjs`);
  copyFileSync(made.file, file);
  return spawnSync(process.execPath, [...nodeArgs, file, ...args], {
    cwd: dir,
    encoding: "utf8",
    timeout: 20_000,
  });
}

/** A preload that prints, as the process exits, the builtin modules Node loaded for it. */
function loadedBuiltinsReporter(): string {
  const file = join(makeTempDir("loaded-builtins"), "report.cjs");
  writeFileSync(
    file,
    'process.on("exit", () => process._rawDebug(JSON.stringify(process.moduleLoadList.filter((m) => m.startsWith("NativeModule ")).map((m) => m.slice(13)))));',
  );
  return file;
}

describe("image bundles", function () {
  this.timeout(60_000);
  let sidecar: Bundle;
  let controller: Bundle;

  before(async () => {
    const dir = makeTempDir("bundles");
    sidecar = await bundle("sidecar", dir);
    controller = await bundle("controller", dir);
  });

  it("the sidecar bundle holds the sidecar and none of the controller's packages or code", () => {
    expect(sidecar.inputs).to.include("sidecar/app.ts");
    expect(sidecar.inputs.some((i) => i.startsWith("node_modules/undici/"))).to.equal(true);
    const controllerOnly = sidecar.inputs.filter((i) => CONTROLLER_ONLY.some((re) => re.test(i)));
    expect(controllerOnly).to.deep.equal([]);
  });

  it("the sidecar's own package entries give every name the sidecar imports, as the package's own objects", () => {
    for (const [pkg, entry] of Object.entries(SIDECAR_PACKAGE_ENTRIES)) {
      const names = namesImported(sidecar, pkg);
      expect(names.size, pkg).to.be.greaterThan(0);
      const own = requireFromRoot(join(ROOT, entry)) as Record<string, unknown>;
      const public_ = requireFromRoot(pkg) as Record<string, unknown>;
      for (const name of names) {
        expect(own[name], `${pkg}.${name}`).to.be.a("function");
        expect(own[name], `${pkg}.${name}`).to.equal(public_[name]);
      }
      expect(sidecar.inputs, pkg).to.include(entry);
      expect(sidecar.inputs, pkg).to.not.include(`node_modules/${pkg}/index.js`);
    }
  });

  it("undici's Agent from the sidecar's entry alone has the request API, and its HTTP/2 client refuses", () => {
    // A fresh process: in this one undici's public entry already put the API on the prototype.
    const script =
      `const { Agent } = require(${JSON.stringify(join(ROOT, SIDECAR_PACKAGE_ENTRIES.undici!))});` +
      "const agent = new Agent({ allowH2: false });" +
      "console.log(typeof agent.request, typeof agent.stream);" +
      "console.log(Object.keys(require.cache).filter((f) => f.includes('/undici/index.js')).length);";
    const run = spawnSync(process.execPath, ["-e", script], { cwd: ROOT, encoding: "utf8" });
    expect(run.stderr).to.equal("");
    expect(run.stdout).to.equal("function function\n0\n");
    const stub = requireFromRoot(join(ROOT, UNDICI_HTTP2_CLIENT)) as () => void;
    expect(stub).to.throw(/HTTP\/2 is not in the sidecar bundle/);
  });

  it("the controller bundle holds every subcommand", () => {
    for (const command of ["webhook", "inject", "certgen", "sidecar"]) {
      expect(controller.inputs, command).to.include(
        command === "sidecar" ? "sidecar/cli/sidecar-command.ts" : `webhook/cli/${command}-command.ts`,
      );
    }
  });

  it("the sidecar bundle runs alone and offers the sidecar only", () => {
    const help = runAlone(sidecar, ["sidecar", "--help"]);
    expect(help.stderr).to.equal("");
    expect(help.status).to.equal(0);
    expect(help.stdout).to.match(/^usage: acr-p2p sidecar/);
    // Away from package.json and git, version comes from what the bundle was built with.
    const version = runAlone(sidecar, ["version"]);
    expect(version.status, version.stderr).to.equal(0);
    expect(version.stdout).to.match(/^acr-p2p \d+\.\d+\.\d+\nrevision: [0-9a-f]{40}(-dirty)?\nnode: v24\./);
    const webhook = runAlone(sidecar, ["webhook"]);
    expect(webhook.status).to.equal(2);
    expect(webhook.stderr).to.contain('unknown command "webhook"');
  });

  it("the sidecar bundle takes Node's builtins by require: http's lazy exports (Node's own undici) stay unloaded", () => {
    const run = runAlone(sidecar, ["sidecar", "--help"], ["--require", loadedBuiltinsReporter()]);
    expect(run.status, run.stderr).to.equal(0);
    const loaded = JSON.parse(run.stderr) as string[];
    expect(loaded).to.include("http");
    expect(loaded).to.not.include("internal/deps/undici/undici");
    expect(loaded).to.not.include("internal/crypto/webcrypto");
    // undici's HTTP/2 client and prom-client's Pushgateway stay out (hack/images/sidecar-packages/).
    for (const module of ["http2", "https", "tls", "stream/web"])
      expect(loaded, module).to.not.include(module);
  });

  it("the controller bundle runs alone: every subcommand loads", () => {
    for (const command of ["webhook", "inject", "certgen", "sidecar"]) {
      const help = runAlone(controller, [command, "--help"]);
      expect(help.stderr, command).to.equal("");
      expect(help.status, command).to.equal(0);
      expect(help.stdout, command).to.match(new RegExp(`^usage: acr-p2p ${command}`));
    }
  });
});
