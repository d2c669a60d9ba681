/**
 * The part of a Pod the webhook reads, checked once at the edge. Only the fields the decisions and the
 * patch depend on are checked; everything else passes through untouched (the webhook answers with a
 * patch, never a re-serialised pod). `null` counts as absent, as the API's omitempty fields allow.
 */
import { z } from "zod";
import { CodedError } from "../../lib/coded-error.ts";

const stringMap = z.record(z.string(), z.string());

const containerPortSchema = z.looseObject({
  containerPort: z.number().int(),
  hostPort: z.number().int().nullish(),
  protocol: z.string().nullish(),
  name: z.string().nullish(),
});

/** Quantities: strings from the API server; a YAML file given to `inject` may hold plain numbers. */
const quantityMap = z.record(z.string(), z.union([z.string(), z.number()]));

const containerSchema = z.looseObject({
  name: z.string().min(1),
  image: z.string().nullish(),
  ports: z.array(containerPortSchema).nullish(),
  restartPolicy: z.string().nullish(),
  resources: z.looseObject({ limits: quantityMap.nullish(), requests: quantityMap.nullish() }).nullish(),
});

const nodeSelectorRequirementSchema = z.looseObject({
  key: z.string(),
  operator: z.string(),
  values: z.array(z.string()).nullish(),
});

const affinitySchema = z.looseObject({
  nodeAffinity: z
    .looseObject({
      requiredDuringSchedulingIgnoredDuringExecution: z
        .looseObject({
          nodeSelectorTerms: z.array(
            z.looseObject({ matchExpressions: z.array(nodeSelectorRequirementSchema).nullish() }),
          ),
        })
        .nullish(),
    })
    .nullish(),
});

const podSpecSchema = z.looseObject({
  containers: z.array(containerSchema),
  initContainers: z.array(containerSchema).nullish(),
  imagePullSecrets: z.array(z.looseObject({ name: z.string().nullish() })).nullish(),
  nodeSelector: stringMap.nullish(),
  affinity: affinitySchema.nullish(),
  tolerations: z
    .array(
      z.looseObject({
        key: z.string().nullish(),
        operator: z.string().nullish(),
        value: z.string().nullish(),
        effect: z.string().nullish(),
      }),
    )
    .nullish(),
  volumes: z.array(z.looseObject({ name: z.string() })).nullish(),
  os: z.looseObject({ name: z.string() }).nullish(),
  hostNetwork: z.boolean().nullish(),
});

export const podSchema = z.looseObject({
  apiVersion: z.string().nullish(),
  kind: z.string().nullish(),
  metadata: z
    .looseObject({
      name: z.string().nullish(),
      generateName: z.string().nullish(),
      namespace: z.string().nullish(),
      labels: stringMap.nullish(),
      annotations: stringMap.nullish(),
    })
    .nullish(),
  spec: podSpecSchema,
});

export type Pod = z.infer<typeof podSchema>;
export type PodSpec = Pod["spec"];
export type Container = z.infer<typeof containerSchema>;

export class PodShapeError extends CodedError<"POD_INVALID"> {
  /** Where the problem is, as a JSON-ish path from the pod: `spec.containers[0].image`. */
  readonly path: string;
  constructor(path: string, reason: string) {
    super("POD_INVALID", `${path}: ${reason}`);
    this.name = "PodShapeError";
    this.path = path;
  }
}

/** Checks the fields the webhook reads; throws a PodShapeError naming the first bad one. */
export function checkPod(value: unknown, prefix = ""): Pod {
  const result = podSchema.safeParse(value);
  if (result.success) return value as Pod;
  const issue = result.error.issues[0];
  const path = formatPath(prefix, issue?.path ?? []);
  throw new PodShapeError(path || "(pod)", (issue?.message ?? "invalid").replace(/^Invalid input: /, ""));
}

export function formatPath(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else out += out === "" ? String(p) : `.${String(p)}`;
  }
  return out;
}

/** Containers and init containers with where they sit, in pod order (init containers first). */
export interface ContainerSlot {
  readonly container: Container;
  readonly init: boolean;
  readonly index: number;
}

export function containerSlots(spec: PodSpec): ContainerSlot[] {
  return [
    ...(spec.initContainers ?? []).map((container, index) => ({ container, init: true, index })),
    ...spec.containers.map((container, index) => ({ container, init: false, index })),
  ];
}
