/**
 * `acr-p2p webhook` as a process, configured by env the way the chart does, with its own generated
 * certificate and the client-node API access pointed (by KUBECONFIG) at the loopback apiserver
 * stand-in: it becomes ready, injects a pod whose namespace opts in, and exits 0 on SIGTERM.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import type { Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { expect } from "chai";
import { Agent, request } from "undici";
import { pod, review, SIDECAR_IMAGE } from "../../unit/webhook/webhook-fixtures.ts";
import { apiserverStandIn, kubeconfigText, type Seen } from "./apiserver-stand-in.ts";

const ROOT = new URL("../../../", import.meta.url);

describe("acr-p2p webhook (process)", function () {
  this.timeout(60_000);
  let apiserver: Server;
  let child: ChildProcess;
  let dir: string;
  let url: string;
  let agent: Agent;
  const seen: Seen[] = [];
  const logs: string[] = [];

  before(async () => {
    apiserver = apiserverStandIn(seen).listen(0, "127.0.0.1");
    await once(apiserver, "listening");
    dir = await mkdtemp(join(tmpdir(), "acr-p2p-webhook-proc-"));
    const kubeconfig = join(dir, "kubeconfig");
    writeFileSync(
      kubeconfig,
      kubeconfigText(`https://127.0.0.1:${(apiserver.address() as AddressInfo).port}`, { token: "t" }),
    );
    child = spawn(process.execPath, ["bin/acr-p2p.ts", "webhook"], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        PATH: process.env["PATH"] ?? "",
        KUBECONFIG: kubeconfig,
        ACR_P2P_LISTEN: "127.0.0.1:0",
        ACR_P2P_CA_OUT: join(dir, "ca.pem"),
        ACR_P2P_SIDECAR_IMAGE: SIDECAR_IMAGE,
        ACR_P2P_REGISTRIES: "registry.example.com",
        ACR_P2P_SERVERLESS: "true",
        ACR_P2P_NAMESPACE: "aliyun-acr-acceleration",
        ACR_P2P_BLOCKSIZE: "512",
      },
    });
    child.stderr?.on("data", (d: Buffer) => logs.push(d.toString()));
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    url = await new Promise<string>((resolve, reject) => {
      child.once("exit", (code) => reject(new Error(`webhook exited ${code}: ${logs.join("")}`)));
      lines.on("line", (line) => {
        logs.push(line);
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg === "webhook listening" && entry.url) resolve(entry.url);
      });
    });
    agent = new Agent({ connect: { ca: readFileSync(join(dir, "ca.pem"), "utf8") } });
  });

  after(async () => {
    if (child.exitCode === null) child.kill("SIGKILL");
    await agent?.close();
    apiserver.closeAllConnections();
    apiserver.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("is healthy and ready once it has read the server version", async () => {
    expect((await request(`${url}/healthz`, { dispatcher: agent })).statusCode).to.equal(200);
    const ready = await request(`${url}/readyz`, { dispatcher: agent });
    const body = (await ready.body.json()) as { detail: { kubernetes: string } };
    expect(ready.statusCode).to.equal(200);
    expect(body.detail.kubernetes).to.equal("v1.30.4-test");
  });

  it("injects a pod of a namespace labelled p2p (labels read through client-node)", async () => {
    const object = pod({}, { labels: {} });
    const res = await request(`${url}/mutate`, {
      dispatcher: agent,
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(review(object)),
    });
    const body = (await res.body.json()) as { response: { patch?: string } };
    expect(res.statusCode).to.equal(200);
    const ops = JSON.parse(Buffer.from(body.response.patch ?? "", "base64").toString()) as {
      path: string;
      value: any;
    }[];
    const sidecar = ops.find((o) => o.path === "/spec/initContainers")?.value[0];
    expect(sidecar.image).to.equal(SIDECAR_IMAGE);
    expect(sidecar.env).to.deep.include({ name: "ACR_P2P_BLOCKSIZE", value: "512" });
    expect(seen.some((s) => s.url === "/api/v1/namespaces/apps")).to.equal(true);
  });

  it("exits 0 on SIGTERM", async () => {
    child.kill("SIGTERM");
    const [code] = (await once(child, "exit")) as [number | null];
    expect(code).to.equal(0);
  });
});
