/**
 * The design's riskiest assumptions, together on a real kubelet: the webhook injects a pod, the native
 * sidecar runs from the image `npm run images` built and is ready before the app image is requested,
 * containerd's CRI plugin pulls the app image over plain HTTP from 127.0.0.1:65001 in the pod's network
 * (the node's: hostNetwork, as an ECI pod has its VM's), and the kubelet sends the derived pull secret.
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { CoreV1Api, type V1Pod } from "@kubernetes/client-node";
import { buildImages } from "../../hack/images/build-images.ts";
import { encodeHostForPath } from "../../contract/registry-host.ts";
import { testCluster, type TestCluster } from "../support/cluster.ts";
import { MODE_LABEL } from "../support/cluster-objects.ts";
import { chartInstall, spawnControllerProcess, waitHealthy } from "../support/cluster-webhook.ts";
import { createNodeNetwork, type NodeNetwork } from "../support/node/node-network.ts";
import { createNodeNamespace, waitForPod } from "../support/node/node-pods.ts";
import { nodeTools, startVirtualNode, type VirtualNode } from "../support/node/virtual-node.ts";
import { makeTempDir, runCommand, waitUntil, type ManagedProcess } from "../support/origin/child-process.ts";
import { startOriginWithImage } from "../support/origin/origin-with-image.ts";
import type { Origin } from "../support/origin/origin-stack.ts";
import type { PushedImage } from "../support/images/push.ts";

const MiB = 1024 * 1024;
const SIDECAR = "acr-p2p-sidecar";

/** The CRI log's time of the first line containing `text` (ms since the epoch), or undefined. */
function criLogTime(log: string, text: string): number | undefined {
  const line = log.split("\n").find((l) => l.includes(text));
  return line === undefined ? undefined : Date.parse(line.slice(0, line.indexOf(" ")));
}

/** containerd's log times (logfmt `time="..."`) of the lines `match` picks. */
function containerdTimes(log: string, match: (line: string) => boolean): number[] {
  return log
    .split("\n")
    .filter(match)
    .map((l) => Date.parse(/time="([^"]+)"/.exec(l)?.[1] ?? ""));
}

describe("node tier: an injected pod on a real kubelet", function () {
  let cluster: TestCluster;
  let network: NodeNetwork;
  let node: VirtualNode;
  let origin: Origin;
  let app: PushedImage;
  let webhook: ManagedProcess;
  let namespace: string;
  let core: CoreV1Api;

  before(async function () {
    cluster = await testCluster({ controllers: true });
    core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    const [sidecarImage] = (await buildImages({ out: makeTempDir("node-images"), offline: true })).filter(
      (i) => i.name === "sidecar",
    );
    // The app image: a program to run (the pause binary) and two layers of data, behind token auth.
    const pause = readFileSync((await nodeTools()).pause);
    ({ origin, image: app } = await startOriginWithImage(
      [
        { seed: "node-app-program", size: pause.length, content: pause, mode: 0o755, fileName: "app" },
        { seed: "node-app-data-1", size: 6 * MiB },
        { seed: "node-app-data-2", size: 2 * MiB },
      ],
      { repo: "team-a/app" },
    ));
    const tokenPort = Number(new URL(origin.tokenServer!.realm).port);
    network = createNodeNetwork();
    node = await startVirtualNode(cluster, network, {
      index: 1,
      zone: "zone-a",
      forwardPorts: [Number(origin.proxy.host.split(":")[1]), tokenPort],
    });
    const sidecarRef = `acr-p2p.test/sidecar@${sidecarImage!.manifest.digest}`;
    await node.importImage(sidecarImage!.dir, "acr-p2p.test/sidecar");

    // The controller as the cluster tier runs it, told about this origin and this sidecar image.
    const install = await chartInstall();
    webhook = await spawnControllerProcess(cluster, {
      port: install.port,
      dir: makeTempDir("node-webhook"),
      extraEnv: {
        ACR_P2P_REGISTRIES: origin.proxy.host,
        ACR_P2P_SIDECAR_IMAGE: sidecarRef,
        ACR_P2P_PLAIN_HTTP_UPSTREAMS: origin.proxy.host,
        ACR_P2P_ALLOWED_HOSTS: new URL(origin.tokenServer!.realm).host,
      },
    });
    await waitHealthy(webhook, install.port, install.ca.caPem);
    namespace = await createNodeNamespace(cluster, "node-app", { [MODE_LABEL]: "p2p" });
    const auth = (user: string, password: string) => ({
      auths: { [origin.proxy.host]: { auth: Buffer.from(`${user}:${password}`).toString("base64") } },
    });
    for (const [name, user, password] of [
      ["alice-pull", "alice", "alice-pw"],
      ["bob-pull", "bob", "bob-pw"],
    ] as const) {
      await core.createNamespacedSecret({
        namespace,
        body: {
          metadata: { name },
          type: "kubernetes.io/dockerconfigjson",
          data: { ".dockerconfigjson": Buffer.from(JSON.stringify(auth(user, password))).toString("base64") },
        },
      });
    }
    // The webhook must be the one the API server calls for this namespace before the first pod.
    await waitUntil(
      async () => {
        const probe = await core.createNamespacedPod({
          namespace,
          dryRun: "All",
          body: {
            metadata: { generateName: "probe-" },
            spec: { containers: [{ name: "app", image: `${origin.proxy.host}/team-a/app:v1` }] },
          },
        });
        return probe.spec?.initContainers?.[0]?.image === sidecarRef;
      },
      30_000,
      () => `the webhook does not inject with this origin:\n${webhook.logTail()}`,
    );
  });
  after(async function () {
    await node?.stop();
    network?.remove();
    await webhook?.stop();
    await origin?.stop();
  });

  function appPod(name: string, pullSecret: string): V1Pod {
    return {
      metadata: { name },
      spec: {
        nodeName: node.name,
        hostNetwork: true,
        imagePullSecrets: [{ name: pullSecret }],
        // Always: the kubelet pulls with this pod's secret even when another pod pulled the image.
        containers: [
          {
            name: "app",
            image: `${origin.proxy.host}/team-a/app:v1`,
            command: ["/app"],
            imagePullPolicy: "Always",
          },
        ],
        terminationGracePeriodSeconds: 1,
      },
    };
  }

  it("runs: the sidecar is ready before the app image is requested, which it pulls through the sidecar, each blob once from the origin", async () => {
    origin.proxy.reset();
    await core.createNamespacedPod({ namespace, body: appPod("app", "alice-pull") });
    const pod = await waitForPod(
      cluster.kubeConfig,
      namespace,
      "app",
      (p) => p.status?.phase === "Running",
      180_000,
    );
    const rewritten = `127.0.0.1:65001/${encodeHostForPath(origin.proxy.host)}/team-a/app:v1`;
    expect(pod.spec?.containers[0]?.image).to.equal(rewritten);
    expect(pod.spec?.initContainers?.[0]?.name).to.equal(SIDECAR);
    expect(pod.status?.containerStatuses?.[0]?.ready).to.equal(true);
    // The kubelet pulled with the secret the webhook derived (keyed 127.0.0.1:65001/<host>/): the
    // origin takes no anonymous pulls, so the pull succeeding is the kubelet having sent it.
    const derived = pod.spec?.imagePullSecrets?.map((s) => s.name).filter((n) => n?.startsWith("acr-p2p-"));
    expect(derived).to.have.lengthOf(1);

    // Order, from the two logs' own clocks (one machine): sidecar ready, then containerd's one pull.
    const ready = criLogTime(node.containerLog(namespace, "app", SIDECAR), "sidecar ready");
    // containerd logs `PullImage "REF"` when the kubelet asks, `PullImage "REF" returns ...` when done.
    const pulls = containerdTimes(node.containerdLog(), (line) =>
      line.includes(`msg="PullImage \\"${rewritten}\\""`),
    );
    expect(ready, "the sidecar logged ready").to.be.a("number");
    expect(pulls, "containerd pulled the app image once, not after a failed try").to.have.lengthOf(1);
    expect(pulls[0]).to.be.above(ready!);
    const failed = node
      .containerdLog()
      .split("\n")
      .filter((l) => l.includes(`PullImage \\"${rewritten}\\" failed`));
    expect(failed).to.deep.equal([]);

    for (const layer of app.layers)
      expect(origin.proxy.blobBytes(layer.digest), layer.digest).to.equal(layer.size);
  });

  it("kubectl describe pod shows the injection: the sidecar and the annotations", async () => {
    const r = await runCommand(cluster.kubectl, [
      "--kubeconfig",
      cluster.kubeconfigPath,
      "-n",
      namespace,
      "describe",
      "pod",
      "app",
    ]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.include(`${SIDECAR}:`);
    expect(r.stdout).to.include("k8s.aliyun.com/p2p-config");
    expect(r.stdout).to.match(/Image:\s+acr-p2p\.test\/sidecar@sha256:/);
  });

  it("a pod whose pull secret has no rights on the repository fails with ErrImagePull, and its sidecar served it nothing", async () => {
    // One pod per node, as on ECI: the first makes room.
    await core.deleteNamespacedPod({ namespace, name: "app", gracePeriodSeconds: 0 });
    await waitUntil(
      async () =>
        (await core.listNamespacedPod({ namespace })).items.every((p) => p.metadata?.name !== "app"),
      60_000,
      () => "pod app not gone",
    );
    // The object goes before the kubelet has stopped the containers: wait for them too (the next
    // pod's sidecar needs the port).
    await waitUntil(
      async () => !/RUNNING/.test((await node.ctr(["tasks", "ls"])).stdout),
      60_000,
      () => "the deleted pod's containers still run",
    );
    origin.proxy.reset();
    await core.createNamespacedPod({ namespace, body: appPod("bob", "bob-pull") });
    const pod = await waitForPod(
      cluster.kubeConfig,
      namespace,
      "bob",
      (p) =>
        ["ErrImagePull", "ImagePullBackOff"].includes(
          p.status?.containerStatuses?.[0]?.state?.waiting?.reason ?? "",
        ),
      180_000,
    );
    expect(pod.status?.phase).to.equal("Pending");
    const sidecarLog = node.containerLog(namespace, "bob", SIDECAR);
    expect(sidecarLog).to.include("sidecar ready");
    expect(sidecarLog).to.not.include("blob served");
    for (const layer of app.layers) expect(origin.proxy.blobBytes(layer.digest), layer.digest).to.equal(0);
  });
});
