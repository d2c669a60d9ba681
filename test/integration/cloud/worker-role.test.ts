/**
 * Worker RAM role: credentials, region and VPC from the ECS metadata service. @alicloud/credentials
 * hard-codes 100.100.100.200, so the whole scenario (emulators and the controller's start-up) runs
 * in a network namespace made for this test, where that address sits on the namespace's own
 * loopback: no packet can leave the machine. Needs root and iproute2.
 */
import { expect } from "chai";
import { join } from "node:path";
import { createNetns, netnsUnavailableReason, type Netns } from "../../support/cloud/netns.ts";
import { runCommand } from "../../support/origin/child-process.ts";

const SCENARIO = join(import.meta.dirname, "../../support/cloud/worker-role-scenario.ts");

interface ScenarioOutput {
  withoutMetadata: {
    exitCode: number;
    result?: { error?: { code: string; parameter?: string; message: string } };
  };
  exitCode: number;
  result?: {
    providerName: string;
    placement: { region: string; vpcId: string };
    hosts: string[];
    readiness: { ready: boolean };
  };
  stderr: string;
  tokenlessStatus: number;
  workerRoleArn: string;
  metadataCalls: { method: string; path: string; status: number }[];
  crCalls: { action: string; ok: boolean; accessKeyId?: string }[];
  stsCalls: unknown[];
  sessionKeys: string[];
}

describe("cloud credentials: worker RAM role through the ECS metadata service", function () {
  this.timeout(60_000);
  let ns: Netns | undefined;

  after(() => ns?.remove());

  it("gets the role's session with the metadata token flow and resolves the instance's hosts", async () => {
    const reason = netnsUnavailableReason();
    if (reason) throw new Error(`this test needs its own network namespace, and ${reason}`);
    ns = createNetns(["100.100.100.200"]);
    const [cmd, args] = ns.command(process.execPath, [SCENARIO]);
    const run = await runCommand(cmd, args, { timeoutMs: 45_000 });
    expect(run.code, run.stdout + run.stderr).to.equal(0);
    const out = JSON.parse(run.stdout.trim().split("\n").pop()!) as ScenarioOutput;
    expect(out.exitCode, out.stderr).to.equal(0);
    expect(out.result?.providerName).to.equal("ecs_ram_role");
    expect(out.result?.placement).to.deep.equal({ region: "cn-test", vpcId: "vpc-acrp2ptest" });
    expect(out.result?.readiness.ready).to.equal(true);
    expect(out.result?.hosts).to.deep.equal([
      "local-registry-vpc.cn-test.cr.aliyuncs.com",
      "local-registry.cn-test.cr.aliyuncs.com",
    ]);
    // The metadata service refused the token-less probe, and every read by the controller had a token.
    expect(out.tokenlessStatus).to.equal(401);
    const controllerCalls = out.metadataCalls.slice(1);
    expect(
      controllerCalls.filter((c) => c.method === "PUT" && c.path === "/latest/api/token").length,
    ).to.be.greaterThan(0);
    expect(
      controllerCalls.every((c) => c.status === 200),
      JSON.stringify(controllerCalls),
    ).to.equal(true);
    expect(controllerCalls.map((c) => c.path)).to.include.members([
      "/latest/meta-data/region-id",
      "/latest/meta-data/vpc-id",
      "/latest/meta-data/ram/security-credentials/",
      "/latest/meta-data/ram/security-credentials/KubernetesWorkerRole-test",
    ]);
    // The CR calls were signed with the worker role's session; no STS exchange was needed.
    expect(out.crCalls.length).to.equal(2);
    expect(out.crCalls.every((c) => c.ok && out.sessionKeys.includes(c.accessKeyId!))).to.equal(true);
    expect(out.stsCalls).to.deep.equal([]);
    // Without the metadata service and with no region configured, start-up fails naming `region`.
    expect(out.withoutMetadata.exitCode).to.equal(1);
    expect(out.withoutMetadata.result?.error?.parameter).to.equal("region");
    expect(out.withoutMetadata.result?.error?.message).to.match(
      /^region \(ACR_P2P_REGION\): not set, and the ECS metadata service/,
    );
  });
});
