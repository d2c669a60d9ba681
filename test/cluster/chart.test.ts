/**
 * The Helm chart (manifests/ack-acr-acceleration-p2p), rendered by the real helm binary: lint, the
 * webhook's admission settings, every seed parameter documented and mapped to the controller's env,
 * every env variable the chart sets known to the code's option tables (and the other way round), the
 * controller's conditional RBAC, bad values refused naming the parameter, the kubeVersion floor.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import type {
  KubernetesObject,
  V1ClusterRole,
  V1ConfigMap,
  V1Container,
  V1CronJob,
  V1Deployment,
  V1Job,
  V1MutatingWebhookConfiguration,
  V1Service,
} from "@kubernetes/client-node";
import { isMap, isPair, isScalar, parseDocument } from "yaml";
import { testCluster, type TestCluster } from "../support/cluster.ts";
import { monitoringCrdFiles } from "../support/monitoring-crds.ts";
import { makeTempDir, runCommand } from "../support/origin/child-process.ts";
import { acrP2pMetricNames, processMetricNames } from "../support/registered-metrics.ts";
import { SIDECAR_MEMORY_MARGIN } from "../../lib/sidecar-memory.ts";
import { HEALTH_PORT_NAME, PEER_LABEL } from "../../webhook/mutation/names.ts";
import { CERTGEN_OPTIONS } from "../../webhook/certgen/certgen-config.ts";
import { CLEANUP_OPTIONS } from "../../webhook/cleanup/cleanup-config.ts";
import { CLOUD_OPTIONS } from "../../webhook/cloud/cloud-options.ts";
import { TEMP_CREDENTIALS_SECRET_NAME } from "../../webhook/pull-secrets/temp-credentials.ts";
import { ALL_WEBHOOK_OPTIONS } from "../../webhook/config/webhook-config.ts";
import { SERVING_CERTIFICATE_CHECK } from "../../webhook/server/serving-certificate.ts";
import {
  CHART_DIR,
  CHART_NAMESPACE,
  CLEANUP_SA,
  CONTROLLER_SA,
  findObject,
  IMAGE_SET_ARGS,
  helm,
  RELEASE,
  renderChart,
  WEBHOOK_CONFIG_NAME,
} from "../support/cluster-chart.ts";

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

/** This chart's own values documented next to the seed parameters (env variable in the comment). */
const OWN_VALUES: ReadonlyArray<[string, string]> = [
  ["stsEndpoint", "ACR_P2P_STS_ENDPOINT"],
  ["crEndpoint", "ACR_P2P_CR_ENDPOINT"],
  ["acrRefreshInterval", "ACR_P2P_ACR_REFRESH_INTERVAL"],
  ["acrTempCredentials", "ACR_P2P_ACR_TEMP_CREDENTIALS"],
];

/** Options the controller reads that the chart leaves at the code's default, and why. */
const CONTROLLER_DEFAULTS_KEPT: Readonly<Record<string, string>> = {
  ACR_P2P_TLS_SANS: "names of a generated certificate; the chart mounts certgen's (certgen gets the SANs)",
  ACR_P2P_CA_OUT: "development: writes out a generated certificate's CA",
  KUBECONFIG: "in-cluster config",
  ACR_P2P_MAX_BODY_BYTES: "the default is the API server's own request limit (3 MiB)",
  ACR_P2P_NAMESPACE_CACHE_SECONDS: "tuning; 5 s",
  ACR_P2P_PEER_PORT: "fixed port of the injected sidecar (65002)",
  ACR_P2P_HEALTH_PORT: "fixed port of the injected sidecar (65003)",
  ACR_P2P_PLAIN_HTTP_UPSTREAMS: "lab registries only: set from plainHttpRegistries when not empty",
  ACR_P2P_ALLOWED_HOSTS: "lab registries only: set from allowedHosts when not empty",
  ACR_P2P_PEER_SHARING: "on by default; pods opt out by annotation",
  ACR_P2P_DIRECTORY_ENABLED: "on; off only where no API server with watches is at hand",
  ACR_P2P_DIRECTORY_CA: "rendered at admission from the controller's current CA bundle (ACR_P2P_TLS_CA_FILE)",
  ALIBABA_CLOUD_OIDC_TOKEN_FILE: "the code's default is where the chart mounts the RRSA token",
};

/** Names of the env a container gets: its envFrom ConfigMaps' keys and its env entries. */
function containerEnv(container: V1Container, objects: KubernetesObject[]): string[] {
  const names: string[] = [];
  for (const from of container.envFrom ?? []) {
    const cm = findObject<V1ConfigMap>(objects, "ConfigMap", from.configMapRef?.name);
    names.push(...Object.keys(cm.data ?? {}));
  }
  for (const e of container.env ?? []) names.push(e.name);
  return names;
}

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
    const r = await helm(cluster, ["lint", "--strict", CHART_DIR, ...IMAGE_SET_ARGS]);
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

  it("documents this chart's cloud endpoints and refresh interval, naming the env", function () {
    for (const [path, env] of OWN_VALUES) {
      const comment = commentAbove(path);
      expect(comment, `values.yaml has no ${path}`).to.not.equal(undefined);
      expect(comment, `${path}'s comment names ${env}`).to.include(env);
    }
  });

  it("passes lab registries' plain HTTP and allowed hosts to the controller's env, and nothing by default", async function () {
    const defaults = await renderChart(cluster);
    expect(defaults.result.code, defaults.result.stderr).to.equal(0);
    const data = findObject<V1ConfigMap>(defaults.objects, "ConfigMap").data ?? {};
    expect(data).to.not.have.any.keys("ACR_P2P_PLAIN_HTTP_UPSTREAMS", "ACR_P2P_ALLOWED_HOSTS");
    const { result, objects } = await renderChart(cluster, [
      "--set",
      "registries={lab.internal:5000},plainHttpRegistries={lab.internal:5000},allowedHosts={auth.lab.internal,10.0.0.7:5001}",
    ]);
    expect(result.code, result.stderr).to.equal(0);
    expect(findObject<V1ConfigMap>(objects, "ConfigMap").data).to.include({
      ACR_P2P_PLAIN_HTTP_UPSTREAMS: "lab.internal:5000",
      ACR_P2P_ALLOWED_HOSTS: "auth.lab.internal,10.0.0.7:5001",
    });
  });

  it("passes the cloud endpoints and refresh interval to the controller's env", async function () {
    const defaults = await renderChart(cluster);
    expect(defaults.result.code, defaults.result.stderr).to.equal(0);
    // Empty means the region's VPC endpoint to the code, as unset does.
    expect(findObject<V1ConfigMap>(defaults.objects, "ConfigMap").data).to.include({
      ACR_P2P_STS_ENDPOINT: "",
      ACR_P2P_CR_ENDPOINT: "",
      ACR_P2P_ACR_REFRESH_INTERVAL: "300",
      // The sidecar's memory budget, one declaration for the chart, the webhook and the sidecar.
      ACR_P2P_SIDECAR_MEMORY_MARGIN: SIDECAR_MEMORY_MARGIN,
    });
    const { result, objects } = await renderChart(cluster, [
      "--set",
      "stsEndpoint=sts.cn-hangzhou.aliyuncs.com,crEndpoint=cr.cn-hangzhou.aliyuncs.com:443,acrRefreshInterval=60",
    ]);
    expect(result.code, result.stderr).to.equal(0);
    expect(findObject<V1ConfigMap>(objects, "ConfigMap").data).to.include({
      ACR_P2P_STS_ENDPOINT: "sts.cn-hangzhou.aliyuncs.com",
      ACR_P2P_CR_ENDPOINT: "cr.cn-hangzhou.aliyuncs.com:443",
      ACR_P2P_ACR_REFRESH_INTERVAL: "60",
    });
  });

  it("sets only env the code reads, and every option the code reads or a listed default", async function () {
    // Every conditional env on: AccessKey Secret, RRSA, temporary credentials, webhook by URL.
    const { result, objects } = await renderChart(cluster, [
      "--set",
      "acrInstances=cri-aaa,acrTempCredentials=true,accessKey=AKID,accessKeySecret=AKSECRET",
      "--set",
      "webhook.url=https://127.0.0.1:8443/mutate,optionBlockSize=268435456,memoryCacheCapacityGB=0.25",
    ]);
    expect(result.code, result.stderr).to.equal(0);
    const rrsa = await renderChart(cluster, [
      "--set",
      "rrsa.enable=true,rrsa.rrsaRoleARN=acs:ram::1:role/a,rrsa.rrsaOIDCProviderRoleARN=acs:ram::1:oidc-provider/b",
    ]);
    expect(rrsa.result.code, rrsa.result.stderr).to.equal(0);

    const controllerOf = (objs: KubernetesObject[]) => {
      const deployment = findObject<V1Deployment>(objs, "Deployment");
      return containerEnv(deployment.spec!.template.spec!.containers[0]!, objs);
    };
    const controllerSet = new Set([...controllerOf(objects), ...controllerOf(rrsa.objects)]);
    const controllerKnown = new Set([
      ...ALL_WEBHOOK_OPTIONS.map((o) => o.env),
      ...CLOUD_OPTIONS.map((o) => o.env),
    ]);
    const unknown = [...controllerSet].filter((e) => !controllerKnown.has(e));
    expect(unknown, "the controller's env that no option table reads").to.deep.equal([]);
    const unset = [...controllerKnown].filter(
      (e) => !controllerSet.has(e) && !(e in CONTROLLER_DEFAULTS_KEPT),
    );
    expect(unset, "options the code reads that the chart never sets").to.deep.equal([]);
    const stale = Object.keys(CONTROLLER_DEFAULTS_KEPT).filter(
      (e) => controllerSet.has(e) || !controllerKnown.has(e),
    );
    expect(stale, "CONTROLLER_DEFAULTS_KEPT entries to remove").to.deep.equal([]);

    const job = findObject<V1Job>(objects, "Job", `${RELEASE}-certgen`);
    const certgenSet = new Set(containerEnv(job.spec!.template.spec!.containers[0]!, objects));
    const certgenKnown = new Set(CERTGEN_OPTIONS.map((o) => o.env));
    expect(
      [...certgenSet].filter((e) => !certgenKnown.has(e)),
      "certgen env not read",
    ).to.deep.equal([]);
    expect([...certgenKnown].filter((e) => !certgenSet.has(e))).to.deep.equal(["KUBECONFIG"]);

    const cleanup = findObject<V1Job>(objects, "Job", `${RELEASE}-cleanup`);
    const cleanupSet = containerEnv(cleanup.spec!.template.spec!.containers[0]!, objects);
    expect(cleanupSet).to.deep.equal(
      CLEANUP_OPTIONS.map((o) => o.env).filter((e) => e !== "KUBECONFIG"),
      "cleanup env",
    );
  });

  it("probes readiness without the serving certificate check, which helm install --wait would deadlock on", async function () {
    const { result, objects } = await renderChart(cluster);
    expect(result.code, result.stderr).to.equal(0);
    const c = findObject<V1Deployment>(objects, "Deployment").spec!.template.spec!.containers[0]!;
    expect(c.readinessProbe?.httpGet?.path).to.equal(`/readyz?exclude=${SERVING_CERTIFICATE_CHECK}`);
    expect(c.livenessProbe?.httpGet?.path).to.equal("/healthz");
    const tls = findObject<V1Deployment>(objects, "Deployment").spec!.template.spec!.volumes?.find(
      (v) => v.name === "tls",
    );
    expect(tls?.secret?.optional).to.equal(true);
    expect(findObject<V1ConfigMap>(objects, "ConfigMap").data).to.include({
      ACR_P2P_TLS_CERT_FILE: "/etc/acr-p2p/tls/tls.crt",
      ACR_P2P_TLS_KEY_FILE: "/etc/acr-p2p/tls/tls.key",
      ACR_P2P_TLS_CA_FILE: "/etc/acr-p2p/tls/ca.crt",
    });
  });

  it("runs helm uninstall's cleanup as a pre-delete hook whose RBAC deletes Secrets only by label and reads none", async function () {
    const { result, objects } = await renderChart(cluster);
    expect(result.code, result.stderr).to.equal(0);
    const hookObjects = objects.filter(
      (o) => o.metadata?.labels?.["app.kubernetes.io/component"] === "cleanup",
    );
    expect(hookObjects.map((o) => o.kind).sort()).to.deep.equal([
      "ClusterRole",
      "ClusterRoleBinding",
      "Job",
      "ServiceAccount",
    ]);
    const weight = (o: KubernetesObject) => Number(o.metadata?.annotations?.["helm.sh/hook-weight"]);
    for (const o of hookObjects) {
      expect(o.metadata?.annotations?.["helm.sh/hook"], `${o.kind} hook`).to.equal("pre-delete");
      // Helm creates hooks by weight: the ServiceAccount and its RBAC before the Job.
      if (o.kind !== "Job") expect(weight(o), `${o.kind} weight`).to.be.lessThan(weight(findJob()));
    }
    function findJob() {
      return findObject<V1Job>(objects, "Job", `${RELEASE}-cleanup`);
    }
    const job = findJob();
    expect(job.spec?.template.spec?.serviceAccountName).to.equal(CLEANUP_SA);
    expect(job.spec?.template.spec?.containers[0]?.args).to.deep.equal(["cleanup"]);
    const rules = findObject<V1ClusterRole>(objects, "ClusterRole", CLEANUP_SA).rules ?? [];
    expect(
      rules.map((r) => ({ resources: r.resources, verbs: r.verbs, names: r.resourceNames })),
    ).to.deep.equal([
      { resources: ["namespaces"], verbs: ["list"], names: undefined },
      { resources: ["secrets"], verbs: ["deletecollection"], names: undefined },
      { resources: ["mutatingwebhookconfigurations"], verbs: ["delete"], names: [WEBHOOK_CONFIG_NAME] },
    ]);

    const off = await renderChart(cluster, ["--set", "cleanup.enabled=false"]);
    expect(off.result.code, off.result.stderr).to.equal(0);
    expect(off.objects.filter((o) => o.metadata?.name === `${RELEASE}-cleanup`)).to.deep.equal([]);
  });

  it("schedules the certgen Job and CronJob where the controller may run (a cluster of tainted virtual nodes only)", async function () {
    const toleration = {
      key: "virtual-kubelet.io/provider",
      operator: "Equal",
      value: "alibabacloud",
      effect: "NoSchedule",
    };
    const { result, objects } = await renderChart(cluster, [
      "--set-json",
      `controller.tolerations=${JSON.stringify([toleration])}`,
      "--set",
      "controller.nodeSelector.type=virtual-kubelet",
    ]);
    expect(result.code, result.stderr).to.equal(0);
    const pods = [
      findObject<V1Deployment>(objects, "Deployment").spec!.template.spec!,
      findObject<V1Job>(objects, "Job", `${RELEASE}-certgen`).spec!.template.spec!,
      findObject<V1CronJob>(objects, "CronJob").spec!.jobTemplate.spec!.template.spec!,
      findObject<V1Job>(objects, "Job", `${RELEASE}-cleanup`).spec!.template.spec!,
    ];
    for (const pod of pods) {
      expect(pod.tolerations).to.deep.equal([toleration]);
      expect(pod.nodeSelector).to.deep.equal({ type: "virtual-kubelet" });
    }
  });

  it("lets the controller update secrets only by the temporary credentials' name, only with acrTempCredentials", async function () {
    const secretRules = (objs: KubernetesObject[]) =>
      (findObject<V1ClusterRole>(objs, "ClusterRole", CONTROLLER_SA).rules ?? []).filter((r) =>
        r.resources?.includes("secrets"),
      );
    const off = await renderChart(cluster);
    expect(off.result.code, off.result.stderr).to.equal(0);
    expect(secretRules(off.objects)).to.deep.equal([
      { apiGroups: [""], resources: ["secrets"], verbs: ["get", "create"] },
    ]);
    const on = await renderChart(cluster, ["--set", "acrInstances=cri-aaa,acrTempCredentials=true"]);
    expect(on.result.code, on.result.stderr).to.equal(0);
    expect(secretRules(on.objects)).to.deep.equal([
      { apiGroups: [""], resources: ["secrets"], verbs: ["get", "create"] },
      {
        apiGroups: [""],
        resources: ["secrets"],
        resourceNames: [TEMP_CREDENTIALS_SECRET_NAME],
        verbs: ["update"],
      },
    ]);
  });

  it("lets the controller watch what the peer directory reads and gives it the shared ticket key", async function () {
    const { result, objects } = await renderChart(cluster);
    expect(result.code, result.stderr).to.equal(0);
    const rules = findObject<V1ClusterRole>(objects, "ClusterRole", CONTROLLER_SA).rules ?? [];
    const allows = (group: string, resource: string, verb: string) =>
      rules.some(
        (r) =>
          r.apiGroups?.includes(group) &&
          r.resources?.includes(resource) &&
          r.verbs.includes(verb) &&
          r.resourceNames === undefined,
      );
    for (const resource of ["pods", "nodes", "namespaces"])
      for (const verb of ["get", "list", "watch"])
        expect(allows("", resource, verb), `${resource} ${verb}`).to.equal(true);
    expect(allows("authentication.k8s.io", "tokenreviews", "create")).to.equal(true);
    const data = findObject<V1ConfigMap>(objects, "ConfigMap").data ?? {};
    expect(data).to.include({
      ACR_P2P_PEER_TICKET_KEY_FILE: "/etc/acr-p2p/tls/ticket.key",
      ACR_P2P_DIRECTORY_PORT: "8444",
    });
    const env = findObject<V1Deployment>(objects, "Deployment").spec!.template.spec!.containers[0]!.env ?? [];
    expect(
      env.map((e) => e.name),
      "the CA is rendered at admission",
    ).to.not.include("ACR_P2P_DIRECTORY_CA");
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
    // The AccessKey pair is the other authorization method (with RRSA the chart refuses it).
    const ak = await renderChart(cluster, ["--set", "accessKey=AKID", "--set", "accessKeySecret=AKSECRET"]);
    expect(ak.result.code, ak.result.stderr).to.equal(0);
    const secret = ak.objects.find((o) => o.kind === "Secret") as
      { stringData?: Record<string, string> } | undefined;
    expect(secret?.stringData).to.deep.equal({ accessKeyId: "AKID", accessKeySecret: "AKSECRET" });
    const rendered = ak.result.stdout;
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
    ["plainHttpRegistries={http://lab:5000}", /plainHttpRegistries/],
    ["allowedHosts={lab/realm}", /allowedHosts/],
    ["stsEndpoint=https://sts.aliyuncs.com", /stsEndpoint/],
    ["crEndpoint=CR.example.com", /crEndpoint/],
    ["acrRefreshInterval=5", /acrRefreshInterval/],
    ["acrRefreshInterval=100000", /acrRefreshInterval/],
    ["acrTempCredentials=true", /acrTempCredentials.*acrInstances/],
    // What the controller refuses at start, refused at install (the same rules: values.schema.json).
    [
      "rrsa.enable=true,rrsa.rrsaRoleARN=acs:ram::1:role/r,rrsa.rrsaOIDCProviderRoleARN=acs:ram::1:oidc-provider/p,accessKey=AK,accessKeySecret=S",
      /rrsa\.enable.*accessKey.*choose one/,
    ],
    ["rrsa.rrsaRoleARN=acs:ram::aaa", /rrsa\/rrsaRoleARN.*acs:ram::aaa/],
    ["rrsa.assumeRoleARN=acs:ram::1:user/x", /rrsa\/assumeRoleARN/],
    ["rrsa.rrsaOIDCProviderRoleARN=acs:ram::1:role/r", /rrsa\/rrsaOIDCProviderRoleARN/],
    ["acrInstances={cri-aaa,bad}", /acrInstances.*bad/],
    ["acrInstances=cri-aaa;cri-bbb", /acrInstances/],
    ["region=Hangzhou", /region/],
    ["vpcId=net-123", /vpcId/],
  ];
  for (const [set, names] of BAD_VALUES) {
    it(`refuses ${set}, naming the parameter`, async function () {
      const { result } = await renderChart(cluster, ["--set", set]);
      expect(result.code, `rendered with ${set}`).to.not.equal(0);
      expect(result.stderr).to.match(names);
    });
  }

  it("refuses to render without images, naming the values and how to build and push them", async function () {
    const { result } = await renderChart(cluster, [], { images: false });
    expect(result.code).to.not.equal(0);
    expect(result.stderr).to.contain("sidecar.image.digest");
    expect(result.stderr).to.contain("controller.image.digest");
    expect(result.stderr).to.contain("npm run images -- --push REGISTRY/PREFIX");
    // One image is not enough either.
    const half = await renderChart(cluster, ["--set", IMAGE_SET_ARGS[1]!.split(",").slice(0, 2).join(",")], {
      images: false,
    });
    expect(half.result.code).to.not.equal(0);
  });

  it("renders the controller by tag when only its repository is set (the chart's appVersion, the tag npm run images pushes)", async function () {
    const { result, objects } = await renderChart(cluster, [
      "--set",
      "controller.image.digest=,controller.image.repository=registry.test.local:5000/acr-p2p/controller",
    ]);
    expect(result.code, result.stderr).to.equal(0);
    const deployment = findObject<V1Deployment>(objects, "Deployment");
    expect(deployment.spec!.template.spec!.containers[0]!.image).to.equal(
      "registry.test.local:5000/acr-p2p/controller:0.1.0",
    );
  });

  it("takes acrInstances as a list or as one comma-separated string", async function () {
    for (const args of [
      ["--set", "acrInstances={cri-aaa,cri-bbb}"],
      ["--set-string", "acrInstances=cri-aaa\\, cri-bbb"],
    ]) {
      const { result, objects } = await renderChart(cluster, args);
      expect(result.code, result.stderr).to.equal(0);
      const config = objects.find(
        (o) => o.kind === "ConfigMap" && o.metadata?.name?.endsWith("-config"),
      ) as V1ConfigMap;
      expect(config.data?.["ACR_P2P_ACR_INSTANCES"], args[1]).to.equal("cri-aaa,cri-bbb");
    }
  });

  it("accepts memoryCacheCapacityGB and optionBlockSize when they agree", async function () {
    const { result } = await renderChart(cluster, [
      "--set",
      "memoryCacheCapacityGB=1,optionBlockSize=1073741824",
    ]);
    expect(result.code, result.stderr).to.equal(0);
  });

  it("helm show readme prints the chart's README, with install, upgrade, uninstall and troubleshooting", async function () {
    const r = await helm(cluster, ["show", "readme", CHART_DIR]);
    expect(r.code, r.stderr).to.equal(0);
    for (const section of ["## Upgrade", "## Uninstall", "## Troubleshooting", "npm run images -- --push"]) {
      expect(r.stdout, section).to.include(section);
    }
    expect(r.stdout).to.include("--dry-run=server");
  });

  describe("monitoring", () => {
    const MONITORING_KINDS = ["ServiceMonitor", "PodMonitor", "PrometheusRule"];
    const enabled = () =>
      renderChart(cluster, ["--set", "monitoring.enabled=true,monitoring.labels.release=prom"]);

    it("renders nothing for monitoring by default", async function () {
      const { result, objects } = await renderChart(cluster);
      expect(result.code, result.stderr).to.equal(0);
      expect(objects.filter((o) => MONITORING_KINDS.includes(o.kind ?? ""))).to.deep.equal([]);
      expect(objects.filter((o) => o.metadata?.name?.endsWith("-dashboard"))).to.deep.equal([]);
    });

    it("scrapes the controller's metrics port and every injected sidecar's health port", async function () {
      const { result, objects } = await enabled();
      expect(result.code, result.stderr).to.equal(0);
      const service = findObject<V1Service>(objects, "Service");
      const monitor = findObject<KubernetesObject & { spec: any }>(objects, "ServiceMonitor");
      expect(monitor.metadata?.labels?.["release"]).to.equal("prom");
      expect(service.metadata?.labels).to.include(monitor.spec.selector.matchLabels);
      expect(service.spec?.ports?.map((p) => p.name)).to.include(monitor.spec.endpoints[0].port);
      const pods = findObject<KubernetesObject & { spec: any }>(objects, "PodMonitor");
      expect(pods.spec.selector.matchLabels).to.deep.equal({ [PEER_LABEL]: "true" });
      expect(pods.spec.podMetricsEndpoints[0].port).to.equal(HEALTH_PORT_NAME);
      expect(pods.spec.namespaceSelector).to.deep.equal({ any: true });
    });

    it("alerts and the dashboard name only metrics the processes export", async function () {
      const { objects } = await enabled();
      const known = new Set([...acrP2pMetricNames(), ...processMetricNames()]);
      const rule = findObject<KubernetesObject & { spec: any }>(objects, "PrometheusRule");
      const alerts = rule.spec.groups.flatMap((g: any) => g.rules) as { alert: string; expr: string }[];
      expect(alerts.map((a) => a.alert)).to.include.members([
        "AcrP2POriginShareHigh",
        "AcrP2PPeersQuarantined",
        "AcrP2PDirectoryUnreachable",
        "AcrP2PWebhookErrors",
        "AcrP2PWebhookSlow",
      ]);
      const dashboardMap = objects.find(
        (o) => o.kind === "ConfigMap" && o.metadata?.name?.endsWith("-dashboard"),
      ) as (KubernetesObject & { data: Record<string, string> }) | undefined;
      expect(dashboardMap?.metadata?.labels).to.include({ grafana_dashboard: "1" });
      const dashboard = JSON.parse(dashboardMap!.data["acr-p2p.json"]!) as {
        panels: { targets: { expr: string }[] }[];
      };
      const exprs = [
        ...alerts.map((a) => a.expr),
        ...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)),
      ];
      expect(exprs.length).to.be.above(10);
      for (const expr of exprs) {
        const names = [...expr.matchAll(/\b((?:acr_p2p|process|nodejs)_[a-z_]+)\b/g)].map((m) => m[1]!);
        expect(names.length, expr).to.be.above(0);
        for (const name of names) {
          const base = name.replace(/_(bucket|sum|count)$/, "");
          expect(known.has(name) || known.has(base), `${name} in ${expr}`).to.equal(true);
        }
      }
    });

    it("the API server accepts the monitoring objects under the Prometheus Operator's own CRDs", async function () {
      if (cluster.external) this.skip();
      for (const file of monitoringCrdFiles()) {
        const r = await runCommand(cluster.kubectl, [
          "--kubeconfig",
          cluster.kubeconfigPath,
          "apply",
          "--server-side",
          "-f",
          file,
        ]);
        expect(r.code, r.stderr).to.equal(0);
      }
      const established = await runCommand(cluster.kubectl, [
        "--kubeconfig",
        cluster.kubeconfigPath,
        "wait",
        "--for=condition=Established",
        "crd/servicemonitors.monitoring.coreos.com",
        "crd/podmonitors.monitoring.coreos.com",
        "crd/prometheusrules.monitoring.coreos.com",
        "--timeout=30s",
      ]);
      expect(established.code, established.stderr).to.equal(0);
      const { objects } = await enabled();
      const monitoring = objects.filter((o) => MONITORING_KINDS.includes(o.kind ?? ""));
      expect(monitoring).to.have.length(3);
      // The release's namespace, as helm install --create-namespace would make it.
      await runCommand(cluster.kubectl, [
        "--kubeconfig",
        cluster.kubeconfigPath,
        "create",
        "namespace",
        CHART_NAMESPACE,
      ]);
      const dir = makeTempDir("monitoring");
      const file = join(dir, "monitoring.json");
      writeFileSync(file, JSON.stringify({ apiVersion: "v1", kind: "List", items: monitoring }));
      const r = await runCommand(cluster.kubectl, [
        "--kubeconfig",
        cluster.kubeconfigPath,
        "apply",
        "--dry-run=server",
        "-n",
        CHART_NAMESPACE,
        "-f",
        file,
      ]);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.match(/servicemonitor\.monitoring\.coreos\.com\/\S+ created \(server dry run\)/);
    });
  });

  it("requires Kubernetes >= 1.29 (native sidecars)", async function () {
    const old = await renderChart(cluster, ["--kube-version", "1.28.9"]);
    expect(old.result.code).to.not.equal(0);
    expect(old.result.stderr).to.match(/kubeVersion/);
    const ok = await renderChart(cluster, ["--kube-version", "1.29.0"]);
    expect(ok.result.code, ok.result.stderr).to.equal(0);
  });
});
