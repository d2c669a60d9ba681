/**
 * Injection through the real API server: the chart's MutatingWebhookConfiguration (selectors,
 * failurePolicy, timeout, sideEffects) in front of the controller running as a local process with the
 * Deployment's args and env and the controller ServiceAccount's RBAC. Pods are created through the API
 * and read back as the API server stored them.
 */
import { createServer, type Server, type Socket } from "node:net";
import { expect } from "chai";
import { AppsV1Api, CoreV1Api, type V1Pod } from "@kubernetes/client-node";
import {
  CHART_NAMESPACE,
  SIDECAR_IMAGE,
  TEST_REGISTRY,
  TEST_REGISTRY_PATH,
} from "../support/cluster-chart.ts";
import {
  createTestNamespace,
  deleteNamespaces,
  MODE_LABEL,
  setQuotaStatus,
  uniqueName,
} from "../support/cluster-objects.ts";
import {
  appPod,
  expectUntouched,
  isInjected,
  OTHER_IMAGE,
  P2P_CONFIG,
  PLAIN_HTTP,
  REWRITTEN_APP_IMAGE,
  sidecarOf,
} from "../support/cluster-pods.ts";
import { runCommand, waitUntil } from "../support/origin/child-process.ts";
import {
  sharedWebhook,
  startActiveWebhook,
  stopWebhookProcess,
  needsLocalWebhook,
  type WebhookRig,
  webhookMetric,
} from "../support/cluster-webhook.ts";

const P2P = { [MODE_LABEL]: "p2p" };

function dockerConfig(host: string, user: string, password: string): Record<string, string> {
  const auth = Buffer.from(`${user}:${password}`).toString("base64");
  const json = JSON.stringify({ auths: { [host]: { username: user, password, auth } } });
  return { ".dockerconfigjson": Buffer.from(json).toString("base64") };
}

describe("cluster: injection through the API server", function () {
  this.timeout(120_000);
  let rig: WebhookRig;
  let core: CoreV1Api;
  const namespaces: string[] = [];
  const newNamespace = async (prefix: string, labels: Record<string, string> = {}) => {
    const ns = await createTestNamespace(rig.cluster.kubeConfig, prefix, labels);
    namespaces.push(ns);
    return ns;
  };
  const kubectlDescribe = (namespace: string, kind: string, name: string) =>
    runCommand(rig.cluster.kubectl, [
      "--kubeconfig",
      rig.cluster.kubeconfigPath,
      "-n",
      namespace,
      "describe",
      kind,
      name,
    ]);
  const create = (namespace: string, body: V1Pod, dryRun?: string) =>
    core.createNamespacedPod({ namespace, body, ...(dryRun ? { dryRun } : {}) });

  before(async function () {
    rig = await sharedWebhook();
    core = rig.cluster.kubeConfig.makeApiClient(CoreV1Api);
  });
  after(() => deleteNamespaces(rig.cluster.kubeConfig, namespaces));

  it("injects a pod of a labelled namespace: sidecar, rewritten images, annotations, labels", async function () {
    const ns = await newNamespace("inj", P2P);
    const pod = await create(ns, appPod("web"));
    const sidecar = pod.spec?.initContainers?.[0];
    expect(sidecar?.image, "first init container").to.equal(rig.sidecarImage);
    expect(sidecar?.restartPolicy).to.equal("Always");
    expect(sidecar?.imagePullPolicy).to.equal("IfNotPresent");
    const probePort = sidecar?.startupProbe?.httpGet?.port;
    const named = sidecar?.ports?.find((p) => p.name === probePort)?.containerPort;
    expect(named ?? probePort).to.equal(65003);
    expect(pod.spec?.containers.map((c) => c.image)).to.deep.equal([REWRITTEN_APP_IMAGE, OTHER_IMAGE]);
    const annotations = pod.metadata?.annotations ?? {};
    expect(annotations[MODE_LABEL]).to.equal("p2p");
    const config = JSON.parse(annotations[P2P_CONFIG] ?? "null");
    expect(JSON.stringify(config))
      .to.include(REWRITTEN_APP_IMAGE)
      .and.include(`${TEST_REGISTRY}/shop/web:1.4.2`);
    expect(annotations[PLAIN_HTTP]?.split(",")).to.include("127.0.0.1:65001");
    expect(pod.metadata?.labels).to.include({ "acr-p2p/peer": "true", "acr-p2p/group": ns });
  });

  it("shows what was injected in kubectl describe pod", async function () {
    const ns = await newNamespace("desc", P2P);
    await create(ns, appPod("web"));
    const r = await kubectlDescribe(ns, "pod", "web");
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.include(P2P_CONFIG).and.include(REWRITTEN_APP_IMAGE).and.include(rig.sidecarImage);
    expect(r.stdout).to.match(/ACR_P2P_PORT:\s+65001/);
    // describe cuts long annotation values; the per-fact ones stay whole.
    expect(r.stdout).to.match(/acr-p2p\/injected-images: 1 through 127\.0\.0\.1:65001: web\n/);
    expect(r.stdout).to.match(/acr-p2p\/injected-cache: memory, \d+[MG]i\n/);
    expect(r.stdout).to.match(/acr-p2p\/injected-group: \S+, peer sharing on\n/);
    expect(r.stdout).to.match(/acr-p2p\/injected-pull-secrets: (none|acr-p2p-[0-9a-f]{16})\n/);
  });

  it("a pod that opted in and was left alone says why in kubectl describe (acr-p2p/not-injected)", async function () {
    const ns = await newNamespace("skipped", P2P);
    const only = appPod("web", { spec: { containers: [{ name: "log", image: OTHER_IMAGE }] } });
    const created = await create(ns, only);
    expect(isInjected(created)).to.equal(false);
    expect(created.metadata?.annotations?.["acr-p2p/not-injected"]).to.match(/^no-accelerated-images: /);
    const r = await kubectlDescribe(ns, "pod", "web");
    expect(r.stdout).to.match(/acr-p2p\/not-injected: no-accelerated-images/);
  });

  it("a skipped pod's reason is an Event on its ReplicaSet, which kubectl describe rs shows", async function () {
    if (rig.cluster.external) this.skip();
    const ns = await newNamespace("skipevent", P2P);
    const apps = rig.cluster.kubeConfig.makeApiClient(AppsV1Api);
    // No controller-manager here: the ReplicaSet stays at 0 pods; the test creates one in its name.
    const rs = await apps.createNamespacedReplicaSet({
      namespace: ns,
      body: {
        metadata: { name: "web-5d8f" },
        spec: {
          replicas: 0,
          selector: { matchLabels: { app: "web" } },
          template: {
            metadata: { labels: { app: "web" } },
            spec: { containers: [{ name: "log", image: OTHER_IMAGE }] },
          },
        },
      },
    });
    const owned = appPod("web", { spec: { containers: [{ name: "log", image: OTHER_IMAGE }] } });
    owned.metadata!.ownerReferences = [
      {
        apiVersion: "apps/v1",
        kind: "ReplicaSet",
        name: "web-5d8f",
        uid: rs.metadata!.uid!,
        controller: true,
      },
    ];
    expect(isInjected(await create(ns, owned))).to.equal(false);
    let described = "";
    await waitUntil(
      async () => {
        const r = await kubectlDescribe(ns, "rs", "web-5d8f");
        described = r.stdout;
        return described.includes("AccelerationSkipped");
      },
      20_000,
      () => `no Event in kubectl describe rs:\n${described}`,
    );
    expect(described).to.match(
      /Warning\s+AccelerationSkipped\s+.*pods of this ReplicaSet are not injected \(no-accelerated-images\)/,
    );
  });

  it("a pod created with the sidecar already in it is not a skip in the metrics", async function () {
    if (rig.cluster.external) this.skip();
    const ns = await newNamespace("again", P2P);
    const injected = await create(ns, appPod("first"));
    const copy: V1Pod = {
      metadata: {
        name: "copy",
        labels: injected.metadata?.labels,
        annotations: injected.metadata?.annotations,
      },
      spec: injected.spec,
    };
    const before = await webhookMetric(rig, 'acr_p2p_webhook_admissions_total{result="ignored"}');
    const created = await create(ns, copy);
    expect(created.spec?.initContainers?.length).to.equal(injected.spec?.initContainers?.length);
    expect(await webhookMetric(rig, 'acr_p2p_webhook_admissions_total{result="ignored"}')).to.equal(
      before + 1,
    );
    expect(await webhookMetric(rig, 'acr_p2p_webhook_skips_total{reason="already-injected"}')).to.equal(0);
  });

  it("leaves a pod of an unlabelled namespace alone", async function () {
    const ns = await newNamespace("plain");
    expect(expectUntouched(await create(ns, appPod("web")))).to.deep.equal([]);
  });

  it("leaves a pod labelled off in a labelled namespace alone", async function () {
    const ns = await newNamespace("optout", P2P);
    expect(expectUntouched(await create(ns, appPod("web", { label: "off" })))).to.deep.equal([]);
  });

  it("injects a pod labelled p2p in an unlabelled namespace", async function () {
    const ns = await newNamespace("podlabel");
    expect(isInjected(await create(ns, appPod("web", { label: "p2p" })))).to.equal(true);
  });

  it("never touches pods in kube-system or its own namespace, labelled or not", async function () {
    const nsApi = core;
    await nsApi.patchNamespace({
      name: CHART_NAMESPACE,
      body: [{ op: "add", path: "/metadata/labels/k8s.aliyun.com~1image-accelerate-mode", value: "p2p" }],
    });
    try {
      for (const ns of ["kube-system", CHART_NAMESPACE]) {
        const pod = await create(ns, appPod(uniqueName("sys"), { label: "p2p" }), "All");
        expect(expectUntouched(pod), ns).to.deep.equal([]);
      }
    } finally {
      await nsApi.patchNamespace({
        name: CHART_NAMESPACE,
        body: [{ op: "remove", path: "/metadata/labels/k8s.aliyun.com~1image-accelerate-mode" }],
      });
    }
  });

  it("injects a pod created from a Deployment's template (generateName, no name at admission)", async function () {
    const ns = await newNamespace("deploy", P2P);
    const pod = appPod("web", { generateName: true });
    pod.metadata!.labels = { ...pod.metadata!.labels, "pod-template-hash": "5d9c7b" };
    const created = await create(ns, pod);
    expect(created.metadata?.name).to.match(/^web-/);
    expect(isInjected(created)).to.equal(true);
    expect(created.spec?.containers[0]?.image).to.equal(REWRITTEN_APP_IMAGE);
  });

  it("admits injected pods in a namespace enforcing PodSecurity restricted", async function () {
    const ns = await newNamespace("pss", { ...P2P, "pod-security.kubernetes.io/enforce": "restricted" });
    const pod = appPod("web");
    pod.spec!.securityContext = { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } };
    const created = await create(ns, pod);
    expect(isInjected(created)).to.equal(true);
  });

  it("admits injected pods in a namespace with a LimitRange and a ResourceQuota", async function () {
    const ns = await newNamespace("quota", P2P);
    await core.createNamespacedLimitRange({
      namespace: ns,
      body: {
        metadata: { name: "limits" },
        spec: {
          limits: [
            {
              type: "Container",
              max: { cpu: "2", memory: "2Gi" },
              min: { cpu: "10m", memory: "16Mi" },
              _default: { cpu: "500m", memory: "256Mi" },
              defaultRequest: { cpu: "100m", memory: "128Mi" },
            },
          ],
        },
      },
    });
    await core.createNamespacedResourceQuota({
      namespace: ns,
      body: {
        metadata: { name: "quota" },
        spec: {
          hard: {
            pods: "10",
            "requests.cpu": "4",
            "requests.memory": "8Gi",
            "limits.cpu": "8",
            "limits.memory": "16Gi",
          },
        },
      },
    });
    await setQuotaStatus(rig.cluster.kubeConfig, ns, "quota");
    const created = await create(
      ns,
      appPod("web", {
        resources: { requests: { cpu: "100m", memory: "64Mi" }, limits: { cpu: "200m", memory: "128Mi" } },
      }),
    );
    const sidecar = sidecarOf(created, rig.sidecarImage);
    expect(sidecar, "injected").to.not.equal(undefined);
    // The quota counts limits.cpu and limits.memory: every container, the sidecar too, must state them.
    expect(sidecar?.resources?.limits).to.have.keys("cpu", "memory");
    expect(sidecar?.resources?.requests).to.have.keys("cpu", "memory");
    const quota = await core.readNamespacedResourceQuota({ name: "quota", namespace: ns });
    expect(quota.status?.used?.pods).to.equal("1");
  });

  it("creates the pod unmodified, not rejected, when the sidecar would break the namespace's LimitRange", async function () {
    const ns = await newNamespace("tight", P2P);
    await core.createNamespacedLimitRange({
      namespace: ns,
      body: {
        metadata: { name: "small" },
        spec: { limits: [{ type: "Container", max: { memory: "512Mi" } }] },
      },
    });
    // Injected, the pod would carry a 672Mi sidecar, and the API server's LimitRanger would refuse it.
    const created = await create(ns, appPod("web", { resources: { limits: { memory: "256Mi" } } }));
    expect(expectUntouched(created)).to.deep.equal([]);
  });

  it("object limits: creates a pod with 261,900 bytes of annotations unmodified, not rejected", async function () {
    const ns = await newNamespace("annotations", P2P);
    const body = appPod("annotated");
    body.metadata!.annotations = { big: "x".repeat(261_900 - 3) };
    // Injected, its annotations would pass 256 KiB: "metadata.annotations: Too long".
    const created = await create(ns, body);
    expect(expectUntouched(created)).to.deep.equal([]);
  });

  it("object limits: creates a pod of 600 containers with long image names unmodified, not rejected", async function () {
    const ns = await newNamespace("crowded", P2P);
    const body = appPod("crowded");
    const longImage = (i: number) => `${TEST_REGISTRY}/shop/${"a".repeat(180)}-${i}:1`;
    while (body.spec!.containers.length < 600) {
      const i = body.spec!.containers.length;
      body.spec!.containers.push({ name: `c${i}`, image: longImage(i) });
    }
    const created = await create(ns, body);
    expect(expectUntouched(created)).to.deep.equal([]);
    expect(created.spec!.containers.map((c) => c.image)).to.deep.equal(
      body.spec!.containers.map((c) => c.image),
    );
  });

  it("admits pods in a namespace whose ResourceQuota counts limits.cpu, with no LimitRange defaults", async function () {
    const ns = await newNamespace("quota-only", P2P);
    await core.createNamespacedResourceQuota({
      namespace: ns,
      body: {
        metadata: { name: "quota" },
        spec: { hard: { pods: "10", "limits.cpu": "8", "limits.memory": "16Gi" } },
      },
    });
    await setQuotaStatus(rig.cluster.kubeConfig, ns, "quota");
    // The app states its limits, as such a quota forces it to; the sidecar must not get the pod rejected.
    const created = await create(
      ns,
      appPod("web", { resources: { limits: { cpu: "200m", memory: "128Mi" } } }),
    );
    const sidecar = sidecarOf(created, rig.sidecarImage);
    if (sidecar) expect(sidecar.resources?.limits).to.have.keys("cpu", "memory");
  });

  it("derives a pull secret from the ServiceAccount's imagePullSecrets before the create returns", async function () {
    const ns = await newNamespace("sa", P2P);
    await core.createNamespacedSecret({
      namespace: ns,
      body: {
        metadata: { name: "regcred" },
        type: "kubernetes.io/dockerconfigjson",
        data: dockerConfig(TEST_REGISTRY, "alice", "s3cret"),
      },
    });
    await core.createNamespacedServiceAccount({
      namespace: ns,
      body: { metadata: { name: "puller" }, imagePullSecrets: [{ name: "regcred" }] },
    });
    const pod = appPod("web");
    pod.spec!.serviceAccountName = "puller";
    const created = await create(ns, pod);
    const names = (created.spec?.imagePullSecrets ?? []).map((s) => s.name);
    expect(names).to.include("regcred");
    const derived = names.filter((n) => n?.startsWith("acr-p2p-"));
    expect(derived, "a derived pull secret on the pod").to.have.length(1);
    // Read right away: it must exist before the pod create returned (the kubelet needs it at pull time).
    const secret = await core.readNamespacedSecret({ name: derived[0]!, namespace: ns });
    expect(secret.metadata?.labels?.["app.kubernetes.io/managed-by"]).to.equal("acr-p2p");
    expect(secret.type).to.equal("kubernetes.io/dockerconfigjson");
    const auths = JSON.parse(
      Buffer.from(secret.data?.[".dockerconfigjson"] ?? "", "base64").toString(),
    ).auths;
    const entry = auths[`127.0.0.1:65001/${TEST_REGISTRY_PATH}/`];
    expect(entry, `keys: ${Object.keys(auths).join(", ")}`).to.not.equal(undefined);
    const auth = entry.auth ?? Buffer.from(`${entry.username}:${entry.password}`).toString("base64");
    expect(Buffer.from(auth, "base64").toString()).to.equal("alice:s3cret");
  });

  it("derives the same kind of secret from the pod's own imagePullSecrets", async function () {
    const ns = await newNamespace("own", P2P);
    await core.createNamespacedSecret({
      namespace: ns,
      body: {
        metadata: { name: "own" },
        type: "kubernetes.io/dockerconfigjson",
        data: dockerConfig(TEST_REGISTRY, "bob", "pw"),
      },
    });
    const created = await create(ns, appPod("web", { spec: { imagePullSecrets: [{ name: "own" }] } }));
    const derived = (created.spec?.imagePullSecrets ?? [])
      .map((s) => s.name)
      .filter((n) => n?.startsWith("acr-p2p-"));
    expect(derived).to.have.length(1);
    await core.readNamespacedSecret({ name: derived[0]!, namespace: ns });
  });

  it("writes no secret on a server-side dry-run create", async function () {
    const ns = await newNamespace("dry", P2P);
    await core.createNamespacedSecret({
      namespace: ns,
      body: {
        metadata: { name: "regcred" },
        type: "kubernetes.io/dockerconfigjson",
        data: dockerConfig(TEST_REGISTRY, "carol", "pw"),
      },
    });
    const answer = await create(
      ns,
      appPod("web", { spec: { imagePullSecrets: [{ name: "regcred" }] } }),
      "All",
    );
    expect(isInjected(answer), "dry-run answer is injected").to.equal(true);
    const secrets = await core.listNamespacedSecret({
      namespace: ns,
      labelSelector: "app.kubernetes.io/managed-by=acr-p2p",
    });
    expect(secrets.items.map((s) => s.metadata?.name)).to.deep.equal([]);
    const pods = await core.listNamespacedPod({ namespace: ns });
    expect(pods.items).to.have.length(0);
  });

  describe("with the webhook down", function () {
    let hung: Server | undefined;
    const sockets = new Set<Socket>();

    before(function () {
      needsLocalWebhook(this, rig);
    });

    after(async function () {
      if (rig.cluster.external) return;
      for (const s of sockets) s.destroy();
      if (hung) await new Promise((r) => hung!.close(r));
      await startActiveWebhook(rig);
    });

    it("creates pods unmodified at once when nothing listens", async function () {
      await stopWebhookProcess(rig);
      const ns = await newNamespace("down", P2P);
      const started = performance.now();
      const pod = await create(ns, appPod("web"));
      const elapsed = performance.now() - started;
      expect(expectUntouched(pod)).to.deep.equal([]);
      expect(elapsed).to.be.below(3000);
    });

    it("creates pods unmodified within the webhook timeout when the webhook hangs", async function () {
      hung = createServer((socket) => {
        sockets.add(socket); // accept, never answer
      });
      await new Promise<void>((resolve) => hung!.listen(rig.port, "127.0.0.1", resolve));
      const ns = await newNamespace("hung", P2P);
      const started = performance.now();
      const pod = await create(ns, appPod("web"));
      const elapsed = performance.now() - started;
      expect(expectUntouched(pod)).to.deep.equal([]);
      // timeoutSeconds is 5 in the test values: the API server waited for it, and not much longer.
      expect(elapsed).to.be.within(4000, 8000);
      for (const s of sockets) s.destroy();
      await new Promise((r) => hung!.close(r));
      hung = undefined;
    });
  });
});
