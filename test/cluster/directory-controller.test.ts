/**
 * The peer directory as the chart's controller process serves it (test/support/cluster-webhook.ts:
 * the Deployment's env, the chart's RBAC): a pod created through the API server in an opted-in
 * namespace is injected with the directory's URL, the controller's CA and the projected token; playing
 * kubelet for it (zone-labelled Node, Pending with a started, ready sidecar), its real pod-bound token
 * gets a ticket and its zone's peers from the controller's directory port.
 */
import { expect } from "chai";
import { CoreV1Api, type V1Pod } from "@kubernetes/client-node";
import { Agent, request } from "undici";
import { DIRECTORY_TOKEN_AUDIENCE, ZONE_LABEL } from "../../contract/peer-group.ts";
import { PeerTicketVerifier } from "../../contract/peer-ticket.ts";
import type { DirectoryAnswer } from "../../contract/directory-answer.ts";
import { DIRECTORY_TOKEN_VOLUME_NAME, SIDECAR_CONTAINER_NAME } from "../../webhook/mutation/names.ts";
import {
  createTestNamespace,
  deleteNamespaces,
  MODE_LABEL,
  podBoundToken,
  uniqueName,
} from "../support/cluster-objects.ts";
import { appPod } from "../support/cluster-pods.ts";
import { needsLocalWebhook, sharedWebhook, type WebhookRig } from "../support/cluster-webhook.ts";
import { waitUntil } from "../support/origin/child-process.ts";

describe("cluster: the controller serves the peer directory", function () {
  this.timeout(120_000);
  let rig: WebhookRig;
  let core: CoreV1Api;
  let namespace: string;
  const nodes = { a: uniqueName("zone-a-node"), b: uniqueName("zone-b-node") };
  let agent: Agent;

  before(async function () {
    rig = await sharedWebhook();
    needsLocalWebhook(this, rig);
    core = rig.cluster.kubeConfig.makeApiClient(CoreV1Api);
    namespace = await createTestNamespace(rig.cluster.kubeConfig, "dirctl", { [MODE_LABEL]: "p2p" });
    for (const [zone, name] of Object.entries(nodes))
      await core.createNode({ body: { metadata: { name, labels: { [ZONE_LABEL]: `zone-${zone}` } } } });
    agent = new Agent({ connect: { ca: rig.ca.caPem } });
  });

  after(async () => {
    await agent?.close();
    if (namespace) await deleteNamespaces(rig.cluster.kubeConfig, [namespace]);
    for (const name of Object.values(nodes)) await core?.deleteNode({ name }).catch(() => {});
  });

  async function injectedPod(name: string, node: string, ip: string): Promise<V1Pod> {
    const pod = await core.createNamespacedPod({
      namespace,
      body: appPod(name, { spec: { nodeName: node } }),
    });
    // What the kubelet writes while the app images are still pulling.
    pod.status = {
      phase: "Pending",
      podIP: ip,
      podIPs: [{ ip }],
      initContainerStatuses: [
        {
          name: SIDECAR_CONTAINER_NAME,
          image: rig.sidecarImage,
          imageID: "",
          restartCount: 0,
          started: true,
          ready: true,
          state: { running: { startedAt: new Date() } },
        },
      ],
    };
    return core.replaceNamespacedPodStatus({ name, namespace, body: pod });
  }

  async function ask(token: string): Promise<{ status: number; body: DirectoryAnswer & { code?: string } }> {
    const res = await request(`https://127.0.0.1:${rig.directoryPort}/v1/peers`, {
      dispatcher: agent,
      headers: { authorization: `Bearer ${token}` },
    });
    return { status: res.statusCode, body: (await res.body.json()) as DirectoryAnswer & { code?: string } };
  }

  it("injects the directory URL, the controller's CA and the projected token", async function () {
    const pod = await core.createNamespacedPod({ namespace, body: appPod(uniqueName("inj")) });
    const sidecar = pod.spec?.initContainers?.find((c) => c.name === SIDECAR_CONTAINER_NAME);
    expect(sidecar, "injected").to.not.equal(undefined);
    const env = Object.fromEntries((sidecar!.env ?? []).map((e) => [e.name, e.value]));
    expect(env["ACR_P2P_DIRECTORY_URL"]).to.match(/^https:\/\/.+:\d+$/);
    expect(env["ACR_P2P_DIRECTORY_CA"]?.trim()).to.equal(rig.ca.caPem.trim());
    const volume = pod.spec?.volumes?.find((v) => v.name === DIRECTORY_TOKEN_VOLUME_NAME);
    expect(volume?.projected?.sources?.[0]?.serviceAccountToken?.audience).to.equal(DIRECTORY_TOKEN_AUDIENCE);
    expect(sidecar!.volumeMounts?.map((m) => m.name)).to.include(DIRECTORY_TOKEN_VOLUME_NAME);
  });

  it("hands a pod's token a ticket and exactly its zone's peers", async function () {
    const a1 = await injectedPod(uniqueName("a1"), nodes.a, "127.0.3.11");
    const a2 = await injectedPod(uniqueName("a2"), nodes.a, "127.0.3.12");
    await injectedPod(uniqueName("b1"), nodes.b, "127.0.3.21");
    const token = await podBoundToken(core, a1, DIRECTORY_TOKEN_AUDIENCE);
    let answer: DirectoryAnswer | undefined;
    await waitUntil(
      async () => {
        const r = await ask(token).catch(() => undefined);
        if (r?.status === 200 && r.body.peers.length === 2) answer = r.body;
        return answer !== undefined;
      },
      20_000,
      () => `no answer with both zone-a peers:\n${rig.process?.logTail() ?? ""}`,
      200,
    );
    if (!answer) throw new Error("unreachable");
    expect([...answer.peers].sort()).to.deep.equal(["127.0.3.11:65002", "127.0.3.12:65002"]);
    expect(answer.zone).to.equal("zone-a");
    expect(answer.group).to.equal(namespace);
    const claims = new PeerTicketVerifier(answer.keys).verify(answer.ticket, namespace);
    expect(claims.sub).to.equal(`${namespace}/${a1.metadata!.name}`);
    expect(a2.metadata?.uid).to.be.a("string");
    // Another audience gets nothing.
    const other = await core.createNamespacedServiceAccountToken({
      name: "default",
      namespace,
      body: { spec: { audiences: ["other"], expirationSeconds: 600 } },
    });
    expect((await ask(other.status?.token ?? "")).status).to.equal(403);
  });
});
