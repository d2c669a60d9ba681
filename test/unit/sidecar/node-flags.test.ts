/**
 * The sidecar image runs node with exactly the V8 flags the test rig and benchmarks use, as the user
 * the injected container's securityContext names.
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { IMAGES } from "../../../hack/images/build-images.ts";
import { NONROOT_UID } from "../../../hack/images/debian-base.ts";
import { SIDECAR_ENV, SIDECAR_NODE_FLAGS } from "../../../sidecar/node-flags.ts";
import { SIDECAR_UID } from "../../../webhook/mutation/sidecar-container.ts";

describe("sidecar node flags and user", () => {
  it("the sidecar image's entrypoint passes SIDECAR_NODE_FLAGS to node", () => {
    expect(IMAGES.sidecar.entrypoint).to.deep.equal([
      "/usr/local/bin/node",
      ...SIDECAR_NODE_FLAGS,
      "/app/sidecar.mjs",
    ]);
  });

  it("the sidecar image sets SIDECAR_ENV, the controller image does not", () => {
    expect(IMAGES.sidecar.env).to.deep.equal(SIDECAR_ENV);
    expect(IMAGES.controller.env).to.deep.equal({});
  });

  it("node starts with them (a mistyped flag makes node exit with 'bad option')", () => {
    const run = spawnSync(process.execPath, [...SIDECAR_NODE_FLAGS, "-e", "0"], { encoding: "utf8" });
    expect(run.stderr).to.equal("");
    expect(run.status).to.equal(0);
  });

  it("the injected sidecar runs as the images' non-root user", () => {
    expect(SIDECAR_UID).to.equal(NONROOT_UID);
  });
});
