/**
 * ACR temporary credentials as the admission sees them. A pod that names no pull secret at all (the
 * ServiceAccount's, if any, were copied into the pod before webhooks run) and pulls from an ACR
 * instance's host gets the controller's temporary-credentials secret: one per namespace, kept by the
 * cloud layer (acr-temp-credentials.ts) under the rewritten prefixes `127.0.0.1:<port>/<host>/`,
 * the same keys derived secrets use, so the kubelet sends the login to the sidecar.
 *
 * The decision is pure (`wantsTempPullSecret`); the I/O (`ensureNamespace`: write or refresh the
 * secret) happens in the admission's I/O phase, never on a dry run, and is bounded so the admission
 * stays within the webhook's timeout.
 */
import type { Pod } from "../mutation/pod.ts";

export interface TempPullSecrets {
  /** The secret's name in every namespace (fixed, so a dry run can name it without writing it). */
  readonly secretName: string;
  /** Canonical hosts the temporary passwords log in to: the ACR instances' accelerated hosts. */
  coveredHosts(): ReadonlySet<string>;
  /**
   * Makes sure `namespace` holds the secret with current passwords (and keeps it refreshed from now
   * on). Its name, or undefined when no password could be obtained or the write failed.
   */
  ensureNamespace(namespace: string): Promise<string | undefined>;
  /** One line for /readyz: password expiry, last failure, namespaces served. */
  describe(): string;
}

/** The pod names no pull secret and pulls at least one image from a covered host. */
export function wantsTempPullSecret(
  pod: Pod,
  rewrittenHosts: readonly string[],
  covered: ReadonlySet<string>,
): boolean {
  if ((pod.spec.imagePullSecrets ?? []).length > 0) return false;
  return rewrittenHosts.some((h) => covered.has(h));
}

export type TempSecretOutcome =
  | { readonly kind: "added"; readonly name: string }
  | { readonly kind: "pending"; readonly name: string }
  | { readonly kind: "unavailable"; readonly reason: string };

/**
 * Runs ensureNamespace, waiting at most `waitMs`. Past that the write goes on in the background and
 * the pod still names the secret ("pending"): the kubelet reads pull secrets at pull time and retries
 * a failed pull, so a secret that appears a moment later is used (and a missing one is skipped with a
 * warning event, as if the pod had named none).
 */
export async function ensureTempPullSecret(
  temp: TempPullSecrets,
  namespace: string,
  waitMs: number,
): Promise<TempSecretOutcome> {
  const ensured = temp.ensureNamespace(namespace).then(
    (name): TempSecretOutcome =>
      name === undefined
        ? { kind: "unavailable", reason: "no temporary password could be obtained (see /readyz)" }
        : { kind: "added", name },
    (err: unknown): TempSecretOutcome => ({
      kind: "unavailable",
      reason: err instanceof Error ? err.message : String(err),
    }),
  );
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<TempSecretOutcome>((resolve) => {
    timer = setTimeout(() => resolve({ kind: "pending", name: temp.secretName }), waitMs);
  });
  try {
    return await Promise.race([ensured, late]);
  } finally {
    clearTimeout(timer);
  }
}
