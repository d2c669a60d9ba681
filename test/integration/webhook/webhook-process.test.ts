/**
 * `acr-p2p webhook` as a process, configured by env the way the chart does, with its own generated
 * certificate and the client-node API access pointed (by KUBECONFIG) at the loopback apiserver
 * stand-in: it becomes ready, injects a pod whose namespace opts in, and exits 0 on SIGTERM.
 */
import { once } from "node:events";
import { writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import type { Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { pod, review, SIDECAR_IMAGE } from "../../unit/webhook/webhook-fixtures.ts";
import { apiserverStandIn, kubeconfigText, type Seen } from "./apiserver-stand-in.ts";
import { startWebhookChild, type WebhookChild } from "./webhook-child.ts";

describe("acr-p2p webhook (process)", function () {
  this.timeout(60_000);
  let apiserver: Server;
  let webhook: WebhookChild;
  let dir: string;
  const seen: Seen[] = [];

  before(async () => {
    apiserver = apiserverStandIn(seen).listen(0, "127.0.0.1");
    await once(apiserver, "listening");
    dir = await mkdtemp(join(tmpdir(), "acr-p2p-webhook-proc-"));
    const kubeconfig = join(dir, "kubeconfig");
    writeFileSync(
      kubeconfig,
      kubeconfigText(`https://127.0.0.1:${(apiserver.address() as AddressInfo).port}`, { token: "t" }),
    );
    webhook = await startWebhookChild({
      KUBECONFIG: kubeconfig,
      ACR_P2P_CA_OUT: join(dir, "ca.pem"),
      ACR_P2P_SIDECAR_IMAGE: SIDECAR_IMAGE,
      ACR_P2P_REGISTRIES: "registry.example.com",
      ACR_P2P_SERVERLESS: "true",
      ACR_P2P_NAMESPACE: "aliyun-acr-acceleration",
      ACR_P2P_BLOCKSIZE: "512",
    });
  });

  after(async () => {
    await webhook?.kill();
    apiserver.closeAllConnections();
    apiserver.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("is healthy and ready once it has read the server version", async () => {
    expect((await webhook.get("/healthz")).status).to.equal(200);
    const ready = await webhook.get("/readyz");
    const body = JSON.parse(ready.text) as { detail: Record<string, string> };
    expect(ready.status).to.equal(200);
    expect(body.detail).to.deep.equal({
      registries: "1 configured registry host(s)",
      kubernetes: "v1.30.4-test",
      servingCertificate: "generated at start (no certificate files)",
    });
  });

  it("injects a pod of a namespace labelled p2p (labels read through client-node)", async () => {
    const object = pod({}, { labels: {} });
    const res = await webhook.post("/mutate", review(object));
    expect(res.status).to.equal(200);
    const ops = JSON.parse(Buffer.from(res.json.response.patch ?? "", "base64").toString()) as {
      path: string;
      value: any;
    }[];
    const sidecar = ops.find((o) => o.path === "/spec/initContainers")?.value[0];
    expect(sidecar.image).to.equal(SIDECAR_IMAGE);
    expect(sidecar.env).to.deep.include({ name: "ACR_P2P_BLOCKSIZE", value: "512" });
    expect(seen.some((s) => s.url === "/api/v1/namespaces/apps")).to.equal(true);
  });

  it("exits 0 on SIGTERM", async () => {
    expect(await webhook.stop()).to.equal(0);
  });
});
