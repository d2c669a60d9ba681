/**
 * Where the pod will run, as far as its spec says. Injection is only safe where the runtime pulls
 * from inside the pod's sandbox (virtual nodes: one VM per pod); on an ordinary node 127.0.0.1 is the
 * node's. A pod is pinned to virtual nodes when every way it can be scheduled leads there: it selects
 * them (nodeSelector, or required node affinity in every term) and tolerates their taint, or it (else
 * its namespace) carries ACK's `alibabacloud.com/eci: "true"`, which sends it to ECI.
 */
import type { PodSpec } from "./pod.ts";
import { ECI_LABEL, VIRTUAL_NODE_LABEL, VIRTUAL_NODE_LABEL_VALUE, VIRTUAL_NODE_TAINT } from "./names.ts";

export interface Placement {
  readonly pinned: boolean;
  /** Why not, for the skip message. */
  readonly detail: string;
}

export function virtualNodePlacement(
  spec: PodSpec,
  podLabels: Readonly<Record<string, string>>,
  namespaceLabels: Readonly<Record<string, string>>,
): Placement {
  // The pod's own label decides when present (a pod may opt out of its namespace's ECI label).
  const eci = podLabels[ECI_LABEL] ?? namespaceLabels[ECI_LABEL];
  if (eci === "true") return { pinned: true, detail: `labelled ${ECI_LABEL}=true (scheduled to ECI)` };
  const selects = selectsVirtualNodes(spec);
  // The taint's value is the provider's name, so any value is accepted; an empty key with Exists
  // tolerates every taint.
  const tolerates = (spec.tolerations ?? []).some(
    (t) => t.key === VIRTUAL_NODE_TAINT || ((t.key == null || t.key === "") && t.operator === "Exists"),
  );
  if (selects && tolerates) return { pinned: true, detail: "pinned to virtual nodes" };
  const missing = [
    ...(selects
      ? []
      : [
          `nodeSelector ${VIRTUAL_NODE_LABEL}: ${VIRTUAL_NODE_LABEL_VALUE} (or required node affinity on it)`,
        ]),
    ...(tolerates ? [] : [`a toleration for ${VIRTUAL_NODE_TAINT}`]),
  ];
  return {
    pinned: false,
    detail: `not pinned to virtual nodes: needs ${missing.join(" and ")}, or the label ${ECI_LABEL}=true`,
  };
}

function selectsVirtualNodes(spec: PodSpec): boolean {
  if (spec.nodeSelector?.[VIRTUAL_NODE_LABEL] === VIRTUAL_NODE_LABEL_VALUE) return true;
  const terms =
    spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  // Terms are ORed: each one must lead to virtual nodes on its own.
  return (
    terms.length > 0 &&
    terms.every((term) =>
      (term.matchExpressions ?? []).some(
        (e) =>
          e.key === VIRTUAL_NODE_LABEL &&
          e.operator === "In" &&
          (e.values ?? []).length > 0 &&
          (e.values ?? []).every((v) => v === VIRTUAL_NODE_LABEL_VALUE),
      ),
    )
  );
}
