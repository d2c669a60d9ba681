/**
 * The node tier as a small cluster: kube-controller-manager and kube-scheduler beside the API server,
 * six virtual nodes in two zones (three each), and Deployments scheduled across them, one pod per node
 * (the pods use the node's network, as an ECI pod has its VM's). On it, the user's path: the chart
 * installed as the README says, its controller running as pods on the virtual nodes and the API server
 * calling the webhook through the chart's Service; a Deployment of an app image on a token-auth origin
 * (behind a byte-counting proxy with a fixed egress rate) scaled out with the webhook down and with it
 * up; two more nodes; a sidecar killed mid-pull; helm uninstall.
 */
import { readFileSync } from "node:fs";
import { expect } from "chai";
import { AdmissionregistrationV1Api, AppsV1Api, CoreV1Api, type V1Pod } from "@kubernetes/client-node";
import { CHART_NAMESPACE, RELEASE, TLS_SECRET, WEBHOOK_CONFIG_NAME } from "../support/cluster-chart.ts";
import { MODE_LABEL } from "../support/cluster-objects.ts";
import {
  CONTROLLER_PODS,
  installChartOnNodes,
  startImageRegistry,
  type ChartOnNodes,
} from "../support/node/chart-on-nodes.ts";
import { testCluster, type TestCluster } from "../support/cluster.ts";
import { pushImage, type PushedImage } from "../support/images/push.ts";
import type { LayerSpec } from "../support/images/layers.ts";
import {
  appDeployment,
  deleteAndWait,
  describePod,
  loggedPeers,
  podsOf,
  scaleAndWait,
  SIDECAR_CONTAINER,
} from "../support/node/app-deployment.ts";
import { createNodeNetwork, type NodeNetwork } from "../support/node/node-network.ts";
import { createNodeNamespace, waitForPod } from "../support/node/node-pods.ts";
import {
  nodeTools,
  startVirtualNode,
  VIRTUAL_NODE_TAINT,
  type VirtualNode,
} from "../support/node/virtual-node.ts";
import { runCommand, waitUntil } from "../support/origin/child-process.ts";
import type { Origin } from "../support/origin/origin-stack.ts";
import type { OriginRegistry } from "../support/origin/registry.ts";
import { startOriginWithImage } from "../support/origin/origin-with-image.ts";
import { MANAGED_SECRETS_SELECTOR } from "../../webhook/cleanup/run-cleanup.ts";

const MiB = 1024 * 1024;
/** The origin's egress, shared by every pull: what makes pulling once per zone matter. */
const ORIGIN_RATE = 12 * MiB;
const ZONES = ["zone-a", "zone-a", "zone-a", "zone-b", "zone-b", "zone-b"];
/** The injected sidecar's peer port (the chart's default). */
const PEER_PORT = 65002;
/** The peer directory's Service, as the sidecars find it (ACR_P2P_DIRECTORY_URL). */
const DIRECTORY_HOST = `${RELEASE}.${CHART_NAMESPACE}.svc`;

/** An app image of three layers: a program (the pause binary, so the pod runs) and 16 + 8 MiB of data. */
function appLayers(name: string, program: Buffer): LayerSpec[] {
  return [
    { seed: `${name}-program`, size: program.length, content: program, mode: 0o755, fileName: name },
    { seed: `${name}-data-1`, size: 16 * MiB },
    { seed: `${name}-data-2`, size: 8 * MiB },
  ];
}

describe("node tier: six virtual nodes in two zones", function () {
  let cluster: TestCluster;
  let network: NodeNetwork;
  let origin: Origin;
  /** Where `npm run images -- --push` puts the product's images, and every node pulls them from. */
  let imageRegistry: OriginRegistry;
  let program: Buffer;
  /** Pulled through acr-p2p. */
  let app: PushedImage;
  /** The same sizes, other bytes: pulled straight from the origin while the webhook is down. */
  let direct: PushedImage;
  let chart: ChartOnNodes | undefined;
  let userNamespace: string;
  const nodes: VirtualNode[] = [];
  const report: string[] = [];

  const imageRef = (image: PushedImage) => `${origin.proxy.host}/${image.repo}:v1`;
  const layerBytes = (image: PushedImage) => image.layers.reduce((n, l) => n + l.size, 0);
  const originBytes = (image: PushedImage) =>
    image.layers.reduce((n, l) => n + origin.proxy.blobBytes(l.digest), 0);
  const tokenHost = () => new URL(origin.tokenServer!.realm).host;
  const zoneOf = (nodeName: string | undefined) => nodes.find((n) => n.name === nodeName)?.zone;

  async function addNode(index: number, zone: string): Promise<VirtualNode> {
    const node = await startVirtualNode(cluster, network, {
      index,
      zone,
      forwardPorts: [origin.proxy.host, tokenHost(), imageRegistry.host].map((host) =>
        Number(host.split(":")[1]),
      ),
    });
    nodes.push(node);
    return node;
  }

  before(async function () {
    cluster = await testCluster({ controllers: true });
    program = readFileSync((await nodeTools()).pause);
    ({ origin, image: app } = await startOriginWithImage(appLayers("app", program), {
      origin: { bytesPerSec: ORIGIN_RATE },
    }));
    direct = await pushImage(origin.pushClient(), {
      repo: "team-a/direct",
      tag: "v1",
      layers: appLayers("direct", program),
    });
    imageRegistry = await startImageRegistry();
    network = createNodeNetwork();
    for (const [i, zone] of ZONES.entries()) await addNode(i + 1, zone);
  });
  after(async function () {
    await chart?.uninstall();
    for (const node of nodes.splice(0).reverse()) await node.stop();
    network?.remove();
    await origin?.stop();
    await imageRegistry?.stop();
    if (report.length > 0) process.stdout.write(`      ${report.join("\n      ")}\n`);
  });

  it("a Deployment of 6 hostNetwork pods is scheduled one per node, 3 per zone, all Running", async () => {
    const namespace = await createNodeNamespace(cluster, "node-six");
    const apps = cluster.kubeConfig.makeApiClient(AppsV1Api);
    const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    await apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: "web" },
        spec: {
          replicas: 6,
          selector: { matchLabels: { app: "web" } },
          template: {
            metadata: { labels: { app: "web" } },
            spec: {
              hostNetwork: true,
              nodeSelector: { type: "virtual-kubelet" },
              tolerations: [{ ...VIRTUAL_NODE_TAINT, operator: "Equal" }],
              terminationGracePeriodSeconds: 1,
              containers: [
                {
                  name: "pause",
                  image: "acr-p2p.test/pause:1",
                  imagePullPolicy: "Never",
                  // With the node's network, a declared port is the node's: one such pod per node.
                  ports: [{ containerPort: 65001 }],
                },
              ],
            },
          },
        },
      },
    });
    let pods = await core.listNamespacedPod({ namespace });
    await waitUntil(
      async () => {
        pods = await core.listNamespacedPod({ namespace });
        return pods.items.length === 6 && pods.items.every((p) => p.status?.phase === "Running");
      },
      120_000,
      () =>
        `not all Running: ${pods.items.map((p) => `${p.metadata?.name}@${p.spec?.nodeName}:${p.status?.phase}`).join(" ")}`,
    );
    const byNode = pods.items.map((p) => p.spec?.nodeName);
    expect(new Set(byNode).size, "one pod per node").to.equal(6);
    const perZone = byNode.reduce<Record<string, number>>(
      (acc, n) => ({ ...acc, [zoneOf(n)!]: (acc[zoneOf(n)!] ?? 0) + 1 }),
      {},
    );
    expect(perZone).to.deep.equal({ "zone-a": 3, "zone-b": 3 });
    for (const pod of pods.items) {
      const node = nodes.find((n) => n.name === pod.spec?.nodeName)!;
      expect(pod.status?.podIP, pod.metadata?.name).to.equal(node.ip);
    }
    // Its pods hold the sidecar's port on every node.
    await deleteAndWait(cluster, namespace, "web");
  });

  it("helm install as the README says: certgen runs as a Job, the controller as 2 pods on virtual nodes, and the API server calls the webhook through its Service", async () => {
    const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    // The origin is a lab registry: plain HTTP, its token realm on a loopback address.
    chart = await installChartOnNodes(cluster, nodes, imageRegistry, {
      serverless: true,
      registries: [origin.proxy.host],
      plainHttpRegistries: [origin.proxy.host],
      allowedHosts: [tokenHost()],
    });
    // --wait returned: the Deployment is ready and the post-install certgen Job succeeded (and was
    // deleted, as its hook policy says), leaving the serving certificate and the webhook's caBundle.
    const secret = await core.readNamespacedSecret({ name: TLS_SECRET, namespace: CHART_NAMESPACE });
    expect(Object.keys(secret.data ?? {})).to.include.members(["tls.crt", "tls.key", "ca.crt"]);
    const controllers = (
      await core.listNamespacedPod({
        namespace: CHART_NAMESPACE,
        labelSelector: CONTROLLER_PODS,
      })
    ).items;
    expect(controllers).to.have.length(2);
    const nodeOf = (pod: V1Pod) => nodes.find((n) => n.name === pod.spec?.nodeName);
    for (const pod of controllers) {
      expect(pod.status?.phase, pod.metadata?.name).to.equal("Running");
      // Pulled by the node's containerd from the registry the images were pushed to.
      expect(pod.spec?.containers[0]?.image).to.equal(chart.images.controller);
      // A pod of its own network: an address of its node's pod subnet, not the node's.
      expect(nodeOf(pod), `${pod.metadata?.name} on ${pod.spec?.nodeName}`).to.not.equal(undefined);
      expect(
        inSubnet(pod.status!.podIP!, nodeOf(pod)!.podSubnet),
        `${pod.status?.podIP} in ${nodeOf(pod)!.podSubnet}`,
      ).to.equal(true);
    }
    const config = await cluster.kubeConfig
      .makeApiClient(AdmissionregistrationV1Api)
      .readMutatingWebhookConfiguration({ name: WEBHOOK_CONFIG_NAME });
    expect(config.webhooks?.[0]?.clientConfig.url).to.equal(undefined);
    expect(config.webhooks?.[0]?.clientConfig.service?.name).to.equal(RELEASE);
    expect(config.webhooks?.[0]?.clientConfig.caBundle).to.equal(secret.data!["ca.crt"]);

    // A pod created in a labelled namespace comes back injected. The webhook fails open, so this
    // waits until the controller pods have the certificate certgen wrote (the kubelet fills the
    // optional Secret volume in).
    userNamespace = await createNodeNamespace(cluster, "user-path");
    const label = await runCommand(
      cluster.kubectl,
      ["--kubeconfig", cluster.kubeconfigPath, "label", "namespace", userNamespace, `${MODE_LABEL}=p2p`],
      { timeoutMs: 30_000 },
    );
    expect(label.code, label.stderr).to.equal(0);
    // The app's pull secret, as the user has it: alice may pull team-a/*.
    const auth = Buffer.from("alice:alice-pw").toString("base64");
    const dockerConfig = { auths: { [origin.proxy.host]: { auth } } };
    await core.createNamespacedSecret({
      namespace: userNamespace,
      body: {
        metadata: { name: "app-pull" },
        type: "kubernetes.io/dockerconfigjson",
        data: { ".dockerconfigjson": Buffer.from(JSON.stringify(dockerConfig)).toString("base64") },
      },
    });
    let injected: V1Pod | undefined;
    await waitUntil(
      async () => {
        injected = await createAppPod();
        return (injected.spec?.initContainers ?? []).length > 0;
      },
      120_000,
      () => `not injected: ${JSON.stringify(injected?.metadata?.annotations)}`,
    );
    expect(injected!.spec!.initContainers![0]!.image).to.equal(chart.images.sidecar);
    expect(injected!.spec!.containers[0]!.image).to.match(/^127\.0\.0\.1:65001\//);
  });

  it("the webhook down (controller scaled to 0): pods are created unmodified, and injected again once it is back", async () => {
    const apps = cluster.kubeConfig.makeApiClient(AppsV1Api);
    const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    const scale = async (replicas: number) => {
      await apps.patchNamespacedDeploymentScale({
        name: RELEASE,
        namespace: CHART_NAMESPACE,
        body: [{ op: "replace", path: "/spec/replicas", value: replicas }],
      });
      await waitUntil(
        async () => {
          const d = await apps.readNamespacedDeployment({ name: RELEASE, namespace: CHART_NAMESPACE });
          const pods = await core.listNamespacedPod({
            namespace: CHART_NAMESPACE,
            labelSelector: CONTROLLER_PODS,
          });
          return pods.items.length === replicas && (d.status?.readyReplicas ?? 0) === replicas;
        },
        120_000,
        () => `controller not at ${replicas} ready replicas`,
      );
    };
    await scale(0);
    // failurePolicy Ignore: the API server finds no endpoint, and creates the pod as it was asked.
    const unmodified = await createAppPod();
    expect(unmodified.spec?.initContainers ?? []).to.deep.equal([]);
    expect(unmodified.spec?.containers[0]?.image).to.equal(imageRef(app));

    // A Deployment scaled out now pulls straight from the origin, every pod the whole image: the
    // baseline the scale-out with acr-p2p is compared with (same sizes, same origin rate).
    await apps.createNamespacedDeployment({
      namespace: userNamespace,
      body: appDeployment({
        name: "direct",
        image: imageRef(direct),
        command: ["/direct"],
        pullSecret: "app-pull",
      }),
    });
    origin.proxy.reset();
    const ms = await scaleAndWait(cluster, userNamespace, "direct", 6);
    for (const pod of await podsOf(cluster, userNamespace, "direct")) {
      expect(pod.spec?.initContainers ?? [], pod.metadata?.name).to.deep.equal([]);
      expect(pod.spec?.containers[0]?.image).to.equal(imageRef(direct));
    }
    expect(originBytes(direct)).to.equal(6 * layerBytes(direct));
    report.push(
      `without acr-p2p: 0 -> 6 Running in ${(ms / 1000).toFixed(1)} s, origin ${(originBytes(direct) / MiB).toFixed(1)} MiB for a ${(layerBytes(direct) / MiB).toFixed(1)} MiB image (${(originBytes(direct) / layerBytes(direct)).toFixed(2)}x)`,
    );
    await deleteAndWait(cluster, userNamespace, "direct");

    await scale(2);
    await waitUntil(
      async () => ((await createAppPod()).spec?.initContainers ?? []).length > 0,
      60_000,
      () => "not injected after the controller came back",
    );
  });

  it("scale-out to 6: every pod Running with the image from the origin about once per zone, each sidecar's peers the pods of its zone", async () => {
    // What the cluster's DNS would answer for the directory's Service: one of its endpoints.
    await pointDirectoryAtController();
    const apps = cluster.kubeConfig.makeApiClient(AppsV1Api);
    await apps.createNamespacedDeployment({
      namespace: userNamespace,
      body: appDeployment({ name: "app", image: imageRef(app), command: ["/app"], pullSecret: "app-pull" }),
    });
    origin.proxy.reset();
    const ms = await scaleAndWait(cluster, userNamespace, "app", 6);
    const pods = await podsOf(cluster, userNamespace, "app");
    for (const pod of pods) {
      expect(pod.spec?.initContainers?.[0]?.name, pod.metadata?.name).to.equal(SIDECAR_CONTAINER);
      expect(pod.spec?.containers[0]?.image).to.match(/^127\.0\.0\.1:65001\//);
    }
    report.push(
      `with acr-p2p:    0 -> 6 Running in ${(ms / 1000).toFixed(1)} s, origin ${(originBytes(app) / MiB).toFixed(1)} MiB for a ${(layerBytes(app) / MiB).toFixed(1)} MiB image (${(originBytes(app) / layerBytes(app)).toFixed(2)}x)`,
    );
    // Two zones: the origin sends each block about once per zone, not once per pod.
    expect(originBytes(app)).to.be.at.most(2.1 * layerBytes(app));
    await expectZonePeers(pods);
  });

  it("scale 6 -> 8 on two more nodes: the new pods' images come from peers", async () => {
    // New nodes pull the sidecar image from the registry like the first six did.
    await addNode(7, "zone-a");
    await addNode(8, "zone-b");
    await pointDirectoryAtController();
    origin.proxy.reset();
    const ms = await scaleAndWait(cluster, userNamespace, "app", 8);
    const pods = await podsOf(cluster, userNamespace, "app");
    expect(new Set(pods.map((p) => p.spec?.nodeName)).size).to.equal(8);
    report.push(
      `with acr-p2p:    6 -> 8 Running in ${(ms / 1000).toFixed(1)} s, origin ${(originBytes(app) / MiB).toFixed(2)} MiB`,
    );
    expect(originBytes(app)).to.be.below(0.05 * layerBytes(app));
    await expectZonePeers(pods);
  });

  it("a sidecar killed mid-pull (by PID) is restarted by the kubelet, and the pod still starts from verified content", async () => {
    const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    // A new image nobody holds, and a slow origin, so the pull is under way when the sidecar dies.
    const fresh = await pushImage(origin.pushClient(), {
      repo: "team-a/fresh",
      tag: "v1",
      layers: appLayers("fresh", program),
    });
    // Room on one node: the Deployment gives one back.
    await scaleAndWait(cluster, userNamespace, "app", 7);
    const busy = new Set((await podsOf(cluster, userNamespace, "app")).map((p) => p.spec?.nodeName));
    const freed = nodes.find((n) => !busy.has(n.name));
    origin.proxy.reset();
    origin.proxy.limiter.bytesPerSec = 2 * MiB;
    try {
      const template = appDeployment({
        name: "fresh",
        image: imageRef(fresh),
        command: ["/fresh"],
        pullSecret: "app-pull",
      }).spec!.template;
      const pod = await core.createNamespacedPod({
        namespace: userNamespace,
        body: { metadata: { name: "fresh", labels: template.metadata?.labels }, spec: template.spec! },
      });
      expect(pod.spec?.initContainers?.[0]?.name).to.equal(SIDECAR_CONTAINER);
      await waitUntil(
        async () => originBytes(fresh) > 2 * MiB,
        120_000,
        () => `the pull of ${imageRef(fresh)} did not start`,
      );
      const scheduled = await core.readNamespacedPod({ namespace: userNamespace, name: "fresh" });
      const node = nodes.find((n) => n.name === scheduled.spec?.nodeName)!;
      expect(node?.name, "scheduled on the node the Deployment gave back").to.equal(freed?.name);
      const pid = await node.containerPid(userNamespace, "fresh", SIDECAR_CONTAINER);
      expect(pid, "the sidecar's PID").to.be.a("number");
      expect(originBytes(fresh), "killed before the pull finished").to.be.below(layerBytes(fresh));
      process.kill(pid!, "SIGKILL");
      origin.proxy.limiter.bytesPerSec = ORIGIN_RATE;
      const running = await waitForPod(
        cluster.kubeConfig,
        userNamespace,
        "fresh",
        (p) => p.status?.phase === "Running",
        180_000,
      ).catch(async (err: Error) => {
        const p = await core.readNamespacedPod({ namespace: userNamespace, name: "fresh" });
        throw new Error(`${err.message}\n${describePod(p)}`);
      });
      const sidecar = running.status?.initContainerStatuses?.find((c) => c.name === SIDECAR_CONTAINER);
      expect(sidecar?.restartCount, "the kubelet restarted the sidecar").to.be.at.least(1);
      expect(running.status?.containerStatuses?.[0]?.ready).to.equal(true);
      // Running means containerd unpacked every layer after checking it against the manifest's digest.
      expect(running.status?.containerStatuses?.[0]?.imageID).to.include(fresh.manifest.digest);
    } finally {
      origin.proxy.limiter.bytesPerSec = ORIGIN_RATE;
    }
  });

  it("helm uninstall: nothing with the release's labels stays, nor any Secret acr-p2p made; the webhook configuration is gone, and pods are no longer injected", async () => {
    const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    // What the controller made at run time: the app pods' derived pull secrets.
    const [pod] = await podsOf(cluster, userNamespace, "app");
    const derived = pod?.spec?.imagePullSecrets?.map((r) => r.name).filter((n) => n !== "app-pull") ?? [];
    expect(derived, "derived pull secrets of the injected pods").to.have.length.greaterThan(0);
    expect(await managedSecrets(), "Secrets acr-p2p made before uninstall").to.include.members([
      `${CHART_NAMESPACE}/${TLS_SECRET}`,
      ...derived.map((n) => `${userNamespace}/${n}`),
    ]);

    await chart!.uninstall();
    chart = undefined;
    // The pre-delete hook deleted them; the user's own Secret stays.
    expect(await managedSecrets(), "Secrets acr-p2p made, after uninstall").to.deep.equal([]);
    await core.readNamespacedSecret({ name: "app-pull", namespace: userNamespace });
    const kinds = [
      "all",
      "configmaps",
      "secrets",
      "serviceaccounts",
      "roles",
      "rolebindings",
      "jobs",
      "cronjobs",
      "poddisruptionbudgets",
      "clusterroles",
      "clusterrolebindings",
      "mutatingwebhookconfigurations",
    ];
    let left = "";
    await waitUntil(
      async () => {
        const r = await runCommand(
          cluster.kubectl,
          [
            "--kubeconfig",
            cluster.kubeconfigPath,
            "get",
            kinds.join(","),
            "-A",
            "-o",
            "name",
            "-l",
            `app.kubernetes.io/instance=${RELEASE}`,
          ],
          { timeoutMs: 20_000 },
        );
        left = r.stdout.trim() + r.stderr.trim();
        return r.code === 0 && left === "";
      },
      60_000,
      () => `left after helm uninstall: ${left}`,
    );
    const configs = await cluster.kubeConfig
      .makeApiClient(AdmissionregistrationV1Api)
      .listMutatingWebhookConfiguration();
    expect(configs.items.map((c) => c.metadata?.name)).to.not.include(WEBHOOK_CONFIG_NAME);
    const after = await createAppPod();
    expect(after.spec?.initContainers ?? []).to.deep.equal([]);
    expect(after.spec?.containers[0]?.image).to.equal(imageRef(app));
  });

  /** Every node resolves the directory's Service name to a Running controller pod (its endpoint). */
  async function pointDirectoryAtController(): Promise<void> {
    const controllers = await cluster.kubeConfig
      .makeApiClient(CoreV1Api)
      .listNamespacedPod({ namespace: CHART_NAMESPACE, labelSelector: CONTROLLER_PODS });
    const endpoint = controllers.items.find((p) => p.status?.phase === "Running" && p.status.podIP);
    if (!endpoint) throw new Error("no Running controller pod");
    for (const node of nodes) node.setHosts({ [DIRECTORY_HOST]: endpoint.status!.podIP! });
  }

  /** Each pod's sidecar last heard from the directory that its peers are the pods of its zone. */
  async function expectZonePeers(pods: V1Pod[]): Promise<void> {
    const expected = (zone: string | undefined) =>
      pods
        .filter((p) => zoneOf(p.spec?.nodeName) === zone)
        .map((p) => `${p.status?.podIP}:${PEER_PORT}`)
        .sort();
    for (const pod of pods) {
      const node = nodes.find((n) => n.name === pod.spec?.nodeName)!;
      let seen: string[] | undefined;
      await waitUntil(
        async () => {
          seen = loggedPeers(node, userNamespace, pod.metadata!.name!)?.sort();
          return JSON.stringify(seen) === JSON.stringify(expected(node.zone));
        },
        30_000,
        () =>
          `${pod.metadata?.name} on ${node.name} (${node.zone}): peers ${JSON.stringify(seen)}, want ${JSON.stringify(expected(node.zone))}`,
      );
    }
  }

  /** `namespace/name` of every Secret labelled as made by acr-p2p, in any namespace. */
  async function managedSecrets(): Promise<string[]> {
    const list = await cluster.kubeConfig
      .makeApiClient(CoreV1Api)
      .listSecretForAllNamespaces({ labelSelector: MANAGED_SECRETS_SELECTOR });
    return list.items.map((s) => `${s.metadata?.namespace}/${s.metadata?.name}`);
  }

  /** An app pod as a Deployment would create it in the labelled namespace (dry run: nothing runs). */
  function createAppPod(): Promise<V1Pod> {
    return cluster.kubeConfig.makeApiClient(CoreV1Api).createNamespacedPod({
      namespace: userNamespace,
      dryRun: "All",
      body: {
        metadata: { generateName: "app-" },
        spec: {
          nodeSelector: { type: "virtual-kubelet" },
          containers: [{ name: "app", image: imageRef(app) }],
        },
      },
    });
  }
});

/** Whether IPv4 address `ip` is in `cidr`. */
function inSubnet(ip: string, cidr: string): boolean {
  const toNumber = (a: string) => a.split(".").reduce((n, octet) => n * 256 + Number(octet), 0);
  const [base, bits] = cidr.split("/");
  const size = 2 ** (32 - Number(bits));
  return Math.floor(toNumber(ip) / size) === Math.floor(toNumber(base!) / size);
}
