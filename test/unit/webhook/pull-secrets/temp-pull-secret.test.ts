/**
 * ACR temporary credentials in the admission: a pod naming no pull secret that pulls from an ACR
 * instance's host gets the controller's temporary-credentials secret, written before the answer (not
 * on dry run) and keyed so the kubelet sends the login to the sidecar for the rewritten image; pods
 * with their own pull secrets, or without ACR images, do not; a password that cannot be had is a
 * warning, not a skip; a slow write does not hold the admission past its bound.
 */
import { expect } from "chai";
import { parseNormalizedReference } from "../../../../contract/image-reference.ts";
import { admitPod, type AdmitResult } from "../../../../webhook/admission/admit-pod.ts";
import { CrApiError } from "../../../../webhook/cloud/cloud-errors.ts";
import { TEMP_CREDENTIALS_SECRET_NAME } from "../../../../webhook/pull-secrets/temp-credentials.ts";
import { checkPod, type Pod } from "../../../../webhook/mutation/pod.ts";
import { hostMatches, readPullSecret } from "../../../../webhook/pull-secrets/docker-config.ts";
import type { TempPullSecrets } from "../../../../webhook/pull-secrets/temp-pull-secret.ts";
import { ACR_INTERNET_HOST, ACR_VPC_HOST, tempDeps } from "./temp-fixtures.ts";
import { pod, type TestDeps } from "../webhook-fixtures.ts";

type Json = Record<string, unknown>;

async function admit(object: Json, deps: TestDeps, dryRun = false): Promise<AdmitResult> {
  return admitPod(checkPod(object), "apps", dryRun, deps);
}

function injected(r: AdmitResult): Extract<AdmitResult, { injected: true }> {
  if (!r.injected) throw new Error(`not injected: ${r.skip.reason}: ${r.skip.message}`);
  return r;
}

function pullSecretNames(p: Pod): string[] {
  return (p.spec.imagePullSecrets ?? []).map((s) => s.name ?? "");
}

const acrPod = (image = `${ACR_VPC_HOST}/team/app:1`) => pod({ containers: [{ name: "app", image }] });

describe("admission with ACR temporary credentials", () => {
  it("writes the secret before answering and adds it to a pod without pull secrets", async () => {
    const { deps, kube } = await tempDeps();
    const r = injected(await admit(acrPod(), deps));
    expect(r.tempPullSecret).to.deep.equal({ kind: "added", name: TEMP_CREDENTIALS_SECRET_NAME });
    expect(pullSecretNames(r.pod)).to.deep.equal([TEMP_CREDENTIALS_SECRET_NAME]);
    const config = JSON.parse(r.pod.metadata?.annotations?.["k8s.aliyun.com/p2p-config"] ?? "{}");
    expect(config.pullSecrets).to.deep.equal([TEMP_CREDENTIALS_SECRET_NAME]);
    expect(kube.calls.createSecret).to.equal(1);

    // The kubelet's matching: an entry of the secret applies to the rewritten image's host and path.
    const secret = kube.secrets.get(`apps/${TEMP_CREDENTIALS_SECRET_NAME}`)!;
    expect(secret.metadata.labels?.["app.kubernetes.io/managed-by"]).to.equal("acr-p2p");
    const image = r.pod.spec.containers[0]!.image!;
    expect(image).to.equal(`127.0.0.1:65001/${ACR_VPC_HOST}/team/app:1`);
    const ref = parseNormalizedReference(image);
    const entry = readPullSecret(secret).find(
      (e) => hostMatches(e.host, ref.domain) && ref.path.startsWith(e.path),
    );
    expect(entry?.key).to.equal(`127.0.0.1:65001/${ACR_VPC_HOST}/`);
    expect(entry?.entry).to.include({ username: "cr_temp_user", password: "temp-password-cri-golden-1" });
  });

  it("keys the secret by the configured sidecar port and both of the instance's hosts", async () => {
    const { deps, kube } = await tempDeps({ args: ["--sidecar-port", "65100"] });
    const r = injected(await admit(acrPod(`${ACR_INTERNET_HOST}/team/app:1`), deps));
    expect(r.pod.spec.containers[0]!.image).to.equal(`127.0.0.1:65100/${ACR_INTERNET_HOST}/team/app:1`);
    const keys = readPullSecret(kube.secrets.get(`apps/${TEMP_CREDENTIALS_SECRET_NAME}`)!).map((e) => e.key);
    expect(keys.sort()).to.deep.equal(
      [`127.0.0.1:65100/${ACR_INTERNET_HOST}/`, `127.0.0.1:65100/${ACR_VPC_HOST}/`].sort(),
    );
  });

  it("leaves pods with their own pull secrets, and pods without ACR images, to the other paths", async () => {
    const { deps, kube, api } = await tempDeps();
    const own = injected(
      await admit(
        { ...acrPod(), spec: { ...(acrPod().spec as Json), imagePullSecrets: [{ name: "mine" }] } },
        deps,
      ),
    );
    expect(own.tempPullSecret).to.equal(undefined);
    expect(pullSecretNames(own.pod)).to.deep.equal(["mine"]);
    const staticHost = injected(await admit(pod(), deps));
    expect(staticHost.tempPullSecret).to.equal(undefined);
    expect(pullSecretNames(staticHost.pod)).to.deep.equal([]);
    expect(kube.calls.createSecret).to.equal(0);
    expect(api.calls.filter((c) => c.startsWith("GetAuthorizationToken"))).to.deep.equal([]);
  });

  it("names the secret on dry run without writing it or asking for a password", async () => {
    const { deps, kube, api } = await tempDeps();
    const dry = injected(await admit(acrPod(), deps, true));
    expect(pullSecretNames(dry.pod)).to.deep.equal([TEMP_CREDENTIALS_SECRET_NAME]);
    expect(kube.calls.createSecret + kube.calls.replaceSecret).to.equal(0);
    expect(api.calls.filter((c) => c.startsWith("GetAuthorizationToken"))).to.deep.equal([]);
    const wet = injected(await admit(acrPod(), deps));
    expect(wet.patch).to.deep.equal(dry.patch);
  });

  it("rewrites the same secret in place when the password is renewed; pods keep its name", async () => {
    const { deps, kube, temp, tick } = await tempDeps();
    injected(await admit(acrPod(), deps));
    tick(50 * 60_000);
    await temp.refresh();
    expect(kube.calls.replaceSecret).to.equal(1);
    const entries = readPullSecret(kube.secrets.get(`apps/${TEMP_CREDENTIALS_SECRET_NAME}`)!);
    expect(entries[0]?.entry.password).to.equal("temp-password-cri-golden-2");
    const later = injected(await admit(acrPod(), deps));
    expect(pullSecretNames(later.pod)).to.deep.equal([TEMP_CREDENTIALS_SECRET_NAME]);
    expect(kube.calls.createSecret).to.equal(1);
  });

  it("injects without the secret, with a warning, when no password can be had", async () => {
    const { deps, api, kube } = await tempDeps();
    api.failure = new CrApiError("CR_API_ERROR", "GetAuthorizationToken", "Forbidden.RAM", "no permission");
    const r = injected(await admit(acrPod(), deps));
    expect(r.tempPullSecret?.kind).to.equal("unavailable");
    expect(pullSecretNames(r.pod)).to.deep.equal([]);
    expect(r.warnings.join("\n")).to.match(/ACR temporary credentials not added \(no temporary password/);
    expect(kube.calls.createSecret).to.equal(0);
  });

  it("does not overwrite a user's secret of that name: no secret added, a warning", async () => {
    const { deps, kube } = await tempDeps();
    kube.addSecret("apps", { metadata: { name: TEMP_CREDENTIALS_SECRET_NAME }, type: "Opaque", data: {} });
    const r = injected(await admit(acrPod(), deps));
    expect(pullSecretNames(r.pod)).to.deep.equal([]);
    expect(r.warnings).to.have.length(1);
    expect(kube.secrets.get(`apps/${TEMP_CREDENTIALS_SECRET_NAME}`)?.type).to.equal("Opaque");
  });

  it("gives every pod of a burst in a new namespace the secret, written once", async () => {
    const { deps, kube } = await tempDeps();
    const results = await Promise.all([1, 2, 3, 4].map(() => admit(acrPod(), deps)));
    for (const r of results)
      expect(pullSecretNames(injected(r).pod)).to.deep.equal([TEMP_CREDENTIALS_SECRET_NAME]);
    expect(kube.calls.createSecret + kube.calls.replaceSecret).to.equal(1);
  });

  it("two controller replicas creating the secret at once: both pods get it", async () => {
    const one = await tempDeps();
    const other = await tempDeps({ kube: one.kube });
    const [a, b] = await Promise.all([admit(acrPod(), one.deps), admit(acrPod(), other.deps)]);
    expect(pullSecretNames(injected(a).pod)).to.deep.equal([TEMP_CREDENTIALS_SECRET_NAME]);
    expect(pullSecretNames(injected(b).pod)).to.deep.equal([TEMP_CREDENTIALS_SECRET_NAME]);
    expect(injected(a).warnings.concat(injected(b).warnings)).to.deep.equal([]);
    expect(one.kube.calls.createSecret).to.equal(2);
  });

  it("answers within its bound when the write is slow, naming the secret being written", async () => {
    const { deps } = await tempDeps({ waitMs: 50 });
    let finish: (name: string) => void = () => {};
    const slow: TempPullSecrets = {
      ...deps.tempPullSecrets!,
      ensureNamespace: () => new Promise((resolve) => (finish = resolve)),
    };
    const started = Date.now();
    const r = injected(await admit(acrPod(), { ...deps, tempPullSecrets: slow }));
    expect(Date.now() - started).to.be.below(1000);
    expect(r.tempPullSecret).to.deep.equal({ kind: "pending", name: TEMP_CREDENTIALS_SECRET_NAME });
    expect(pullSecretNames(r.pod)).to.deep.equal([TEMP_CREDENTIALS_SECRET_NAME]);
    finish(TEMP_CREDENTIALS_SECRET_NAME);
  });
});
