/**
 * The pod inside a workload manifest: a Pod is its own, a Deployment / StatefulSet / DaemonSet /
 * ReplicaSet / Job has `spec.template`, a CronJob `spec.jobTemplate.spec.template`. `acr-p2p inject`
 * mutates that pod and puts it back.
 */

type Json = Record<string, unknown>;

const TEMPLATE_PATHS: Readonly<Record<string, readonly string[]>> = {
  Deployment: ["spec", "template"],
  StatefulSet: ["spec", "template"],
  DaemonSet: ["spec", "template"],
  ReplicaSet: ["spec", "template"],
  Job: ["spec", "template"],
  CronJob: ["spec", "jobTemplate", "spec", "template"],
};

export interface PodView {
  /** The pod to admit (metadata without namespace: the namespace travels separately). */
  readonly pod: Json;
  /** Writes a mutated pod back into the manifest. */
  readonly writeBack: (mutated: Json) => void;
}

export function podView(doc: Json): PodView | undefined {
  if (doc["kind"] === "Pod") {
    return { pod: doc, writeBack: (mutated) => Object.assign(doc, mutated) };
  }
  const path = typeof doc["kind"] === "string" ? TEMPLATE_PATHS[doc["kind"]] : undefined;
  if (!path) return undefined;
  let template: unknown = doc;
  for (const key of path) template = (template as Json | undefined)?.[key];
  if (template === null || typeof template !== "object") return undefined;
  const t = template as Json;
  const pod: Json = { apiVersion: "v1", kind: "Pod", metadata: t["metadata"] ?? {}, spec: t["spec"] };
  return {
    pod,
    writeBack: (mutated) => {
      t["metadata"] = mutated["metadata"];
      t["spec"] = mutated["spec"];
    },
  };
}
