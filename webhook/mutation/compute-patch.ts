/**
 * The mutation itself: a pure function of the pod, the configuration and the decisions taken before
 * (what to rewrite, the sidecar's sizing, the derived pull secrets that now exist). It returns the
 * JSON patch the webhook answers with and the patched pod `acr-p2p inject` prints.
 */
import type { MutationConfig } from "../config/webhook-config.ts";
import type { InjectionPlan } from "./decide.ts";
import { injectionSummary } from "./injection-summary.ts";
import { frontHost } from "./image-plan.ts";
import {
  ACCELERATE_MODE,
  ACCELERATE_MODE_P2P,
  P2P_CONFIG_ANNOTATION,
  PEER_GROUP_LABEL,
  PEER_LABEL,
  PLAIN_HTTP_ANNOTATION,
} from "./names.ts";
import { p2pConfig, p2pConfigAnnotation } from "./p2p-config.ts";
import { PodEditor, type PatchOperation } from "./pod-editor.ts";
import type { Pod } from "./pod.ts";
import { renderSidecar } from "./sidecar-container.ts";

export interface MutationDecisions {
  readonly plan: InjectionPlan;
  /** Names of the derived pull secrets to add to the pod (they exist, or this is a dry run). */
  readonly pullSecrets: readonly string[];
  /** The CA bundle of the controller's directory at admission time (sidecar env ACR_P2P_DIRECTORY_CA). */
  readonly directoryCA?: string | undefined;
}

export interface MutationResult {
  readonly patch: readonly PatchOperation[];
  readonly pod: Pod;
}

export function computePatch(pod: Pod, config: MutationConfig, decisions: MutationDecisions): MutationResult {
  const { plan } = decisions;
  const editor = new PodEditor(pod);
  // Images first: init container indexes shift once the sidecar is put in front of them.
  for (const r of plan.images.rewrites)
    editor.setImage(r.init ? "initContainers" : "containers", r.index, r.to);

  const present = new Set((pod.spec.imagePullSecrets ?? []).map((s) => s.name));
  editor.appendToSpecList(
    "imagePullSecrets",
    decisions.pullSecrets.filter((name) => !present.has(name)).map((name) => ({ name })),
  );
  const sidecar = renderSidecar(config, plan, decisions.directoryCA);
  editor.appendToSpecList("volumes", sidecar.volumes);
  editor.prependInitContainer(sidecar.container);

  editor.setLabel(PEER_LABEL, "true");
  editor.setLabel(PEER_GROUP_LABEL, groupLabelValue(plan.group));
  editor.setAnnotation(ACCELERATE_MODE, ACCELERATE_MODE_P2P);
  const injected = p2pConfig(config, plan, decisions.pullSecrets);
  editor.setAnnotation(P2P_CONFIG_ANNOTATION, p2pConfigAnnotation(injected));
  for (const [key, value] of Object.entries(injectionSummary(injected))) editor.setAnnotation(key, value);
  const plainHttp = pod.metadata?.annotations?.[PLAIN_HTTP_ANNOTATION];
  editor.setAnnotation(PLAIN_HTTP_ANNOTATION, mergeHostList(plainHttp, frontHost(config.sidecar.port)));
  return { patch: editor.patch, pod: editor.pod };
}

/** Adds `host` to a comma-separated list, keeping what is there (order, spacing dropped). */
export function mergeHostList(existing: string | undefined, host: string): string {
  const hosts = (existing ?? "")
    .split(",")
    .map((h) => h.trim())
    .filter((h) => h !== "");
  if (!hosts.includes(host)) hosts.push(host);
  return hosts.join(",");
}

/**
 * The `acr-p2p/group` label value. A shared group is `shared:<name>` (contract/peer-group.ts) and `:` is not
 * allowed in a label value, so the label shows the bare name; the label is informational, the
 * directory decides membership from the namespace.
 */
export function groupLabelValue(group: string): string {
  return group.startsWith("shared:") ? group.slice("shared:".length) : group;
}
