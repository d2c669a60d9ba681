/**
 * What a skip leaves behind: a pod that asked for acceleration and did not get it says why in an
 * annotation (`kubectl describe pod` shows it); a pod that never asked is not touched; a reinvocation
 * on an injected pod is not a skip.
 */
import { expect } from "chai";
import jsonpatch from "fast-json-patch";
import { handleReview } from "../../../../webhook/admission/handle-review.ts";
import { RecentSkipEvents } from "../../../../webhook/admission/skip-event.ts";
import { MemoryKubeApi } from "../../../../webhook/kube/memory-kube-api.ts";
import { waitUntil } from "../../../support/origin/child-process.ts";
import { WebhookMetrics } from "../../../../webhook/metrics/webhook-metrics.ts";
import { pod, review, testDeps } from "../webhook-fixtures.ts";

type Json = Record<string, any>;

async function answer(object: Json, metrics = new WebhookMetrics()) {
  const http = await handleReview(JSON.stringify(review(object)), testDeps(), metrics);
  const response = http.body["response"] as Json;
  const patch = response["patch"]
    ? (JSON.parse(Buffer.from(response["patch"] as string, "base64").toString()) as Json[])
    : [];
  return { response, patch };
}

async function skipCount(metrics: WebhookMetrics, reason: string): Promise<number> {
  const values = (await metrics.skips.get()).values;
  return values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

describe("skips, visible on the pod", () => {
  it("an opted-in pod left alone carries acr-p2p/not-injected with the reason and the message", async () => {
    const { patch } = await answer(pod({ containers: [{ name: "app", image: "quay.io/x/y:1" }] }));
    expect(patch).to.deep.equal([
      {
        op: "add",
        path: "/metadata/annotations",
        value: {
          "acr-p2p/not-injected": patch[0]!.value["acr-p2p/not-injected"],
        },
      },
    ]);
    expect(patch[0]!.value["acr-p2p/not-injected"]).to.match(/^no-accelerated-images: no image comes from/);
  });

  it("bounds the annotation, whatever the message quotes", async () => {
    const image = `registry.example.com/team/app:${"x".repeat(3000)}`;
    const { patch } = await answer(pod({ containers: [{ name: "app", image }] }));
    const value = String(patch[0]?.value?.["acr-p2p/not-injected"] ?? "");
    expect(value).to.match(/^invalid-image: /);
    expect(value.length).to.be.at.most(1024);
  });

  it("a pod that did not ask is not touched", async () => {
    const { response, patch } = await answer(pod({}, { labels: {} }));
    expect(patch).to.deep.equal([]);
    expect(response["status"].message).to.include("not-opted-in");
  });

  it("a reinvocation on an injected pod is neither a skip nor a change", async () => {
    const metrics = new WebhookMetrics();
    const first = await answer(pod(), metrics);
    expect(first.patch.length).to.be.above(0);
    const injected = jsonpatch.applyPatch(
      structuredClone(pod()),
      first.patch as never,
      false,
      false,
    ).newDocument;
    const again = await answer(injected as Json, metrics);
    expect(again.patch).to.deep.equal([]);
    expect(await skipCount(metrics, "already-injected")).to.equal(0);
    const admissions = (await metrics.admissions.get()).values;
    expect(admissions.find((v) => v.labels.result === "ignored")?.value).to.equal(1);
    expect(admissions.find((v) => v.labels.result === "skipped")?.value ?? 0).to.equal(0);
  });
});

describe("skips, as an Event on the pod's controller", () => {
  const owned = (name: string, uid = "uid-rs-1") =>
    pod(
      { containers: [{ name: "app", image: "quay.io/x/y:1" }] },
      {
        name: undefined,
        generateName: `${name}-`,
        ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name, uid, controller: true }],
      },
    );

  async function admitAll(kube: MemoryKubeApi, pods: Json[], dryRun = false): Promise<void> {
    const deps = { ...testDeps(undefined, kube) };
    for (const p of pods)
      await handleReview(JSON.stringify(review(p, { dryRun })), deps, new WebhookMetrics());
  }

  it("one Warning Event per controller and reason, naming the reason and the message", async () => {
    const kube = new MemoryKubeApi().addNamespace("apps");
    await admitAll(kube, [owned("web-5d8f"), owned("web-5d8f"), owned("web-5d8f")]);
    // Written in the background, after the answer: three tries, one Event.
    await waitUntil(
      async () => kube.calls.createEvent === 3,
      5000,
      () => `${kube.calls.createEvent} creates`,
    );
    expect([...kube.events.keys()]).to.deep.equal(["apps/web-5d8f.acr-p2p-no-accelerated-images"]);
    const event = kube.events.get("apps/web-5d8f.acr-p2p-no-accelerated-images")!;
    expect(event).to.deep.include({
      reason: "AccelerationSkipped",
      type: "Warning",
      involvedObject: {
        apiVersion: "apps/v1",
        kind: "ReplicaSet",
        name: "web-5d8f",
        uid: "uid-rs-1",
        namespace: "apps",
      },
    });
    expect(event.message).to.match(/^pods of this ReplicaSet are not injected \(no-accelerated-images\): /);
  });

  it("with the controller's memory of recent Events, a scale-out sends one create, not one per pod", async () => {
    const kube = new MemoryKubeApi().addNamespace("apps");
    const deps = { ...testDeps(undefined, kube), recentSkipEvents: new RecentSkipEvents() };
    for (let i = 0; i < 20; i++)
      await handleReview(JSON.stringify(review(owned("web-9c1"))), deps, new WebhookMetrics());
    await waitUntil(
      async () => kube.events.size === 1,
      5000,
      () => "no Event written",
    );
    expect(kube.calls.createEvent).to.equal(1);
  });

  it("remembers an owner and reason for its window only, and a bounded number of them", () => {
    const recent = new RecentSkipEvents(1000, 2);
    expect(recent.claim("a", 0)).to.equal(true);
    expect(recent.claim("a", 999)).to.equal(false);
    expect(recent.claim("a", 1000)).to.equal(true);
    expect(recent.claim("b", 1001)).to.equal(true);
    expect(recent.claim("c", 1002)).to.equal(true);
    // "a" was the oldest of three: dropped, so it counts as new again.
    expect(recent.claim("a", 1003)).to.equal(true);
  });

  it("none for a dry run, a pod without a controller, or a pod that did not ask", async () => {
    const kube = new MemoryKubeApi().addNamespace("apps");
    await admitAll(kube, [owned("web-1")], true);
    await admitAll(kube, [pod({ containers: [{ name: "app", image: "quay.io/x/y:1" }] })]);
    const quiet = owned("web-2");
    (quiet["metadata"] as Json)["labels"] = {};
    await admitAll(kube, [quiet]);
    // Each case is decided before the first await of the background report: nothing is pending.
    expect(kube.calls.createEvent).to.equal(0);
  });
});
