/**
 * Fuzz: a few thousand random, mutated and stretched (huge or unicode annotations, hundreds of
 * containers) AdmissionReviews through handleReview. No call may throw, every answer is well-formed (a
 * 4xx error body, or an AdmissionReview response to the same uid), no answer comes from the
 * internal-error path, and every patch applies cleanly to the pod it was computed for and leaves a pod
 * the webhook still reads, within the API server's limits the original kept. Seeded: a failure prints
 * the seed and iteration to replay.
 */
import { readFileSync, readdirSync } from "node:fs";
import { expect } from "chai";
import jsonpatch from "fast-json-patch";
import { handleReview } from "../../../../webhook/admission/handle-review.ts";
import { parseManifests } from "../../../../webhook/cli/inject-command.ts";
import { podView } from "../../../../webhook/cli/workloads.ts";
import { MemoryKubeApi } from "../../../../webhook/kube/memory-kube-api.ts";
import { objectLimitBroken } from "../../../../webhook/mutation/object-limits.ts";
import { checkPod } from "../../../../webhook/mutation/pod.ts";
import { WebhookMetrics } from "../../../../webhook/metrics/webhook-metrics.ts";
import { prng } from "../../../support/prng.ts";
import { pod, review, testConfig, testDeps } from "../webhook-fixtures.ts";

type Json = Record<string, unknown>;

const SEED = 424242;
const ITERATIONS = 3000;

/** Valid pods to mutate: every golden input's pods plus a few hand-made shapes. */
function corpus(): Json[] {
  const dir = new URL("../../../fixtures/inject/", import.meta.url);
  const pods: Json[] = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith(".yaml"))) {
    for (const doc of parseManifests(readFileSync(new URL(f, dir), "utf8"))) {
      const view = podView(doc);
      if (view) pods.push(view.pod);
    }
  }
  pods.push(pod({ imagePullSecrets: [{ name: "creds" }] }), pod({}, { labels: {} }));
  return pods;
}

function mutator(rand: () => number) {
  const int = (n: number) => Math.floor(rand() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;
  const strings = [
    "",
    "p2p",
    "off",
    "Registry.Local:5000/A/B",
    "127.0.0.1:65001/x",
    "a".repeat(300),
    "\u0000\u202e",
    "65002",
    "true",
  ];
  const randomValue = (depth = 0): unknown => {
    switch (int(depth > 2 ? 5 : 8)) {
      case 0:
        return null;
      case 1:
        return rand() < 0.5;
      case 2:
        return pick([0, -1, 65001, 65003, 1e308, 3.5, Number.MAX_SAFE_INTEGER]);
      case 3:
        return pick(strings);
      case 4:
        return String.fromCharCode(...Array.from({ length: int(20) }, () => int(0x3000)));
      case 5:
        return Array.from({ length: int(4) }, () => randomValue(depth + 1));
      default:
        return Object.fromEntries(
          Array.from({ length: int(4) }, () => [
            pick(["name", "image", "ports", "x", "spec", ""]),
            randomValue(depth + 1),
          ]),
        );
    }
  };
  /** Every container (object or array) inside `value`, with its path. */
  const nodes = (value: unknown, out: (Json | unknown[])[] = []): (Json | unknown[])[] => {
    if (value !== null && typeof value === "object") {
      out.push(value as Json);
      for (const v of Object.values(value)) nodes(v, out);
    }
    return out;
  };
  const mutateTree = (root: Json): void => {
    for (let n = 1 + int(3); n > 0; n--) {
      const all = nodes(root);
      const target = pick(all);
      const keys = Object.keys(target);
      const key = keys.length > 0 ? pick(keys) : "x";
      const op = int(4);
      if (Array.isArray(target)) {
        if (op === 0) target.splice(Number(key), 1);
        else if (op === 1) target.push(structuredClone(target[0] ?? randomValue()));
        else target[Number(key)] = randomValue();
      } else if (op === 0) delete target[key];
      else
        target[op === 1 ? pick(["image", "restartPolicy", "annotations", "labels", "hostPort"]) : key] =
          randomValue();
    }
  };
  const mutateText = (text: string): string => {
    const op = int(3);
    const at = int(text.length + 1);
    if (op === 0) return text.slice(0, at);
    if (op === 1)
      return text.slice(0, at) + pick(["{", "}", "]", '"', ",", "\\", "\u0000", "null"]) + text.slice(at);
    return text.slice(0, at) + text.slice(at + 1 + int(10));
  };
  /** A valid pod pushed toward the API server's limits: huge or unicode annotations, many containers. */
  const stretch = (object: Json): void => {
    const metadata = ((object["metadata"] as Json | undefined) ?? {}) as Json;
    object["metadata"] = metadata;
    const spec = object["spec"] as Json | undefined;
    switch (int(3)) {
      case 0: {
        // Up to just under the 256 KiB the API server allows, in one or many annotations.
        const total = 256_000 + int(6_100);
        const parts = 1 + int(50);
        metadata["annotations"] = Object.fromEntries(
          Array.from({ length: parts }, (_, i) => [`fuzz/${i}`, "x".repeat(Math.floor(total / parts))]),
        );
        break;
      }
      case 1:
        metadata["annotations"] = Object.fromEntries(
          Array.from({ length: 1 + int(20) }, (_, i) => [`fuzz/${i}`, "é\u202e😀".repeat(int(2000))]),
        );
        break;
      default: {
        const containers = (spec?.["containers"] as Json[] | undefined) ?? [];
        const count = 50 + int(600);
        for (let i = containers.length; i < count && spec; i++)
          containers.push({
            name: `f${i}`,
            image: `registry.example.com/team/${"b".repeat(int(200))}-${i}:1`,
          });
      }
    }
  };
  return { int, pick, randomValue, mutateTree, mutateText, stretch };
}

describe("fuzz: random and mutated AdmissionReviews", function () {
  this.timeout(60_000);

  it(`answers ${ITERATIONS} of them well-formed, seed ${SEED}`, async () => {
    const rand = prng(SEED);
    const m = mutator(rand);
    const pods = corpus();
    const kube = new MemoryKubeApi()
      .addNamespace("apps", { "k8s.aliyun.com/image-accelerate-mode": "p2p" })
      .addSecret("apps", {
        metadata: { name: "creds" },
        type: "kubernetes.io/dockerconfigjson",
        data: {
          ".dockerconfigjson": Buffer.from('{"auths":{"registry.example.com":{"auth":"dTpw"}}}').toString(
            "base64",
          ),
        },
      });
    const deps = testDeps(testConfig(), kube);
    const metrics = new WebhookMetrics();
    const tally: Record<string, number> = {};

    for (let i = 0; i < ITERATIONS; i++) {
      const where = `seed ${SEED}, iteration ${i}`;
      const kind = m.int(13);
      let text: string;
      let object: unknown;
      if (kind === 0) text = JSON.stringify(m.randomValue());
      else {
        const r = review(structuredClone(m.pick(pods)), { uid: `uid-${i}`, dryRun: m.int(4) === 0 });
        if (kind <= 6) m.mutateTree((r["request"] as Json)["object"] as Json);
        else if (kind <= 8) m.mutateTree(r);
        else if (kind >= 10) m.stretch((r["request"] as Json)["object"] as Json);
        object = (r["request"] as Json | undefined)?.["object"];
        text = JSON.stringify(r);
        if (kind === 9) text = m.mutateText(text);
      }
      let answer;
      try {
        answer = await handleReview(text, deps, metrics);
      } catch (err) {
        throw new Error(`${where}: handleReview threw ${String(err)}\n${text.slice(0, 2000)}`);
      }
      tally[String(answer.status)] = (tally[String(answer.status)] ?? 0) + 1;
      if (answer.status !== 200) {
        expect(answer.status, where).to.be.oneOf([400, 413, 415]);
        const error = answer.body["error"] as { code?: unknown; message?: unknown };
        expect(error.code, where).to.be.a("string");
        expect(error.message, where).to.be.a("string");
        continue;
      }
      expect(answer.body["apiVersion"], where).to.equal("admission.k8s.io/v1");
      expect(answer.body["kind"], where).to.equal("AdmissionReview");
      const response = answer.body["response"] as Json;
      expect(response["uid"], where).to.equal((JSON.parse(text) as { request: { uid: string } }).request.uid);
      expect(response["allowed"], where).to.equal(true);
      const skipReason = (response["auditAnnotations"] as Json | undefined)?.["skip-reason"];
      if (skipReason === "object-limits") tally["object-limits"] = (tally["object-limits"] ?? 0) + 1;
      expect(JSON.stringify(response["status"] ?? ""), where).not.to.include("internal error");
      for (const w of (response["warnings"] as string[] | undefined) ?? [])
        expect(w, where).to.be.a("string");
      if (response["patch"] !== undefined) {
        tally["patched"] = (tally["patched"] ?? 0) + 1;
        expect(response["patchType"], where).to.equal("JSONPatch");
        const ops = JSON.parse(
          Buffer.from(response["patch"] as string, "base64").toString("utf8"),
        ) as jsonpatch.Operation[];
        let patched: unknown;
        expect(() => {
          patched = jsonpatch.applyPatch(structuredClone(object), ops, true, false).newDocument;
        }, where).not.to.throw();
        // What the API server will validate: still a pod the webhook reads, within the limits the
        // original kept.
        expect(() => checkPod(patched), where).not.to.throw();
        expect(objectLimitBroken(checkPod(object), checkPod(patched)), where).to.equal(undefined);
      }
    }
    const internal = await metrics.errors.get();
    expect(internal.values.filter((v) => v.labels["code"] === "INTERNAL")).to.deep.equal([]);
    // The mix must reach all three outcomes, or the fuzzer is not exercising the webhook.
    expect(tally["400"] ?? 0, JSON.stringify(tally)).to.be.greaterThan(50);
    expect(tally["patched"] ?? 0, JSON.stringify(tally)).to.be.greaterThan(200);
    expect(tally["200"] ?? 0, JSON.stringify(tally)).to.be.greaterThan(1000);
    expect(tally["object-limits"] ?? 0, JSON.stringify(tally)).to.be.greaterThan(10);
    console.log(`      outcomes: ${JSON.stringify(tally)}`);
  });
});
