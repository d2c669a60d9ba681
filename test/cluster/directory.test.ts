/**
 * The peer directory against a real kube-apiserver: the test plays kubelet (Node objects with zone
 * labels, pod status patched to Pending with a loopback pod IP and a started, ready sidecar) and
 * presents real pod-bound ServiceAccount tokens (TokenRequest), which the directory checks with a real
 * TokenReview.
 */
import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CoreV1Api, VersionApi } from "@kubernetes/client-node";
import type { V1Pod } from "@kubernetes/client-node";
import { Agent, request } from "undici";
import { generateCertificateAuthority, issueServingCertificate } from "../../lib/tls-certs.ts";
import { silentLogger } from "../../lib/logger.ts";
import { PEER_GROUP_LABEL, PEER_LABEL, ZONE_LABEL } from "../../contract/peer-group.ts";
import { generateTicketKey } from "../../contract/peer-ticket.ts";
import { DirectoryPeers } from "../../sidecar/peer/directory-peers.ts";
import type { DirectoryAnswer } from "../../contract/directory-answer.ts";
import { startPeerDirectory, type PeerDirectory } from "../../webhook/directory/peer-directory.ts";
import { DEFAULT_PEER_RULES } from "../../webhook/directory/ready-peer.ts";
import { TicketIssuer } from "../../webhook/directory/ticket-issuer.ts";
import { SIDECAR_CONTAINER_NAME } from "../../webhook/mutation/names.ts";
import { testCluster, type TestCluster } from "../support/cluster.ts";
import {
  createTestNamespace,
  deleteNamespaces,
  podBoundToken,
  uniqueName,
} from "../support/cluster-objects.ts";
import { compactEtcd, restartApiServer } from "../support/peer/apiserver-restart.ts";

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await fn().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

describe("cluster: peer directory", function () {
  this.timeout(120_000);
  let cluster: TestCluster;
  let core: CoreV1Api;
  let directory: PeerDirectory;
  let base: string;
  const namespaces: string[] = [];
  const nodes = { a: uniqueName("node-a"), b: uniqueName("node-b") };
  let t1: string;
  let t2: string;
  let ipCounter = 10;
  // The directory serves HTTPS with a certificate of a private CA, as in the chart.
  const ca = generateCertificateAuthority("directory-test-ca");
  const serving = issueServingCertificate(ca, { hosts: ["127.0.0.1"] });
  const agent = new Agent({ connect: { ca: ca.certPem } });
  const lists: string[] = [];

  async function peerPod(namespace: string, name: string, node: string, ready = true): Promise<V1Pod> {
    const pod = await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name, labels: { [PEER_LABEL]: "true" } },
        spec: {
          nodeName: node,
          initContainers: [
            { name: SIDECAR_CONTAINER_NAME, image: "example.com/acr-p2p:1", restartPolicy: "Always" },
          ],
          containers: [{ name: "app", image: "127.0.0.1:65001/example.com/app:1" }],
        },
      },
    });
    return setSidecar(pod, `127.0.2.${ipCounter++}`, ready);
  }

  /** What the kubelet writes while the app image is still pulling. */
  async function setSidecar(pod: V1Pod, ip: string, ready: boolean): Promise<V1Pod> {
    const current = await core.readNamespacedPod({
      name: pod.metadata!.name!,
      namespace: pod.metadata!.namespace!,
    });
    current.status = {
      phase: "Pending",
      podIP: ip,
      podIPs: [{ ip }],
      initContainerStatuses: [
        {
          name: SIDECAR_CONTAINER_NAME,
          image: "example.com/acr-p2p:1",
          imageID: "",
          restartCount: 0,
          started: true,
          ready,
          state: { running: { startedAt: new Date() } },
        },
      ],
      containerStatuses: [
        {
          name: "app",
          image: "127.0.0.1:65001/example.com/app:1",
          imageID: "",
          restartCount: 0,
          started: false,
          ready: false,
          state: { waiting: { reason: "ContainerCreating" } },
        },
      ],
    };
    return core.replaceNamespacedPodStatus({
      name: current.metadata!.name!,
      namespace: current.metadata!.namespace!,
      body: current,
    });
  }

  async function ask(token: string): Promise<{ status: number; body: DirectoryAnswer & { code?: string } }> {
    const res = await request(`${base}/v1/peers`, {
      dispatcher: agent,
      headers: { authorization: `Bearer ${token}` },
    });
    return { status: res.statusCode, body: (await res.body.json()) as DirectoryAnswer & { code?: string } };
  }

  const addr = (pod: V1Pod) => `${pod.status!.podIP}:65002`;

  before(async function () {
    cluster = await testCluster();
    core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    await core.createNode({ body: { metadata: { name: nodes.a, labels: { [ZONE_LABEL]: "zone-a" } } } });
    await core.createNode({ body: { metadata: { name: nodes.b, labels: { [ZONE_LABEL]: "zone-b" } } } });
    t1 = await createTestNamespace(cluster.kubeConfig, "dir-t1");
    t2 = await createTestNamespace(cluster.kubeConfig, "dir-t2");
    namespaces.push(t1, t2);
    directory = await startPeerDirectory({
      kubeConfig: cluster.kubeConfig,
      host: "127.0.0.1",
      port: 0,
      tls: { key: serving.keyPem, cert: serving.certPem },
      rules: DEFAULT_PEER_RULES,
      issuer: new TicketIssuer(generateTicketKey(), 600),
      logger: silentLogger(),
      maxWaitSeconds: 5,
      onList: (resource) => lists.push(resource),
    });
    base = `https://127.0.0.1:${directory.address.port}`;
    await until("directory synced", async () => directory.state.synced || undefined);
  });

  after(async function () {
    await directory?.close();
    await agent.close();
    await deleteNamespaces(cluster.kubeConfig, namespaces);
    for (const name of Object.values(nodes)) await core.deleteNode({ name }).catch(() => undefined);
  });

  let a1: V1Pod, a2: V1Pod, aNotReady: V1Pod, b1: V1Pod, other: V1Pod;

  it("a zone-a sidecar sees exactly the ready zone-a peers of its group, and how many more are starting", async function () {
    a1 = await peerPod(t1, "a1", nodes.a);
    a2 = await peerPod(t1, "a2", nodes.a);
    aNotReady = await peerPod(t1, "a3", nodes.a, false);
    b1 = await peerPod(t1, "b1", nodes.b);
    other = await peerPod(t2, "x1", nodes.a);
    const token = await podBoundToken(core, a1, "acr-p2p");
    const answer = await until("a1's list", async () => {
      const { status, body } = await ask(token);
      return status === 200 && body.peers.length === 2 ? body : undefined;
    });
    expect(answer).to.include({ group: t1, zone: "zone-a" });
    expect(answer.peers).to.have.members([addr(a1), addr(a2)]);
    const b = (await ask(await podBoundToken(core, b1, "acr-p2p"))).body;
    expect(b).to.include({ zone: "zone-b" });
    expect(b.peers).to.deep.equal([addr(b1)]);
    const x = (await ask(await podBoundToken(core, other, "acr-p2p"))).body;
    expect(x.group).to.equal(t2);
    expect(x.peers).to.deep.equal([addr(other)]);
    expect(aNotReady.status?.podIP).to.be.a("string");
    // a3 is on its way: a1 is told one more is starting; a3 itself, not counting itself, none.
    expect(answer.starting).to.equal(1);
    expect(b.starting).to.equal(0);
    const self = (await ask(await podBoundToken(core, aNotReady, "acr-p2p"))).body;
    expect(self.peers).to.have.members([addr(a1), addr(a2)]);
    expect(self.starting).to.equal(0);
  });

  it("a namespace labelled with a shared group joins that group, and only that one", async function () {
    const s1 = await createTestNamespace(cluster.kubeConfig, "dir-s1", {
      [PEER_GROUP_LABEL]: "shared-batch",
    });
    const s2 = await createTestNamespace(cluster.kubeConfig, "dir-s2", {
      [PEER_GROUP_LABEL]: "shared-batch",
    });
    namespaces.push(s1, s2);
    const p1 = await peerPod(s1, "p", nodes.a);
    const p2 = await peerPod(s2, "p", nodes.a);
    const token = await podBoundToken(core, p1, "acr-p2p");
    const answer = await until("shared list", async () => {
      const { body } = await ask(token);
      return body.peers?.length === 2 ? body : undefined;
    });
    expect(answer.group).to.equal("shared:shared-batch");
    expect(answer.peers).to.have.members([addr(p1), addr(p2)]);
  });

  it("a deleted pod, or a pod whose sidecar stops being ready, disappears within seconds", async function () {
    const token = await podBoundToken(core, a1, "acr-p2p");
    await setSidecar(a2, a2.status!.podIP!, false);
    let t0 = Date.now();
    await until("a2 gone (not ready)", async () =>
      (await ask(token)).body.peers.length === 1 ? true : undefined,
    );
    expect(Date.now() - t0).to.be.below(5_000);
    a2 = await setSidecar(a2, a2.status!.podIP!, true);
    await until("a2 back", async () => ((await ask(token)).body.peers.length === 2 ? true : undefined));
    // The sidecar's long-poll client follows the deletion too.
    const dir = mkdtempSync(join(tmpdir(), "acr-p2p-dir-"));
    writeFileSync(join(dir, "token"), token);
    const client = new DirectoryPeers({
      url: base,
      ca: ca.certPem,
      tokenFile: join(dir, "token"),
      logger: silentLogger(),
      waitSeconds: 5,
    });
    try {
      await client.firstAnswer();
      expect(client.current().peers).to.have.members([addr(a1), addr(a2)]);
      t0 = Date.now();
      await core.deleteNamespacedPod({ name: "a2", namespace: t1, gracePeriodSeconds: 0 });
      await until("a2 gone (deleted)", async () => (client.current().peers.length === 1 ? true : undefined));
      expect(Date.now() - t0).to.be.below(5_000);
      expect(client.current().peers).to.deep.equal([addr(a1)]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await client.close();
    }
  });

  it("refuses a token of another audience, a deleted pod's token, and a non-peer pod", async function () {
    expect(await ask(await podBoundToken(core, a1, "some-other-audience"))).to.deep.include({ status: 403 });
    const doomed = await peerPod(t1, "doomed", nodes.a);
    const token = await podBoundToken(core, doomed, "acr-p2p");
    expect((await ask(token)).status).to.equal(200);
    await core.deleteNamespacedPod({ name: "doomed", namespace: t1, gracePeriodSeconds: 0 });
    const refused = await until("deleted pod refused", async () => {
      const r = await ask(token);
      return r.status === 403 ? r : undefined;
    });
    expect(refused.body.code).to.be.oneOf(["TOKEN_REFUSED", "POD_NOT_A_PEER"]);
    expect(refused.body).to.not.have.property("ticket");
    // A pod without the peer label is nobody's peer, whatever its token says.
    const plain = await core.createNamespacedPod({
      namespace: t1,
      body: {
        metadata: { name: "plain" },
        spec: { nodeName: nodes.a, containers: [{ name: "app", image: "example.com/app:1" }] },
      },
    });
    expect(await ask(await podBoundToken(core, plain, "acr-p2p"))).to.deep.include({ status: 403 });
  });

  it("recovers after an API server restart (resuming its watches or relisting on 410 Gone)", async function () {
    if (cluster.external || cluster.stateDir === undefined) this.skip();
    const version = cluster.kubeConfig.makeApiClient(VersionApi);
    const token = await podBoundToken(core, a1, "acr-p2p");
    // Writes elsewhere move etcd past the pod watch's resourceVersion; compacting etcd's history then
    // makes resuming that watch after the restart answer 410 Gone: the informer must relist.
    for (let i = 0; i < 3; i++) {
      await core.createNamespacedConfigMap({ namespace: t2, body: { metadata: { name: `bump-${i}` } } });
    }
    const listsBefore = lists.filter((r) => r === "pods").length;
    await compactEtcd(cluster.stateDir);
    await restartApiServer(cluster.stateDir, async () => (await version.getCode()).gitVersion !== undefined);
    // After the restart: a new peer appears, and the directory's TokenReviews work again.
    const late = await until("create pod after restart", () => peerPod(t1, "late", nodes.a), 20_000);
    const answer = await until(
      "late peer seen",
      async () => {
        const { body } = await ask(token);
        return body.peers?.includes(addr(late)) ? body : undefined;
      },
      20_000,
    );
    expect(answer.peers).to.have.members([addr(a1), addr(late)]);
    const fresh = await ask(await podBoundToken(core, late, "acr-p2p"));
    expect(fresh.status).to.equal(200);
    expect(lists.filter((r) => r === "pods").length, "pods relisted after 410 Gone").to.be.above(listsBefore);
  });
});
