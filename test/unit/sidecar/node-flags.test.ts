/**
 * The sidecar image runs node with exactly the V8 flags the test rig and benchmarks use.
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { SIDECAR_NODE_FLAGS } from "../../../sidecar/node-flags.ts";

const DOCKERFILE = new URL("../../../hack/images/sidecar.Dockerfile", import.meta.url);

describe("sidecar node flags", () => {
  it("the sidecar image's ENTRYPOINT passes SIDECAR_NODE_FLAGS to node", () => {
    const line = readFileSync(DOCKERFILE, "utf8")
      .split("\n")
      .find((l) => l.startsWith("ENTRYPOINT "));
    expect(line, "an ENTRYPOINT line").to.be.a("string");
    const entrypoint = JSON.parse(line!.slice("ENTRYPOINT ".length)) as string[];
    expect(entrypoint).to.deep.equal(["node", ...SIDECAR_NODE_FLAGS, "bin/acr-p2p.ts"]);
  });

  it("node starts with them (a mistyped flag makes node exit with 'bad option')", () => {
    const run = spawnSync(process.execPath, [...SIDECAR_NODE_FLAGS, "-e", "0"], { encoding: "utf8" });
    expect(run.stderr).to.equal("");
    expect(run.status).to.equal(0);
  });
});
