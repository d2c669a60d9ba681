/**
 * A skipped pod's reason as an Event on the object that creates such pods (its controller owner, e.g.
 * the ReplicaSet of a Deployment): `kubectl describe rs` / `deployment` show why its pods run without
 * acceleration. The pod itself has no uid at admission for an Event to name; it carries the reason in
 * its annotation instead. One Event per owner and reason while it lives (the API server expires Events
 * after an hour): a ReplicaSet scaled to 100 gets one, not 100. `RecentSkipEvents` keeps the keys
 * this process wrote lately, so a scale-out does not send the API server one refused create per pod.
 */
import type { LRUCache } from "lru-cache";
import { boundedCache } from "../../lib/bounded-cache.ts";
import type { Logger } from "../../lib/logger.ts";
import { KubeApiError, type KubeApi } from "../kube/kube-api.ts";
import type { Pod } from "../mutation/pod.ts";
import type { Skip } from "../mutation/skip.ts";

export const SKIP_EVENT_REASON = "AccelerationSkipped";

/** Owner and reason pairs recorded in the last `ttlMs`, at most `max` of them (oldest dropped first). */
export class RecentSkipEvents {
  /** When each key was claimed; least recently claimed dropped first past the bound. */
  readonly #seen: LRUCache<string, number>;
  readonly #ttlMs: number;

  constructor(ttlMs = 10 * 60_000, max = 10_000) {
    this.#ttlMs = ttlMs;
    this.#seen = boundedCache(max);
  }

  /** True the first time `key` is offered within the window (the caller then writes the Event). */
  claim(key: string, now = Date.now()): boolean {
    // peek: a refused claim does not make the key recent, only a claim that writes an Event does.
    const seenAt = this.#seen.peek(key);
    if (seenAt !== undefined && now - seenAt < this.#ttlMs) return false;
    this.#seen.set(key, now);
    return true;
  }
}
const MAX_MESSAGE = 1024;

interface Owner {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
}

/** The pod's controller owner, read defensively: the review's pod is input, and only the fields the webhook checks are checked. */
function controllerOf(pod: Pod): Owner | undefined {
  const refs = (pod.metadata as Record<string, unknown> | null | undefined)?.["ownerReferences"];
  if (!Array.isArray(refs)) return undefined;
  for (const ref of refs as Record<string, unknown>[]) {
    if (ref?.["controller"] !== true) continue;
    const { apiVersion, kind, name, uid } = ref;
    if ([apiVersion, kind, name, uid].every((v) => typeof v === "string" && v !== "" && v.length <= 253))
      return { apiVersion, kind, name, uid } as Owner;
  }
  return undefined;
}

/** Creates the Event when the pod asked for acceleration and has a controller; never throws. */
export async function reportSkipToOwner(
  kube: KubeApi,
  namespace: string,
  pod: Pod,
  skip: Skip,
  logger: Logger,
  recent?: RecentSkipEvents,
): Promise<void> {
  const owner = controllerOf(pod);
  if (!skip.warn || !owner) return;
  if (recent && !recent.claim(`${namespace}/${owner.uid}/${skip.reason}`)) return;
  const message = `pods of this ${owner.kind} are not injected (${skip.reason}): ${skip.message}`;
  try {
    await kube.createEvent(namespace, {
      // Within the 253 characters of a name whatever the owner is called.
      metadata: { name: `${owner.name.slice(0, 200)}.acr-p2p-${skip.reason}` },
      involvedObject: {
        apiVersion: owner.apiVersion,
        kind: owner.kind,
        name: owner.name,
        uid: owner.uid,
        namespace,
      },
      reason: SKIP_EVENT_REASON,
      message: message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 3)}...` : message,
      type: "Warning",
    });
  } catch (err) {
    if (err instanceof KubeApiError && err.code === "ALREADY_EXISTS") return;
    logger.warn({ err, owner: `${owner.kind}/${owner.name}` }, "could not record the skip as an Event");
  }
}
