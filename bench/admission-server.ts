/**
 * The webhook under benchmark, in its own process so the load generator does not share its event
 * loop: the real controller (HTTPS, express, metrics, pino logging at info to stdout) over the
 * in-memory cluster (one labelled namespace, one pull secret). Prints `{"url","caPem"}` on stderr once
 * listening, then runs until killed.
 */
import { createLogger } from "../lib/logger.ts";
import { collectRawOptions } from "../lib/config/raw-options.ts";
import { ALL_WEBHOOK_OPTIONS, buildWebhookConfig } from "../webhook/config/webhook-config.ts";
import { MemoryKubeApi } from "../webhook/kube/memory-kube-api.ts";
import { startController } from "../webhook/server/controller.ts";

export const BENCH_SIDECAR_IMAGE = `registry.example.com/acr-p2p/sidecar@sha256:${"5".repeat(64)}`;

const config = buildWebhookConfig(
  collectRawOptions(ALL_WEBHOOK_OPTIONS, ["--listen", "127.0.0.1:0"], {
    ACR_P2P_SIDECAR_IMAGE: BENCH_SIDECAR_IMAGE,
    ACR_P2P_REGISTRIES: "registry.example.com,registry.local:5000,acr-vpc.cn-hangzhou.cr.aliyuncs.com",
    ACR_P2P_SERVERLESS: "true",
  }),
);
const auths = { "registry.example.com": { auth: Buffer.from("robot:s3cret").toString("base64") } };
const kube = new MemoryKubeApi()
  .addNamespace("apps", { "k8s.aliyun.com/image-accelerate-mode": "p2p" })
  .addSecret("apps", {
    metadata: { name: "creds" },
    type: "kubernetes.io/dockerconfigjson",
    data: { ".dockerconfigjson": Buffer.from(JSON.stringify({ auths })).toString("base64") },
  });
const controller = await startController(config, {
  logger: createLogger("acr-p2p-webhook", "info"),
  kube,
  defaultMetrics: true,
});
process.stderr.write(`${JSON.stringify({ url: controller.url, caPem: controller.tls.caPem })}\n`);
