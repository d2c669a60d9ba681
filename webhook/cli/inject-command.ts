/**
 * `acr-p2p inject FILE|DIR|- [--registry HOST]... [-o yaml|json]` (or `-f FILE`): prints the manifests
 * with every Pod / pod template mutated exactly as the webhook would (the same admitPod), plus the
 * derived pull secrets it would create. No cluster: Namespaces and Secrets in the input stand in for
 * the cluster's; a namespace not in the input counts as opted in; the server version is --kube-version.
 * Only the manifests go to stdout (`... | kubectl apply -f -` works); skips and errors go to stderr.
 */
import { stringify } from "yaml";
import { silentLogger } from "../../lib/logger.ts";
import type { OptionSpec } from "../../lib/config/option-spec.ts";
import { ConfigError } from "../../lib/config/config-error.ts";
import { parseChoice } from "../../lib/config/option-values.ts";
import { collectRawOptions } from "../../lib/config/raw-options.ts";
import { admitPod } from "../admission/admit-pod.ts";
import { renderOptionsHelp } from "../../lib/config/options-help.ts";
import { buildMutationConfig, parseRegistries, type MutationConfig } from "../config/webhook-config.ts";
import { COPIED_SIDECAR_OPTIONS, WEBHOOK_OPTIONS } from "../config/webhook-options.ts";
import { ClusterFacts } from "../kube/cluster-facts.ts";
import { parseServerVersion, type SecretObject, type ServerVersion } from "../kube/kube-api.ts";
import { MemoryKubeApi } from "../kube/memory-kube-api.ts";
import { ACCELERATE_MODE, ACCELERATE_MODE_P2P } from "../mutation/names.ts";
import { checkPod, PodShapeError } from "../mutation/pod.ts";
import type { PatchOperation } from "../mutation/pod-editor.ts";
import { StaticRegistryResolver } from "../registry/registry-resolver.ts";
import { readManifestSource } from "./manifest-source.ts";
import { podView } from "./workloads.ts";

export { parseManifests } from "./manifest-source.ts";

type Json = Record<string, unknown>;

export const PLACEHOLDER_SIDECAR_IMAGE = `registry.example.com/acr-p2p/sidecar@sha256:${"0".repeat(64)}`;
const MUTATION_KEYS = new Set([
  "registries",
  "sidecarImage",
  "serverless",
  "namespace",
  "sidecarCpuRequest",
  "sidecarCpuLimit",
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
    help: "Manifest file (YAML or JSON, several documents allowed), a directory (its .yaml, .yml and .json files) or - for stdin; also given as the one argument. Short: -f.",
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
  "usage: acr-p2p inject FILE|DIR|- [--registry HOST]... [-o yaml|json] [options]",
  "",
  "Prints the Pods, Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs and CronJobs as the",
  "webhook would mutate them, plus the derived pull secrets it would create. Namespaces and Secrets in",
  "FILE stand in for the cluster's; a namespace not in FILE counts as opted in. Skips go to stderr.",
];

export interface InjectArgs {
  readonly file: string | undefined;
  readonly output: "yaml" | "json";
  readonly config: MutationConfig;
  readonly registries: readonly string[];
  readonly version: ServerVersion;
}

/** `{help: true}`, or the validated arguments; throws ConfigError naming a bad option. */
export function parseInjectArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): { readonly help: true } | ({ readonly help: false } & InjectArgs) {
  const expanded = argv.map((a) => (a === "-f" ? "--filename" : a === "-o" ? "--output" : a));
  const raw = collectRawOptions(INJECT_OPTIONS, expanded, env, { positionals: true });
  if (raw.help) return { help: true };
  const spec = (key: string) => INJECT_OPTIONS.find((o) => o.key === key) as OptionSpec;
  const flagged = raw.values.get("filename");
  const sources = [...(typeof flagged === "string" ? [flagged] : []), ...raw.positionals];
  if (sources.length > 1) {
    throw ConfigError.forSpec(
      spec("filename"),
      `one manifest source, got ${sources.length}: ${sources.map((s) => JSON.stringify(s)).join(", ")} (a directory takes all its files)`,
    );
  }
  const versionText = String(raw.values.get("kubeVersion"));
  if (!/^v?\d+\.\d+(\.\d+)?$/.test(versionText)) {
    throw ConfigError.forSpec(
      spec("kubeVersion"),
      `expected MAJOR.MINOR, got ${JSON.stringify(versionText)}`,
    );
  }
  return {
    help: false,
    file: sources[0],
    output: parseChoice<"yaml" | "json">(spec("output"), String(raw.values.get("output"))),
    config: buildMutationConfig(raw),
    registries: parseRegistries(spec("registries"), listOf(raw.values.get("registries"))),
    version: parseServerVersion("", "", versionText.startsWith("v") ? versionText : `v${versionText}`),
  };
}

export async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseInjectArgs(argv, process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`acr-p2p inject: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (args.help) {
    process.stdout.write(renderOptionsHelp(HEADER, INJECT_OPTIONS));
    return 0;
  }
  if (args.file === undefined) {
    process.stderr.write(`acr-p2p inject: name the manifests: FILE, DIR or - for stdin\n\n${HEADER[0]}\n`);
    return 2;
  }
  let docs: Json[];
  try {
    docs = await readManifestSource(args.file);
  } catch (err) {
    process.stderr.write(`acr-p2p inject: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  const result = await injectDocuments(docs, args.config, args.registries, args.version);
  for (const line of result.messages) process.stderr.write(`acr-p2p inject: ${line}\n`);
  process.stdout.write(formatDocuments(result.documents, args.output));
  return result.failed ? 1 : 0;
}

export interface InjectOutcome {
  readonly documents: Json[];
  /** The webhook's JSON patch for each injected workload, by index in `documents`. */
  readonly patches: ReadonlyMap<number, readonly PatchOperation[]>;
  readonly messages: string[];
  readonly failed: boolean;
}

/** Mutates the workloads of `docs` in place and appends the derived secrets. */
export async function injectDocuments(
  docs: Json[],
  config: MutationConfig,
  registries: readonly string[],
  version: ServerVersion,
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
    if (doc["kind"] === "LimitRange" && meta.name) kube.addLimitRange(meta.namespace ?? "default", doc);
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
  const patches = new Map<number, readonly PatchOperation[]>();
  let failed = false;
  for (const [index, doc] of docs.entries()) {
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
    patches.set(index, admitted.patch);
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
  return { documents: [...docs, ...created], patches, messages, failed };
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
