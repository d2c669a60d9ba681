/**
 * `acr-p2p inject -f FILE [--registry HOST]... [-o yaml|json]`: prints the manifests of FILE with every
 * Pod / pod template mutated exactly as the webhook would (the same admitPod), plus the derived pull
 * secrets it would create. No cluster: Namespaces and Secrets found in FILE stand in for the cluster's;
 * a namespace not in FILE counts as opted in; the server version is --kube-version.
 */
import { readFile } from "node:fs/promises";
import { parseAllDocuments, stringify } from "yaml";
import { silentLogger } from "../../lib/logger.ts";
import type { OptionSpec } from "../../lib/sidecar-options.ts";
import { ConfigError } from "../../sidecar/config/config-error.ts";
import { parseChoice } from "../../sidecar/config/option-values.ts";
import { collectRawOptions } from "../../sidecar/config/raw-options.ts";
import { admitPod } from "../admission/admit-pod.ts";
import { renderOptionsHelp } from "../config/help.ts";
import { buildMutationConfig, parseRegistries, type MutationConfig } from "../config/webhook-config.ts";
import { COPIED_SIDECAR_OPTIONS, WEBHOOK_OPTIONS } from "../config/webhook-options.ts";
import { ClusterFacts } from "../kube/cluster-facts.ts";
import { parseServerVersion, type SecretObject } from "../kube/kube-api.ts";
import { MemoryKubeApi } from "../kube/memory-kube-api.ts";
import { ACCELERATE_MODE, ACCELERATE_MODE_P2P } from "../mutation/names.ts";
import { checkPod, PodShapeError } from "../mutation/pod.ts";
import { StaticRegistryResolver } from "../registry/registry-resolver.ts";
import { podView } from "./workloads.ts";

type Json = Record<string, unknown>;

export const PLACEHOLDER_SIDECAR_IMAGE = `registry.example.com/acr-p2p/sidecar@sha256:${"0".repeat(64)}`;
const MUTATION_KEYS = new Set([
  "registries",
  "sidecarImage",
  "serverless",
  "namespace",
  "sidecarCpuRequest",
  "sidecarMemoryRequest",
  "sidecarMemoryMargin",
]);
// What a user previewing a manifest expects: the pod as a serverless cluster would run it.
const INJECT_DEFAULTS: Readonly<Record<string, string>> = {
  sidecarImage: PLACEHOLDER_SIDECAR_IMAGE,
  serverless: "true",
};

export const INJECT_OPTIONS: readonly OptionSpec[] = Object.freeze([
  {
    key: "filename",
    env: "ACR_P2P_INJECT_FILE",
    flag: "--filename",
    kind: "string",
    help: "Manifest file (YAML or JSON, several documents allowed); - reads stdin. Short: -f.",
  },
  {
    key: "output",
    env: "ACR_P2P_INJECT_OUTPUT",
    flag: "--output",
    kind: "enum",
    choices: ["yaml", "json"],
    default: "yaml",
    help: "Output format. Short: -o.",
  },
  {
    key: "kubeVersion",
    env: "ACR_P2P_INJECT_KUBE_VERSION",
    flag: "--kube-version",
    kind: "string",
    default: "1.34",
    help: "The Kubernetes version to assume (native sidecars need >= 1.29).",
  },
  ...WEBHOOK_OPTIONS.filter((o) => MUTATION_KEYS.has(o.key)).map((o) => ({
    ...o,
    default: INJECT_DEFAULTS[o.key] ?? o.default,
  })),
  ...COPIED_SIDECAR_OPTIONS,
] satisfies OptionSpec[]);

const HEADER = [
  "usage: acr-p2p inject -f FILE [--registry HOST]... [-o yaml|json] [options]",
  "",
  "Prints FILE's Pods, Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs and CronJobs as the",
  "webhook would mutate them, plus the derived pull secrets it would create. Namespaces and Secrets in",
  "FILE stand in for the cluster's; a namespace not in FILE counts as opted in. Skips go to stderr.",
];

export async function main(argv: string[]): Promise<number> {
  const expanded = argv.map((a) => (a === "-f" ? "--filename" : a === "-o" ? "--output" : a));
  let raw;
  let config: MutationConfig;
  let registries: readonly string[];
  try {
    raw = collectRawOptions(INJECT_OPTIONS, expanded, process.env);
    if (raw.help) {
      process.stdout.write(renderOptionsHelp(HEADER, INJECT_OPTIONS));
      return 0;
    }
    config = buildMutationConfig(raw);
    registries = parseRegistries(
      INJECT_OPTIONS.find((o) => o.key === "registries") as OptionSpec,
      listOf(raw.values.get("registries")),
    );
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`acr-p2p inject: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const file = raw.values.get("filename");
  if (typeof file !== "string") {
    process.stderr.write("acr-p2p inject: name the manifest with -f FILE (or -f - for stdin)\n");
    return 2;
  }
  const output = parseChoice<"yaml" | "json">(
    INJECT_OPTIONS[1] as OptionSpec,
    String(raw.values.get("output")),
  );
  const version = parseServerVersion("", "", `v${String(raw.values.get("kubeVersion"))}`);

  let docs: Json[];
  try {
    docs = parseManifests(file === "-" ? await readStdin() : await readFile(file, "utf8"));
  } catch (err) {
    process.stderr.write(`acr-p2p inject: ${file}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  const result = await injectDocuments(docs, config, registries, version);
  for (const line of result.messages) process.stderr.write(`acr-p2p inject: ${line}\n`);
  process.stdout.write(formatDocuments(result.documents, output));
  return result.failed ? 1 : 0;
}

export interface InjectOutcome {
  readonly documents: Json[];
  readonly messages: string[];
  readonly failed: boolean;
}

/** Mutates the workloads of `docs` in place and appends the derived secrets. */
export async function injectDocuments(
  docs: Json[],
  config: MutationConfig,
  registries: readonly string[],
  version: ReturnType<typeof parseServerVersion>,
): Promise<InjectOutcome> {
  const kube = new MemoryKubeApi(version);
  for (const doc of docs) {
    const meta = (doc["metadata"] ?? {}) as {
      name?: string;
      namespace?: string;
      labels?: Record<string, string>;
    };
    if (doc["kind"] === "Namespace" && meta.name) kube.addNamespace(meta.name, meta.labels ?? {});
    if (doc["kind"] === "Secret" && meta.name)
      kube.addSecret(meta.namespace ?? "default", doc as unknown as SecretObject);
  }
  const deps = {
    config,
    kube,
    facts: new ClusterFacts(kube),
    resolver: new StaticRegistryResolver(registries),
    logger: silentLogger(),
  };
  const messages: string[] = [];
  const created: Json[] = [];
  let failed = false;
  for (const doc of docs) {
    const view = podView(doc);
    if (!view) continue;
    const meta = (doc["metadata"] ?? {}) as { name?: string; namespace?: string };
    const namespace = meta.namespace ?? "default";
    const what = `${String(doc["kind"])} ${namespace}/${meta.name ?? "(unnamed)"}`;
    if (!kube.namespaces.has(namespace)) {
      kube.addNamespace(namespace, { [ACCELERATE_MODE]: ACCELERATE_MODE_P2P });
      messages.push(
        `namespace ${namespace} is not in the input: assumed labelled ${ACCELERATE_MODE}=${ACCELERATE_MODE_P2P}`,
      );
    }
    let pod;
    try {
      pod = checkPod(view.pod);
    } catch (err) {
      if (!(err instanceof PodShapeError)) throw err;
      messages.push(`${what}: not a valid pod: ${err.message}`);
      failed = true;
      continue;
    }
    const admitted = await admitPod(pod, namespace, false, deps);
    for (const w of admitted.warnings) messages.push(`${what}: warning: ${w}`);
    if (!admitted.injected) {
      messages.push(`${what}: not injected (${admitted.skip.reason}): ${admitted.skip.message}`);
      continue;
    }
    view.writeBack(admitted.pod as Json);
    for (const d of admitted.derivedSecrets) {
      if (created.some((c) => (c["metadata"] as Json)["name"] === d.name)) continue;
      created.push({
        apiVersion: "v1",
        kind: "Secret",
        metadata: { ...d.secret.metadata, namespace },
        type: d.secret.type,
        data: d.secret.data,
      });
    }
  }
  return { documents: [...docs, ...created], messages, failed };
}

export function parseManifests(text: string): Json[] {
  const out: Json[] = [];
  for (const doc of parseAllDocuments(text)) {
    if ("errors" in doc && doc.errors.length > 0) throw new Error(doc.errors[0]?.message ?? "not YAML");
    const value: unknown = doc.toJS();
    if (value == null) continue;
    if (typeof value !== "object" || Array.isArray(value))
      throw new Error("each document must be a Kubernetes object");
    const obj = value as Json;
    if (obj["kind"] === "List" && Array.isArray(obj["items"])) out.push(...(obj["items"] as Json[]));
    else out.push(obj);
  }
  return out;
}

export function formatDocuments(docs: readonly Json[], output: "yaml" | "json"): string {
  if (output === "json") {
    const value = docs.length === 1 ? docs[0] : { apiVersion: "v1", kind: "List", items: docs };
    return `${JSON.stringify(value, null, 2)}\n`;
  }
  return docs.map((d) => stringify(d, { lineWidth: 0 })).join("---\n");
}

function listOf(value: string | readonly string[] | undefined): readonly string[] {
  return value === undefined ? [] : typeof value === "string" ? [value] : value;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
