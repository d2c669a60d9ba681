import { expect } from "chai";
import { join } from "node:path";
import { SIDECAR_OPTIONS } from "../../../contract/sidecar-options.ts";
import { runCommand } from "../../support/origin/child-process.ts";

const CLI = join(new URL("../../../", import.meta.url).pathname, "bin/acr-p2p.ts");

describe("acr-p2p sidecar CLI", function () {
  this.timeout(60_000);

  it("--help documents every option with its env variable and default", async () => {
    const res = await runCommand(process.execPath, [CLI, "sidecar", "--help"]);
    expect(res.code, res.stderr).to.equal(0);
    for (const spec of SIDECAR_OPTIONS) {
      expect(res.stdout).to.contain(spec.flag).and.contain(spec.env);
      if (spec.default !== undefined) expect(res.stdout).to.contain(`default: ${spec.default}`);
    }
  });

  it("exits 2 with a message naming the option for a bad value", async () => {
    const res = await runCommand(
      process.execPath,
      [CLI, "sidecar", "--upstream-host", "r.example.com", "--blocksize", "100"],
      {
        env: { ...process.env, ACR_P2P_UPSTREAM_HOSTS: "" },
      },
    );
    expect(res.code).to.equal(2);
    expect(res.stderr).to.contain("blocksize").and.contain("power of two");
    const env = await runCommand(process.execPath, [CLI, "sidecar"], {
      env: { ...process.env, ACR_P2P_UPSTREAM_HOSTS: "r.example.com", ACR_P2P_TRANSFER_TIMEOUT: "never" },
    });
    expect(env.code).to.equal(2);
    expect(env.stderr).to.contain("transferTimeout").and.contain("ACR_P2P_TRANSFER_TIMEOUT");
  });
});
