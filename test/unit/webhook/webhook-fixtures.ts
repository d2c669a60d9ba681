/** Shared set-up for the webhook's unit tests: configs built the way the entry points build them. */
import { silentLogger } from "../../../lib/logger.ts";
import { collectRawOptions } from "../../../lib/config/raw-options.ts";
import type { AdmissionDeps } from "../../../webhook/admission/admit-pod.ts";
import {
  ALL_WEBHOOK_OPTIONS,
  buildWebhookConfig,
  type WebhookConfig,
} from "../../../webhook/config/webhook-config.ts";
import { ClusterFacts } from "../../../webhook/kube/cluster-facts.ts";
import { MemoryKubeApi } from "../../../webhook/kube/memory-kube-api.ts";
import { StaticRegistryResolver } from "../../../webhook/registry/registry-resolver.ts";

export const SIDECAR_IMAGE = `registry.example.com/acr-p2p/sidecar@sha256:${"5".repeat(64)}`;
export const REGISTRIES = [
  "registry.example.com",
  "registry.local:5000",
  "acr-vpc.cn-hangzhou.cr.aliyuncs.com",
];

/** Arguments every golden case starts from (a case's `# args:` line adds to them). */
export const BASE_ARGS: readonly string[] = [
  "--sidecar-image",
  SIDECAR_IMAGE,
  ...REGISTRIES.flatMap((r) => ["--registry", r]),
];

export function testConfig(args: readonly string[] = [], env: Record<string, string> = {}): WebhookConfig {
  // Serverless unless a test says otherwise (by flag, which wins over this env).
  // Metrics on a free port: several controllers may run in one test process.
  const withDefaults = { ACR_P2P_SERVERLESS: "true", ACR_P2P_METRICS_PORT: "0", ...env };
  return buildWebhookConfig(collectRawOptions(ALL_WEBHOOK_OPTIONS, [...BASE_ARGS, ...args], withDefaults));
}

export interface TestDeps extends AdmissionDeps {
  readonly kube: MemoryKubeApi;
}

export function testDeps(config: WebhookConfig = testConfig(), kube = new MemoryKubeApi()): TestDeps {
  return {
    config: config.mutation,
    kube,
    facts: new ClusterFacts(kube, { namespaceTtlMs: 0 }),
    resolver: new StaticRegistryResolver(config.registries),
    logger: silentLogger(),
  };
}

/** A minimal opted-in pod; `patch` is merged into spec. */
export function pod(
  spec: Record<string, unknown> = {},
  metadata: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: "p",
      namespace: "apps",
      labels: { "k8s.aliyun.com/image-accelerate-mode": "p2p" },
      ...metadata,
    },
    spec: { containers: [{ name: "app", image: "registry.example.com/team/app:1" }], ...spec },
  };
}

/** An AdmissionReview v1 for a pod CREATE. */
export function review(object: unknown, request: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: "705ab4f5-6393-11e8-b7cc-42010a800002",
      kind: { group: "", version: "v1", kind: "Pod" },
      resource: { group: "", version: "v1", resource: "pods" },
      requestKind: { group: "", version: "v1", kind: "Pod" },
      namespace: "apps",
      operation: "CREATE",
      userInfo: { username: "system:serviceaccount:kube-system:replicaset-controller" },
      object,
      oldObject: null,
      dryRun: false,
      options: { kind: "CreateOptions", apiVersion: "meta.k8s.io/v1" },
      ...request,
    },
  };
}
