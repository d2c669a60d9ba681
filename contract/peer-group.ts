/**
 * Which peer group a pod belongs to. A group is a trust boundary (its members serve each other blocks),
 * so by default it is the pod's namespace, one tenant. A namespace joins a wider group only when its
 * own label names one: namespaces are cluster-admin objects, whereas a pod's labels are whatever its
 * creator wrote, so the pod's `acr-p2p/group` label is informational and never decides membership.
 */

/** Namespace label naming a shared group; on pods, the label the webhook sets to the pod's group. */
export const PEER_GROUP_LABEL = "acr-p2p/group";
/** Pod label the webhook sets on every injected pod. */
export const PEER_LABEL = "acr-p2p/peer";
/** Node label carrying the zone. */
export const ZONE_LABEL = "topology.kubernetes.io/zone";
/** Audience of the projected ServiceAccount token a sidecar presents to the directory. */
export const DIRECTORY_TOKEN_AUDIENCE = "acr-p2p";

const GROUP_RE = /^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$/;

/**
 * Group of the pods of `namespace`: the namespace itself unless it names a valid shared group. Shared
 * groups live in their own name space (`shared:<name>`), so a namespace labelled with another
 * namespace's name cannot join that namespace's private group.
 */
export function peerGroupOf(
  namespace: string,
  namespaceLabels: Readonly<Record<string, string>> = {},
): string {
  const shared = namespaceLabels[PEER_GROUP_LABEL];
  if (shared !== undefined && GROUP_RE.test(shared)) return `shared:${shared}`;
  return namespace;
}
