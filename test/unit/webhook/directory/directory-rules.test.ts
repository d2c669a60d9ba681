import { expect } from "chai";
import type { V1Pod } from "@kubernetes/client-node";
import { namespace, node, peerPod } from "../../../support/peer/pods.ts";
import { computePeerSets, setKey } from "../../../../webhook/directory/peer-sets.ts";
import { DEFAULT_PEER_RULES, isReadyPeer, peerPortOf } from "../../../../webhook/directory/ready-peer.ts";
import { DirectoryState } from "../../../../webhook/directory/directory-state.ts";
import { peerGroupOf } from "../../../../contract/peer-group.ts";

const rules = DEFAULT_PEER_RULES;

describe("directory: ready peers", () => {
  it("a Pending pod with a pod IP and a started, ready sidecar is a ready peer; nothing less is", () => {
    expect(isReadyPeer(peerPod("a", "p", "n", "10.0.0.1"), rules)).to.equal(true);
    expect(isReadyPeer(peerPod("a", "p", "n", undefined), rules), "no IP").to.equal(false);
    expect(isReadyPeer(peerPod("a", "p", "n", "10.0.0.1", { started: true, ready: false }), rules)).to.equal(
      false,
    );
    expect(isReadyPeer(peerPod("a", "p", "n", "10.0.0.1", { started: false, ready: true }), rules)).to.equal(
      false,
    );
    expect(isReadyPeer(peerPod("a", "p", "n", "10.0.0.1", null), rules), "no sidecar").to.equal(false);
    expect(isReadyPeer(peerPod("a", "p", "n", "10.0.0.1", undefined, { deleting: true }), rules)).to.equal(
      false,
    );
    expect(
      isReadyPeer(
        peerPod("a", "p", "n", "10.0.0.1", { started: true, ready: true }, { deleting: true }),
        rules,
      ),
    ).to.equal(false);
    expect(
      isReadyPeer(
        peerPod("a", "p", "n", "10.0.0.1", { started: true, ready: true }, { phase: "Failed" }),
        rules,
      ),
    ).to.equal(false);
    const optedOut = { annotations: { "k8s.aliyun.com/p2p-config": JSON.stringify({ peerSharing: false }) } };
    expect(
      isReadyPeer(peerPod("a", "p", "n", "10.0.0.1", { started: true, ready: true }, optedOut), rules),
    ).to.equal(false);
  });

  it("takes the peer port from the p2p-config annotation, else the default", () => {
    const moved = { annotations: { "k8s.aliyun.com/p2p-config": JSON.stringify({ ports: { peer: 7002 } }) } };
    expect(peerPortOf(peerPod("a", "p", "n", "10.0.0.1", undefined, moved), rules)).to.equal(7002);
    const junk = { annotations: { "k8s.aliyun.com/p2p-config": "{not json" } };
    expect(peerPortOf(peerPod("a", "p", "n", "10.0.0.1", undefined, junk), rules)).to.equal(65002);
  });

  it("groups are namespaces unless the namespace names a shared group, which never collides with a namespace", () => {
    expect(peerGroupOf("team-a")).to.equal("team-a");
    expect(peerGroupOf("team-a", { "acr-p2p/group": "batch" })).to.equal("shared:batch");
    expect(peerGroupOf("team-a", { "acr-p2p/group": "Not Valid!" })).to.equal("team-a");
  });

  it("splits ready peers by group and zone, and counts the ones still starting", () => {
    const sets = computePeerSets(
      {
        pods: [
          peerPod("t1", "a1", "na", "10.0.0.1"),
          peerPod("t1", "a2", "na", "10.0.0.2"),
          peerPod("t1", "b1", "nb", "10.0.1.1"),
          peerPod("t2", "a3", "na", "10.0.0.3"),
          peerPod("t3", "a4", "na", "10.0.0.4"),
          peerPod("t4", "a5", "na", "10.0.0.5"),
          peerPod("t1", "a6", "na", "10.0.0.6", { started: true, ready: false }),
          // Going away, or done: neither a peer nor on its way.
          peerPod("t1", "a7", "na", undefined, { started: false }, { deleting: true }),
          peerPod("t1", "a8", "na", "10.0.0.8", { started: false }, { phase: "Succeeded" }),
        ],
        nodes: [node("na", "zone-a"), node("nb", "zone-b")],
        namespaces: [
          namespace("t1"),
          namespace("t2"),
          namespace("t3", { "acr-p2p/group": "shared1" }),
          namespace("t4", { "acr-p2p/group": "shared1" }),
        ],
      },
      rules,
    );
    expect(sets.get(setKey("t1", "zone-a"))?.peers).to.deep.equal(["10.0.0.1:65002", "10.0.0.2:65002"]);
    // a6's sidecar is not ready yet: not a peer, but counted as on its way.
    expect(sets.get(setKey("t1", "zone-a"))?.starting).to.equal(1);
    expect(sets.get(setKey("t1", "zone-b"))?.peers).to.deep.equal(["10.0.1.1:65002"]);
    expect(sets.get(setKey("t1", "zone-b"))?.starting).to.equal(0);
    expect(sets.get(setKey("t2", "zone-a"))?.peers).to.deep.equal(["10.0.0.3:65002"]);
    expect(sets.get(setKey("shared:shared1", "zone-a"))?.peers).to.deep.equal([
      "10.0.0.4:65002",
      "10.0.0.5:65002",
    ]);
    expect(sets.size).to.equal(4);
  });
});

describe("directory state", () => {
  const snap = (pods: V1Pod[]) => ({ pods, nodes: [node("na", "z")], namespaces: [namespace("t")] });

  it("places a caller by namespace/name and uid; a deleted or replaced pod is not placed", () => {
    const state = new DirectoryState(rules);
    state.update(snap([peerPod("t", "p", "na", "10.0.0.1")]));
    expect(state.placement("t", "p", "t-p-uid")).to.include({ group: "t", zone: "z" });
    expect(state.placement("t", "p", "other-uid")).to.equal(undefined);
    expect(state.placement("t", "q")).to.equal(undefined);
    state.update(snap([peerPod("t", "p", "na", "10.0.0.1", undefined, { deleting: true })]));
    expect(state.placement("t", "p")).to.equal(undefined);
  });

  it("a long-poll wakes when its set changes, not when another set does, and times out otherwise", async () => {
    const state = new DirectoryState(rules);
    state.update(snap([peerPod("t", "p", "na", "10.0.0.1")]));
    const etag = state.get("t", "z").etag;
    const signal = new AbortController().signal;
    const waiting = state.waitForChange("t", "z", etag, 5_000, signal);
    let woke = false;
    void waiting.then(() => (woke = true));
    state.update({
      ...snap([peerPod("t", "p", "na", "10.0.0.1"), peerPod("u", "x", "na", "10.0.0.9")]),
      namespaces: [namespace("t"), namespace("u")],
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(woke, "another group's change").to.equal(false);
    state.update(snap([peerPod("t", "p", "na", "10.0.0.1"), peerPod("t", "q", "na", "10.0.0.2")]));
    expect((await waiting).peers).to.deep.equal(["10.0.0.1:65002", "10.0.0.2:65002"]);
    const t0 = Date.now();
    const same = await state.waitForChange("t", "z", state.get("t", "z").etag, 100, signal);
    expect(Date.now() - t0).to.be.within(90, 1000);
    expect(same.peers.length).to.equal(2);
  });
});
