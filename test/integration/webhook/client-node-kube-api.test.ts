/**
 * ClientNodeKubeApi (client-node 2.x) against a small loopback stand-in for the four apiserver
 * endpoints it calls, answering as the apiserver does (objects, Status bodies with 404/409/403, a
 * stall): the object parameters, the request bodies and the error mapping. The cluster tier runs the
 * same class against a real kube-apiserver.
 */
import { once } from "node:events";
import { writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import type { Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { ClientNodeKubeApi } from "../../../webhook/kube/client-node-kube-api.ts";
import { KubeApiError } from "../../../webhook/kube/kube-api.ts";
import { apiserverStandIn, kubeconfigText, type Seen } from "./apiserver-stand-in.ts";

describe("ClientNodeKubeApi against a loopback apiserver stand-in", function () {
  this.timeout(30_000);
  const seen: Seen[] = [];
  let server: Server;
  let dir: string;
  let api: ClientNodeKubeApi;

  before(async () => {
    server = apiserverStandIn(seen).listen(0, "127.0.0.1");
    await once(server, "listening");
    const port = (server.address() as AddressInfo).port;
    dir = await mkdtemp(join(tmpdir(), "acr-p2p-kubeconfig-"));
    const kubeconfig = join(dir, "kubeconfig");
    writeFileSync(kubeconfig, kubeconfigText(`https://127.0.0.1:${port}`, { token: "test-token" }));
    api = new ClientNodeKubeApi({ kubeconfig, timeoutMs: 500 });
  });

  after(async () => {
    server.closeAllConnections();
    server.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function failure(run: () => Promise<unknown>): Promise<KubeApiError> {
    try {
      await run();
    } catch (err) {
      expect(err).to.be.instanceOf(KubeApiError);
      return err as KubeApiError;
    }
    throw new Error("expected a KubeApiError");
  }

  it("reads a namespace's labels, with the kubeconfig's credentials", async () => {
    const ns = await api.getNamespace("apps");
    expect(ns?.metadata.labels).to.deep.equal({ "k8s.aliyun.com/image-accelerate-mode": "p2p" });
    expect(seen.at(-1)?.auth).to.equal("Bearer test-token");
  });

  it("turns 404 into undefined for namespaces and secrets", async () => {
    expect(await api.getNamespace("missing")).to.equal(undefined);
    expect(await api.getSecret("apps", "missing")).to.equal(undefined);
  });

  it("reads a secret", async () => {
    const s = await api.getSecret("apps", "creds");
    expect(s).to.deep.equal({
      metadata: { name: "creds", namespace: "apps", labels: { a: "b" } },
      type: "kubernetes.io/dockerconfigjson",
      data: { ".dockerconfigjson": "e30=" },
    });
  });

  it("creates a secret with a full object body and a field manager", async () => {
    await api.createSecret("apps", {
      metadata: { name: "acr-p2p-x", labels: { l: "v" } },
      type: "kubernetes.io/dockerconfigjson",
      data: { k: "dg==" },
    });
    const req = seen.at(-1) as Seen;
    expect(req.method).to.equal("POST");
    expect(req.url).to.equal("/api/v1/namespaces/apps/secrets?fieldManager=acr-p2p");
    expect(JSON.parse(req.body)).to.deep.equal({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "acr-p2p-x", labels: { l: "v" }, namespace: "apps" },
      type: "kubernetes.io/dockerconfigjson",
      data: { k: "dg==" },
    });
  });

  it("replaces a secret with a PUT of the full object to its name, a missing one is NOT_FOUND", async () => {
    const secret = {
      metadata: { name: "creds", labels: { "app.kubernetes.io/managed-by": "acr-p2p" } },
      type: "kubernetes.io/dockerconfigjson",
      data: { ".dockerconfigjson": "e30=" },
    };
    await api.replaceSecret("apps", secret);
    const req = seen.at(-1) as Seen;
    expect(req.method).to.equal("PUT");
    expect(req.url).to.equal("/api/v1/namespaces/apps/secrets/creds?fieldManager=acr-p2p");
    expect(JSON.parse(req.body)).to.deep.equal({
      apiVersion: "v1",
      kind: "Secret",
      ...secret,
      metadata: { ...secret.metadata, namespace: "apps" },
    });
    const missing = await failure(() => api.replaceSecret("apps", { ...secret, metadata: { name: "gone" } }));
    expect([missing.code, missing.status]).to.deep.equal(["NOT_FOUND", 404]);
  });

  it("lists the pods of every namespace by label, following the continue token", async () => {
    const pods = await api.listPods("acr-p2p/peer=true");
    expect(pods).to.deep.equal([
      { namespace: "running", name: "a", imagePullSecrets: ["acr-p2p-acr-temp-credentials"] },
      { namespace: "apps", name: "b", imagePullSecrets: [] },
    ]);
    const lists = seen.filter((s) => s.url.startsWith("/api/v1/pods")).map((s) => s.url);
    expect(lists).to.deep.equal([
      "/api/v1/pods?labelSelector=acr-p2p%2Fpeer%3Dtrue&limit=500",
      "/api/v1/pods?continue=page-2&labelSelector=acr-p2p%2Fpeer%3Dtrue&limit=500",
    ]);
  });

  it("maps 409 to ALREADY_EXISTS and 403 to FORBIDDEN, keeping the apiserver's message", async () => {
    const conflict = await failure(() => api.createSecret("apps", { metadata: { name: "taken" } }));
    expect([conflict.code, conflict.status]).to.deep.equal(["ALREADY_EXISTS", 409]);
    const forbidden = await failure(() => api.getSecret("locked", "s"));
    expect(forbidden.code).to.equal("FORBIDDEN");
    expect(forbidden.message).to.include("cannot get resource");
  });

  it("gives up on a stalled call with TIMEOUT", async () => {
    const e = await failure(() => api.getNamespace("stall"));
    expect(e.code).to.equal("TIMEOUT");
  });

  it("reads the server version, minor `30+` included", async () => {
    expect(await api.serverVersion()).to.deep.equal({ major: 1, minor: 30, gitVersion: "v1.30.4-test" });
  });

  it("reports an unreachable apiserver as UNAVAILABLE", async () => {
    const file = join(dir, "closed");
    writeFileSync(file, kubeconfigText("https://127.0.0.1:1", {}));
    const e = await failure(() => new ClientNodeKubeApi({ kubeconfig: file }).serverVersion());
    expect(e.code).to.equal("UNAVAILABLE");
    expect(e.message).to.match(/refused|fetch failed|ECONNREFUSED/i);
  });
});
