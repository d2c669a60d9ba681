/**
 * The webhook over real HTTPS on loopback: a generated CA and serving certificate (IP SAN 127.0.0.1)
 * that the client verifies, a real AdmissionReview answered with a patch that applies, the health,
 * readiness and metrics endpoints, and the 4xx answers of the HTTP layer.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { gzipSync } from "node:zlib";
import jsonpatch from "fast-json-patch";
import { Agent, request } from "undici";
import { silentLogger } from "../../../lib/logger.ts";
import { generateCertificateAuthority, issueServingCertificate } from "../../../lib/tls-certs.ts";
import { MemoryKubeApi } from "../../../webhook/kube/memory-kube-api.ts";
import { startController, type RunningController } from "../../../webhook/server/controller.ts";
import { pod, review, testConfig } from "../../unit/webhook/webhook-fixtures.ts";

type Json = Record<string, any>;

describe("webhook HTTPS server", function () {
  this.timeout(30_000);
  let controller: RunningController;
  let agent: Agent;
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "acr-p2p-webhook-"));
    const config = testConfig([
      "--listen",
      "127.0.0.1:0",
      "--max-body-bytes",
      "65536",
      "--ca-out",
      join(dir, "ca.pem"),
    ]);
    const kube = new MemoryKubeApi().addNamespace("apps");
    controller = await startController(config, { logger: silentLogger(), kube });
    agent = new Agent({ connect: { ca: controller.tls.caPem as string } });
  });

  after(async () => {
    await agent?.close();
    await controller?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function call(
    path: string,
    init: { method?: string; body?: string | Buffer; contentType?: string; encoding?: string } = {},
  ) {
    const res = await request(`${controller.url}${path}`, {
      dispatcher: agent,
      method: (init.method ?? (init.body !== undefined ? "POST" : "GET")) as "GET" | "POST",
      headers: {
        "content-type": init.contentType ?? "application/json",
        ...(init.encoding !== undefined && { "content-encoding": init.encoding }),
      },
      ...(init.body !== undefined && { body: init.body }),
    });
    const text = await res.body.text();
    return { status: res.statusCode, text, json: () => JSON.parse(text) as Json };
  }

  it("serves a certificate for 127.0.0.1 from the CA it wrote out", async () => {
    expect(controller.url).to.match(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(readFileSync(join(dir, "ca.pem"), "utf8")).to.equal(controller.tls.caPem);
    expect(controller.tls.hosts)
      .to.include("127.0.0.1")
      .and.include("ack-acr-acceleration-p2p.aliyun-acr-acceleration.svc");
    expect((await call("/healthz")).status).to.equal(200);
  });

  it("is refused by a client that trusts another CA", async () => {
    const stranger = new Agent({ connect: { ca: generateCertificateAuthority("stranger").certPem } });
    let error: unknown;
    try {
      await request(`${controller.url}/healthz`, { dispatcher: stranger });
    } catch (err) {
      error = err;
    } finally {
      await stranger.close();
    }
    expect(String((error as Error)?.message ?? error)).to.match(/certificate|self[- ]signed|verify/i);
  });

  it("answers a real AdmissionReview with a JSON patch that applies", async () => {
    const object = pod(
      { initContainers: [{ name: "init", image: "registry.example.com/team/init:1" }] },
      { name: undefined, generateName: "web-" },
    );
    const res = await call("/mutate", { body: JSON.stringify(review(object)) });
    expect(res.status).to.equal(200);
    const body = res.json();
    expect(body["apiVersion"]).to.equal("admission.k8s.io/v1");
    expect(body["response"]["uid"]).to.equal("705ab4f5-6393-11e8-b7cc-42010a800002");
    expect(body["response"]["allowed"]).to.equal(true);
    expect(body["response"]["patchType"]).to.equal("JSONPatch");
    const ops = JSON.parse(Buffer.from(body["response"]["patch"], "base64").toString("utf8"));
    const patched = jsonpatch.applyPatch(structuredClone(object), ops, true, false).newDocument as Json;
    expect(patched["spec"]["initContainers"].map((c: Json) => c["name"])).to.deep.equal([
      "acr-p2p-sidecar",
      "init",
    ]);
    expect(patched["spec"]["initContainers"][1]["image"]).to.equal(
      "127.0.0.1:65001/registry.example.com/team/init:1",
    );
    expect(patched["spec"]["containers"][0]["image"]).to.equal(
      "127.0.0.1:65001/registry.example.com/team/app:1",
    );
  });

  it("answers a skipped pod with allowed, the reason, and a patch that only annotates it with the reason", async () => {
    const object = pod({
      containers: [{ name: "app", image: "registry.example.com/a:1", ports: [{ containerPort: 65001 }] }],
    });
    const body = (await call("/mutate", { body: JSON.stringify(review(object)) })).json();
    expect(body["response"]["allowed"]).to.equal(true);
    const patch = JSON.parse(Buffer.from(body["response"]["patch"], "base64").toString()) as Json[];
    expect(patch).to.have.length(1);
    expect(patch[0]!["path"]).to.equal("/metadata/annotations");
    expect(patch[0]!["value"]["acr-p2p/not-injected"]).to.match(/^port-collision: /);
    expect(body["response"]["status"]["message"]).to.include("port-collision");
    expect(body["response"]["auditAnnotations"]).to.deep.equal({ "skip-reason": "port-collision" });
  });

  const reviewBody = JSON.stringify(
    review(pod({ containers: [{ name: "a", image: "registry.example.com/a:1" }] })),
  );
  const refusals: [
    string,
    { body: string | Buffer; contentType?: string; encoding?: string },
    number,
    string,
  ][] = [
    ["malformed JSON", { body: "{" }, 400, "BODY_NOT_JSON"],
    [
      "a gzip Content-Encoding over a plain body",
      { body: reviewBody, encoding: "gzip" },
      400,
      "BODY_UNREADABLE",
    ],
    ["a br Content-Encoding over a plain body", { body: reviewBody, encoding: "br" }, 400, "BODY_UNREADABLE"],
    [
      "a deflate Content-Encoding over a plain body",
      { body: reviewBody, encoding: "deflate" },
      400,
      "BODY_UNREADABLE",
    ],
    [
      "a truncated gzip body",
      { body: gzipSync(reviewBody).subarray(0, 40), encoding: "gzip" },
      400,
      "BODY_UNREADABLE",
    ],
    [
      "an unknown Content-Encoding",
      { body: reviewBody, encoding: "compress" },
      415,
      "UNSUPPORTED_MEDIA_TYPE",
    ],
    ["the wrong content type", { body: "{}", contentType: "text/plain" }, 415, "UNSUPPORTED_MEDIA_TYPE"],
    [
      "a body over --max-body-bytes",
      { body: JSON.stringify({ pad: "x".repeat(100_000) }) },
      413,
      "BODY_TOO_LARGE",
    ],
    [
      "an absurdly large pod",
      {
        body: JSON.stringify(
          review(
            pod({
              containers: Array.from({ length: 3000 }, (_, i) => ({
                name: `c${i}`,
                image: "registry.example.com/a:1",
              })),
            }),
          ),
        ),
      },
      413,
      "BODY_TOO_LARGE",
    ],
  ];
  for (const [what, init, status, code] of refusals) {
    it(`answers ${what} with ${status} ${code}, not counted as an internal error`, async () => {
      const internal = async () => (await call("/metrics")).text.match(/code="INTERNAL"} (\d+)/)?.[1] ?? "0";
      const before = await internal();
      const res = await call("/mutate", init);
      expect(res.status).to.equal(status);
      expect(res.json()["error"]["code"]).to.equal(code);
      expect(res.json()["error"]["message"]).to.be.a("string").and.not.equal("");
      expect(await internal()).to.equal(before);
    });
  }

  it("reads a gzip-encoded review", async () => {
    const res = await call("/mutate", { body: gzipSync(reviewBody), encoding: "gzip" });
    expect(res.status).to.equal(200);
    expect(res.json()["response"]["allowed"]).to.equal(true);
  });

  it("answers unknown paths with 404", async () => {
    expect((await call("/nope")).status).to.equal(404);
    expect((await call("/mutate")).status).to.equal(404);
  });

  it("is ready with registries and a server version, and says so", async () => {
    const res = await call("/readyz");
    expect(res.status).to.equal(200);
    expect(res.json()).to.deep.equal({
      ready: true,
      detail: {
        registries: "3 configured registry host(s)",
        kubernetes: "v1.34.0",
        servingCertificate: "generated at start (no certificate files)",
      },
    });
  });

  it("counts admissions, injections, skips by reason, errors and latency", async () => {
    const text = (await call("/metrics")).text;
    expect(text).to.match(/acr_p2p_webhook_admissions_total\{result="injected"\} [1-9]/);
    expect(text).to.match(/acr_p2p_webhook_admissions_total\{result="rejected"\} [1-9]/);
    expect(text).to.match(/acr_p2p_webhook_injections_total [1-9]/);
    expect(text).to.match(/acr_p2p_webhook_skips_total\{reason="port-collision"\} 1/);
    expect(text).to.include('acr_p2p_webhook_skips_total{reason="not-opted-in"} 0');
    expect(text).to.match(/acr_p2p_webhook_errors_total\{code="BODY_TOO_LARGE"\} 2/);
    expect(text).to.match(
      /acr_p2p_webhook_admission_duration_seconds_bucket\{le="\+Inf",result="injected"\} [1-9]/,
    );
  });

  it("serves the same metrics on a plain-HTTP port of their own, and nothing else there", async () => {
    expect(controller.metricsUrl).to.match(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const plain = await request(controller.metricsUrl);
    expect(plain.statusCode).to.equal(200);
    const text = await plain.body.text();
    expect(text).to.match(/acr_p2p_webhook_injections_total [1-9]/);
    expect(text).to.include('acr_p2p_build_info{component="controller"');
    const mutate = await request(controller.metricsUrl.replace("/metrics", "/mutate"), {
      method: "POST",
      body: "{}",
    });
    expect(mutate.statusCode).to.equal(404);
    await mutate.body.dump();
  });
});

describe("webhook HTTPS server with certificate files", function () {
  this.timeout(30_000);

  it("reloads a renewed certificate from its files without a restart", async () => {
    const dir = await mkdtemp(join(tmpdir(), "acr-p2p-tls-"));
    const certFile = join(dir, "tls.crt");
    const keyFile = join(dir, "tls.key");
    const issue = (name: string) => {
      const ca = generateCertificateAuthority(name);
      const cert = issueServingCertificate(ca, { hosts: ["127.0.0.1"] });
      writeFileSync(certFile, cert.certPem);
      writeFileSync(keyFile, cert.keyPem);
      return ca.certPem;
    };
    const firstCa = issue("first");
    const config = testConfig(["--listen", "127.0.0.1:0", "--tls-cert", certFile, "--tls-key", keyFile]);
    const controller = await startController(config, {
      logger: silentLogger(),
      kube: new MemoryKubeApi(),
      tlsReloadMs: 50,
    });
    const status = async (ca: string) => {
      const agent = new Agent({ connect: { ca } });
      try {
        return (await request(`${controller.url}/healthz`, { dispatcher: agent })).statusCode;
      } catch {
        return 0;
      } finally {
        await agent.close();
      }
    };
    try {
      expect(controller.tls.caPem).to.equal(undefined);
      expect(await status(firstCa)).to.equal(200);
      const secondCa = issue("second");
      let ok = 0;
      for (let i = 0; i < 100 && ok !== 200; i++) {
        await new Promise((r) => setTimeout(r, 50));
        ok = await status(secondCa);
      }
      expect(ok).to.equal(200);
      expect(await status(firstCa)).to.equal(0);
    } finally {
      await controller.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
