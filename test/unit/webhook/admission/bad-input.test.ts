/**
 * Bad input, each with its clear answer: a body that is not an AdmissionReview gets a 4xx naming what
 * is wrong; a review that is readable but not something to mutate gets `allowed: true` without a
 * patch and a message saying why. Never a 5xx, never a thrown error.
 */
import { expect } from "chai";
import { handleReview } from "../../../../webhook/admission/handle-review.ts";
import { WebhookMetrics } from "../../../../webhook/metrics/webhook-metrics.ts";
import { pod, review, testDeps } from "../webhook-fixtures.ts";

type Json = Record<string, unknown>;

interface Case {
  readonly name: string;
  readonly body: string;
  readonly status: number;
  /** For 4xx: the error code; for 200: undefined. */
  readonly code?: string;
  /** Text the error message or status.message must contain. */
  readonly says: string;
  /** A warning must be shown to the user too. */
  readonly warns?: boolean;
}

const json = (v: unknown) => JSON.stringify(v);
const withRequest = (request: Json) => json(review(pod(), request));

const CASES: Case[] = [
  { name: "empty body", body: "", status: 400, code: "BODY_NOT_JSON", says: "not JSON" },
  {
    name: "malformed JSON",
    body: '{"apiVersion": "admission.k8s.io/v1", ',
    status: 400,
    code: "BODY_NOT_JSON",
    says: "not JSON",
  },
  { name: "a JSON array", body: "[]", status: 400, code: "NOT_ADMISSION_REVIEW", says: "not a JSON object" },
  {
    name: "a JSON string",
    body: '"hello"',
    status: 400,
    code: "NOT_ADMISSION_REVIEW",
    says: "not a JSON object",
  },
  {
    name: "a Pod instead of a review",
    body: json(pod()),
    status: 400,
    code: "NOT_ADMISSION_REVIEW",
    says: 'kind is "Pod"',
  },
  {
    name: "AdmissionReview v1beta1",
    body: json({ ...review(pod()), apiVersion: "admission.k8s.io/v1beta1" }),
    status: 400,
    code: "UNSUPPORTED_VERSION",
    says: "only admission.k8s.io/v1",
  },
  {
    name: "no request",
    body: json({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview" }),
    status: 400,
    code: "REQUEST_INVALID",
    says: "request",
  },
  {
    name: "no uid",
    body: withRequest({ uid: undefined }),
    status: 400,
    code: "REQUEST_INVALID",
    says: "request.uid",
  },
  {
    name: "uid not a string",
    body: withRequest({ uid: 42 }),
    status: 400,
    code: "REQUEST_INVALID",
    says: "request.uid",
  },
  {
    name: "kind missing",
    body: withRequest({ kind: undefined }),
    status: 400,
    code: "REQUEST_INVALID",
    says: "request.kind",
  },
  {
    name: "a Deployment",
    body: withRequest({ kind: { group: "apps", version: "v1", kind: "Deployment" } }),
    status: 200,
    says: "only Pods are mutated; got apps/v1 Deployment",
  },
  {
    name: "UPDATE",
    body: withRequest({ operation: "UPDATE" }),
    status: 200,
    says: "operation UPDATE is not handled (CREATE only)",
  },
  {
    name: "a subresource",
    body: withRequest({ subResource: "binding" }),
    status: 200,
    says: "subresource binding",
  },
  {
    name: "no object",
    body: withRequest({ object: undefined }),
    status: 200,
    says: "request.object",
    warns: true,
  },
  {
    name: "object without spec",
    body: json(review({ kind: "Pod", metadata: {} })),
    status: 200,
    says: "request.object.spec",
    warns: true,
  },
  {
    name: "containers not a list",
    body: json(review({ ...pod(), spec: { containers: { name: "x" } } })),
    status: 200,
    says: "request.object.spec.containers: expected array",
    warns: true,
  },
  {
    name: "image a number",
    body: json(review(pod({ containers: [{ name: "a", image: 7 }] }))),
    status: 200,
    says: "request.object.spec.containers[0].image",
    warns: true,
  },
  {
    name: "labels not strings",
    body: json(review(pod({}, { labels: { a: 1 } }))),
    status: 200,
    says: "request.object.metadata.labels.a",
    warns: true,
  },
  {
    name: "an invalid image reference",
    body: json(review(pod({ containers: [{ name: "web", image: "registry.example.com/web:bad tag" }] }))),
    status: 200,
    says: 'container "web": invalid image reference',
    warns: true,
  },
  {
    name: "an invalid override",
    body: json(review(pod({}, { annotations: { "acr-p2p/sidecar-memory-limit": "-5" } }))),
    status: 200,
    says: "annotation acr-p2p/sidecar-memory-limit",
    warns: true,
  },
  {
    name: "no namespace anywhere",
    body: withRequest({ namespace: "", object: { ...pod(), metadata: {} } }),
    status: 200,
    says: "namespace",
    warns: true,
  },
  {
    name: "a pod with 5000 containers, none accelerated",
    body: json(
      review(
        pod({
          containers: Array.from({ length: 5000 }, (_, i) => ({ name: `c${i}`, image: `quay.io/x/y:${i}` })),
        }),
      ),
    ),
    status: 200,
    says: "no-accelerated-images",
    warns: true,
  },
];

describe("bad input to /mutate (handleReview)", () => {
  for (const c of CASES) {
    it(`${c.name}: ${c.status}${c.code ? ` ${c.code}` : ""}`, async () => {
      const metrics = new WebhookMetrics();
      const answer = await handleReview(c.body, testDeps(), metrics);
      expect(answer.status).to.equal(c.status);
      if (c.status !== 200) {
        const error = answer.body["error"] as { code: string; message: string };
        expect(error.code).to.equal(c.code);
        expect(error.message).to.include(c.says);
        return;
      }
      const response = answer.body["response"] as Json;
      expect(response["allowed"]).to.equal(true);
      expect(response["uid"]).to.be.a("string");
      // Bad input changes nothing in the pod; one that asked for acceleration gets the annotation saying why.
      const patch = response["patch"]
        ? (JSON.parse(Buffer.from(response["patch"] as string, "base64").toString()) as { path: string }[])
        : [];
      for (const op of patch) expect(op.path).to.match(/^\/metadata\/annotations/);
      if (patch.length > 0) expect(JSON.stringify(patch)).to.match(/acr-p2p(\/|~1)not-injected/);
      expect((response["status"] as { message: string }).message).to.include(c.says);
      if (c.warns) expect((response["warnings"] as string[]).join("\n")).to.include(c.says.split(":")[0]);
      else expect(response).not.to.have.property("warnings");
    });
  }

  it("keeps warnings single-line and bounded, whatever the user wrote", async () => {
    const nasty = `${"x".repeat(500)}\n\u001b[31mred\u0007`;
    const body = json(review(pod({}, { annotations: { "acr-p2p/cache-size": nasty } })));
    const answer = await handleReview(body, testDeps(), new WebhookMetrics());
    const warnings = (answer.body["response"] as Json)["warnings"] as string[];
    for (const w of warnings) {
      expect(w).not.to.match(/[\u0000-\u001f\u007f]/);
      expect(w.length).to.be.at.most(240);
      expect(w.startsWith("acr-p2p: ")).to.equal(true);
    }
  });
});
