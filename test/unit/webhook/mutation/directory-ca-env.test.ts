/**
 * The directory CA given to each admission (MutationDecisions.directoryCA, from the controller's
 * current serving CA) becomes the sidecar's ACR_P2P_DIRECTORY_CA, but only when the sidecar is told a
 * directory (ACR_P2P_DIRECTORY_URL): without one there is nothing to verify with it.
 */
import { expect } from "chai";
import { admitPod } from "../../../../webhook/admission/admit-pod.ts";
import type { InjectionPlan } from "../../../../webhook/mutation/decide.ts";
import { checkPod } from "../../../../webhook/mutation/pod.ts";
import { sidecarEnv, type EnvVar } from "../../../../webhook/mutation/sidecar-container.ts";
import { pod, testConfig, testDeps } from "../webhook-fixtures.ts";

const CA = "-----BEGIN CERTIFICATE-----\nMIIBnew\n-----END CERTIFICATE-----\n";
const CONFIGURED_CA = "-----BEGIN CERTIFICATE-----\nMIIBconfigured\n-----END CERTIFICATE-----\n";
const WITH_DIRECTORY = ["--sidecar-directory-url", "https://ack-acr-acceleration-p2p.p2p.svc:8444"];

/** The injected sidecar's env, admitted with `directoryCA` handed in as the controller does. */
async function injectedEnv(args: readonly string[], directoryCA: string | undefined): Promise<EnvVar[]> {
  const config = testConfig([...args]);
  const deps = { ...testDeps(config), directoryCA: () => directoryCA };
  const r = await admitPod(checkPod(pod()), "apps", false, deps);
  if (!r.injected) throw new Error(`not injected: ${r.skip.reason}`);
  const sidecar = (r.pod.spec.initContainers ?? [])[0] as { name: string; env?: EnvVar[] } | undefined;
  expect(sidecar?.name).to.equal("acr-p2p-sidecar");
  return sidecar?.env ?? [];
}

function valueOf(env: readonly EnvVar[], name: string): string | undefined {
  const matching = env.filter((e) => e.name === name);
  expect(matching.length, `${name} rendered more than once`).to.be.at.most(1);
  const e = matching[0];
  return e && "value" in e ? e.value : undefined;
}

describe("sidecar env: directory CA at admission", () => {
  it("renders ACR_P2P_DIRECTORY_CA equal to the given CA when a directory URL is set", async () => {
    const env = await injectedEnv(WITH_DIRECTORY, CA);
    expect(valueOf(env, "ACR_P2P_DIRECTORY_URL")).to.equal(WITH_DIRECTORY[1]);
    expect(valueOf(env, "ACR_P2P_DIRECTORY_CA")).to.equal(CA);
  });

  it("does not render it without a directory URL, even when a CA is given", async () => {
    const env = await injectedEnv([], CA);
    expect(valueOf(env, "ACR_P2P_DIRECTORY_URL")).to.equal(undefined);
    expect(env.map((e) => e.name)).to.not.include("ACR_P2P_DIRECTORY_CA");
  });

  it("the given CA wins over a configured one, which is copied when none is given", async () => {
    const args = [...WITH_DIRECTORY, "--sidecar-directory-ca", CONFIGURED_CA];
    expect(valueOf(await injectedEnv(args, CA), "ACR_P2P_DIRECTORY_CA")).to.equal(CA);
    expect(valueOf(await injectedEnv(args, undefined), "ACR_P2P_DIRECTORY_CA")).to.equal(CONFIGURED_CA);
    expect(valueOf(await injectedEnv(WITH_DIRECTORY, undefined), "ACR_P2P_DIRECTORY_CA")).to.equal(undefined);
  });

  it("sidecarEnv follows the CA it is given from one admission to the next (rotation)", async () => {
    const config = testConfig([...WITH_DIRECTORY]);
    const r = await admitPod(checkPod(pod()), "apps", false, testDeps(config));
    if (!r.injected) throw new Error("not injected");
    const plan: InjectionPlan = r.plan;
    const rotated = CA.replace("MIIBnew", "MIIBrotated");
    expect(valueOf(sidecarEnv(config.mutation, plan, CA), "ACR_P2P_DIRECTORY_CA")).to.equal(CA);
    expect(valueOf(sidecarEnv(config.mutation, plan, rotated), "ACR_P2P_DIRECTORY_CA")).to.equal(rotated);
    const noDirectory = testConfig();
    expect(valueOf(sidecarEnv(noDirectory.mutation, plan, CA), "ACR_P2P_DIRECTORY_CA")).to.equal(undefined);
  });
});
