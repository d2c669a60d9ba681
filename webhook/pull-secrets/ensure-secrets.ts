/**
 * The pull-secret I/O of an admission: read the pod's source secrets, then make sure each derived
 * secret exists before the answer goes back (nothing is written on a dry run). A secret of the same
 * name without the managed-by label, or with other content, is never touched: the pod is then left
 * alone with a reason.
 */
import type { KubeApi, SecretObject } from "../kube/kube-api.ts";
import { KubeApiError } from "../kube/kube-api.ts";
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from "../mutation/names.ts";
import type { Pod } from "../mutation/pod.ts";
import { DOCKER_CONFIG_JSON_KEY, DockerConfigError, readPullSecret } from "./docker-config.ts";
import type { DerivedSecret, SourceSecret } from "./derived-secrets.ts";
import { CodedError } from "../../lib/coded-error.ts";

export class PullSecretError extends CodedError<"PULL_SECRET_FAILED"> {
  readonly secret: string;
  constructor(secret: string, message: string, cause?: unknown) {
    super("PULL_SECRET_FAILED", message, { cause });
    this.name = "PullSecretError";
    this.secret = secret;
  }
}

export interface SourceRead {
  readonly sources: SourceSecret[];
  /** Source secrets that are missing or unreadable (the kubelet would skip them too). */
  readonly notes: string[];
}

/** Reads `pod.spec.imagePullSecrets` (only those: the ServiceAccount's were copied there already). */
export async function readSourceSecrets(api: KubeApi, namespace: string, pod: Pod): Promise<SourceRead> {
  const names = [
    ...new Set((pod.spec.imagePullSecrets ?? []).map((r) => r.name).filter((n): n is string => !!n)),
  ];
  const notes: string[] = [];
  const read = await Promise.all(
    names.map(async (name): Promise<SourceSecret | undefined> => {
      let secret: SecretObject | undefined;
      try {
        secret = await api.getSecret(namespace, name);
      } catch (err) {
        throw new PullSecretError(name, `could not read pull secret ${name}: ${message(err)}`, err);
      }
      if (secret === undefined) {
        notes.push(`pull secret ${name} does not exist`);
        return undefined;
      }
      try {
        return { name, entries: readPullSecret(secret) };
      } catch (err) {
        if (!(err instanceof DockerConfigError)) throw err;
        notes.push(err.message);
        return undefined;
      }
    }),
  );
  return { sources: read.filter((s): s is SourceSecret => s !== undefined), notes };
}

/** Creates the derived secrets that do not exist yet (none on a dry run); verifies the others. */
export async function ensureDerivedSecrets(
  api: KubeApi,
  namespace: string,
  derived: readonly DerivedSecret[],
  dryRun: boolean,
): Promise<void> {
  await Promise.all(derived.map((d) => ensureOne(api, namespace, d, dryRun)));
}

async function ensureOne(api: KubeApi, namespace: string, d: DerivedSecret, dryRun: boolean): Promise<void> {
  let existing: SecretObject | undefined;
  try {
    existing = await api.getSecret(namespace, d.name);
    if (existing === undefined) {
      if (dryRun) return;
      try {
        await api.createSecret(namespace, d.secret);
        return;
      } catch (err) {
        // Another admission created it a moment ago: check what is there now.
        if (!(err instanceof KubeApiError && err.code === "ALREADY_EXISTS")) throw err;
        existing = await api.getSecret(namespace, d.name);
      }
    }
  } catch (err) {
    if (err instanceof PullSecretError) throw err;
    throw new PullSecretError(d.name, `could not ensure derived pull secret ${d.name}: ${message(err)}`, err);
  }
  if (existing === undefined)
    throw new PullSecretError(d.name, `derived pull secret ${d.name} vanished while being created`);
  if (existing.metadata.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY_VALUE) {
    throw new PullSecretError(
      d.name,
      `secret ${d.name} exists without the label ${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}; it is left alone`,
    );
  }
  if (existing.data?.[DOCKER_CONFIG_JSON_KEY] !== d.secret.data?.[DOCKER_CONFIG_JSON_KEY]) {
    throw new PullSecretError(
      d.name,
      `derived pull secret ${d.name} was changed by someone else; it is left alone`,
    );
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
