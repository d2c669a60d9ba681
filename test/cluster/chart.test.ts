/**
 * The Helm chart (manifests/ack-acr-acceleration-p2p), rendered by the real helm binary: lint, the
 * webhook's admission settings, every seed parameter documented and mapped to the controller's env,
 * bad values refused naming the parameter, the kubeVersion floor.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import type { V1ConfigMap, V1MutatingWebhookConfiguration } from "@kubernetes/client-node";
import { isMap, isPair, isScalar, parseDocument } from "yaml";
import { testCluster, type TestCluster } from "../support/cluster.ts";
import { CHART_DIR, CHART_NAMESPACE, findObject, helm, renderChart } from "../support/cluster-chart.ts";

/** Seed parameters (design.md) and the env variable the controller gets each one as. */
const SEED_PARAMETERS: ReadonlyArray<[string, string | undefined]> = [
  ["acrInstances", "ACR_P2P_ACR_INSTANCES"],
  ["region", "ACR_P2P_REGION"],
  ["vpcId", "ACR_P2P_VPC_ID"],
  ["accessKey", undefined], // Secret -> ALIBABA_CLOUD_ACCESS_KEY_ID
  ["accessKeySecret", undefined], // Secret -> ALIBABA_CLOUD_ACCESS_KEY_SECRET
  ["p2p.port", "ACR_P2P_PORT"],
  ["p2p.v2.cache.mode", "ACR_P2P_CACHE_MODE"],
  ["rrsa.enable", "ACR_P2P_RRSA_ENABLE"],
  ["rrsa.rrsaRoleARN", "ACR_P2P_RRSA_ROLE_ARN"],
  ["rrsa.rrsaOIDCProviderRoleARN", "ACR_P2P_RRSA_OIDC_PROVIDER_ROLE_ARN"],
  ["rrsa.assumeRoleARN", "ACR_P2P_RRSA_ASSUME_ROLE_ARN"],
  ["rrsa.expireDuration", "ACR_P2P_RRSA_EXPIRE_DURATION"],
  ["blocksize", "ACR_P2P_BLOCKSIZE"],
  ["capacity", "ACR_P2P_CAPACITY"],
  ["optionBlockSize", "ACR_P2P_OPTION_BLOCK_SIZE"],
  ["memoryCacheCapacityGB", "ACR_P2P_MEMORY_CACHE_CAPACITY_GB"],
  ["aio", "ACR_P2P_AIO"],
  ["proxyFsParallels", "ACR_P2P_PROXY_FS_PARALLELS"],
  ["connectTimeout", "ACR_P2P_CONNECT_TIMEOUT"],
  ["transferTimeout", "ACR_P2P_TRANSFER_TIMEOUT"],
];

/**
 * The comment above a key of values.yaml, or undefined when the key is missing. The yaml library hangs
 * the comment above the first key of a nested map on the map itself.
 */
function commentAbove(path: string): string | undefined {
  const doc = parseDocument(readFileSync(join(CHART_DIR, "values.yaml"), "utf8"));
  let node: unknown = doc.contents;
  let comment: string | undefined;
  for (const part of path.split(".")) {
    if (!isMap(node)) return undefined;
    const index = node.items.findIndex((p) => isPair(p) && isScalar(p.key) && p.key.value === part);
    const pair = node.items[index];
    if (pair === undefined || !isScalar(pair.key)) return undefined;
    const inherited = index === 0 ? node.commentBefore : undefined;
    comment = pair.key.commentBefore ?? inherited ?? "";
    node = pair.value;
  }
  return comment;
}

describe("cluster: Helm chart", function () {
  this.timeout(60_000);
  let cluster: TestCluster;

  before(async function () {
    cluster = await testCluster();
  });

  it("passes helm lint", async function () {
    const r = await helm(cluster, ["lint", "--strict", CHART_DIR]);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout).to.not.match(/\[(WARNING|ERROR)\]/);
  });

  it("declares the webhook's two entries with the admission settings the webhook relies on", async function () {
    const { result, objects } = await renderChart(cluster);
    expect(result.code, result.stderr).to.equal(0);
    const config = findObject<V1MutatingWebhookConfiguration>(objects, "MutatingWebhookConfiguration");
    const webhooks = config.webhooks ?? [];
    expect(webhooks).to.have.length(2);
    for (const w of webhooks) {
      expect(w.failurePolicy).to.equal("Ignore");
      expect(w.sideEffects).to.equal("NoneOnDryRun");
      expect(w.timeoutSeconds).to.be.within(1, 10);
      expect(w.reinvocationPolicy).to.equal("IfNeeded");
      expect(w.admissionReviewVersions).to.deep.equal(["v1"]);
      expect(w.rules).to.deep.equal([
        {
          operations: ["CREATE"],
          apiGroups: [""],
          apiVersions: ["v1"],
          resources: ["pods"],
          scope: "Namespaced",
        },
      ]);
      expect(w.clientConfig.service).to.include({ namespace: CHART_NAMESPACE, path: "/mutate", port: 443 });
      expect(w.namespaceSelector?.matchExpressions).to.deep.include({
        key: "kubernetes.io/metadata.name",
        operator: "NotIn",
        values: ["kube-system", CHART_NAMESPACE],
      });
    }
    const [byNamespace, byPod] = webhooks;
    const mode = { key: "k8s.aliyun.com/image-accelerate-mode", values: ["p2p"] };
    expect(byNamespace?.namespaceSelector?.matchExpressions).to.deep.include({ ...mode, operator: "In" });
    expect(byNamespace?.objectSelector).to.equal(undefined);
    expect(byPod?.namespaceSelector?.matchExpressions).to.deep.include({ ...mode, operator: "NotIn" });
    expect(byPod?.objectSelector?.matchExpressions).to.deep.equal([{ ...mode, operator: "In" }]);
  });

  it("documents every seed parameter in values.yaml with a comment", function () {
    for (const [path] of SEED_PARAMETERS) {
      const comment = commentAbove(path);
      expect(comment, `values.yaml has no ${path}`).to.not.equal(undefined);
      expect(comment?.trim(), `${path} has no comment`).to.not.equal("");
    }
  });

  it("passes every seed parameter to the controller's env", async function () {
    const set = [
      "acrInstances=cri-aaa\\,cri-bbb",
      "region=cn-hangzhou",
      "vpcId=vpc-123",
      "p2p.port=65101",
      "p2p.v2.cache.mode=disk",
      "rrsa.enable=true",
      "rrsa.rrsaRoleARN=acs:ram::1:role/a",
      "rrsa.rrsaOIDCProviderRoleARN=acs:ram::1:oidc-provider/b",
      "rrsa.assumeRoleARN=acs:ram::2:role/c",
      "rrsa.expireDuration=7200",
      "blocksize=1024",
      "capacity=1000000",
      "optionBlockSize=268435456",
      "memoryCacheCapacityGB=0.25",
      "aio=1",
      "proxyFsParallels=64",
      "connectTimeout=3",
      "transferTimeout=20",
      "accessKey=AKID",
      "accessKeySecret=AKSECRET",
    ];
    const { result, objects } = await renderChart(
      cluster,
      set.flatMap((s) => ["--set", s]),
    );
    expect(result.code, result.stderr).to.equal(0);
    const data = findObject<V1ConfigMap>(objects, "ConfigMap").data ?? {};
    expect(data).to.include({
      ACR_P2P_ACR_INSTANCES: "cri-aaa,cri-bbb",
      ACR_P2P_REGION: "cn-hangzhou",
      ACR_P2P_VPC_ID: "vpc-123",
      ACR_P2P_PORT: "65101",
      ACR_P2P_CACHE_MODE: "disk",
      ACR_P2P_RRSA_ENABLE: "true",
      ACR_P2P_RRSA_ROLE_ARN: "acs:ram::1:role/a",
      ACR_P2P_RRSA_OIDC_PROVIDER_ROLE_ARN: "acs:ram::1:oidc-provider/b",
      ACR_P2P_RRSA_ASSUME_ROLE_ARN: "acs:ram::2:role/c",
      ACR_P2P_RRSA_EXPIRE_DURATION: "7200",
      ACR_P2P_BLOCKSIZE: "1024",
      ACR_P2P_CAPACITY: "1000000",
      ACR_P2P_OPTION_BLOCK_SIZE: "268435456",
      ACR_P2P_MEMORY_CACHE_CAPACITY_GB: "0.25",
      ACR_P2P_AIO: "1",
      ACR_P2P_PROXY_FS_PARALLELS: "64",
      ACR_P2P_CONNECT_TIMEOUT: "3",
      ACR_P2P_TRANSFER_TIMEOUT: "20",
    });
    for (const [path, env] of SEED_PARAMETERS) {
      if (env !== undefined) expect(data, `${path} -> ${env}`).to.have.property(env);
    }
    const secret = objects.find((o) => o.kind === "Secret") as
      { stringData?: Record<string, string> } | undefined;
    expect(secret?.stringData).to.deep.equal({ accessKeyId: "AKID", accessKeySecret: "AKSECRET" });
    const rendered = result.stdout;
    expect(rendered).to.include("name: ALIBABA_CLOUD_ACCESS_KEY_ID");
    expect(rendered).to.include("name: ALIBABA_CLOUD_ACCESS_KEY_SECRET");
  });

  const BAD_VALUES: ReadonlyArray<[string, RegExp]> = [
    ["blocksize=100", /blocksize/],
    ["blocksize=131072", /blocksize/],
    ["rrsa.expireDuration=100", /expireDuration/],
    ["rrsa.expireDuration=50000", /expireDuration/],
    ["p2p.v2.cache.mode=ssd", /cache\/mode|cache\.mode/],
    ["p2p.port=0", /p2p\/port|p2p\.port/],
    ["p2p.port=70000", /p2p\/port|p2p\.port/],
    ["proxyFsParallels=0", /proxyFsParallels/],
    ["aio=2", /aio/],
    ["connectTimeout=-1", /connectTimeout/],
    ["memoryCacheCapacityGB=1,optionBlockSize=1000", /memoryCacheCapacityGB.*optionBlockSize/],
    ["rrsa.enable=true", /rrsaRoleARN/],
    ["accessKey=AKID", /accessKey/],
    ["registries={not a host}", /registries/],
  ];
  for (const [set, names] of BAD_VALUES) {
    it(`refuses ${set}, naming the parameter`, async function () {
      const { result } = await renderChart(cluster, ["--set", set]);
      expect(result.code, `rendered with ${set}`).to.not.equal(0);
      expect(result.stderr).to.match(names);
    });
  }

  it("accepts memoryCacheCapacityGB and optionBlockSize when they agree", async function () {
    const { result } = await renderChart(cluster, [
      "--set",
      "memoryCacheCapacityGB=1,optionBlockSize=1073741824",
    ]);
    expect(result.code, result.stderr).to.equal(0);
  });

  it("requires Kubernetes >= 1.29 (native sidecars)", async function () {
    const old = await renderChart(cluster, ["--kube-version", "1.28.9"]);
    expect(old.result.code).to.not.equal(0);
    expect(old.result.stderr).to.match(/kubeVersion/);
    const ok = await renderChart(cluster, ["--kube-version", "1.29.0"]);
    expect(ok.result.code, ok.result.stderr).to.equal(0);
  });
});
