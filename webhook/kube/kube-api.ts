/**
 * The few Kubernetes API calls the webhook makes, behind one small interface: read a namespace's
 * labels and LimitRanges, get and create Secrets, replace one Secret in place, list injected pods, read
 * the server version (RBAC: secrets get + create, and update only on the ACR temporary credentials
 * secret, never list or watch; limitranges list; pods list, which the peer directory has anyway). An
 * in-memory implementation sits beside it for unit tests and `acr-p2p inject`; the client-node one
 * talks to a real apiserver.
 */
import { CodedError } from "../../lib/coded-error.ts";

export interface ObjectMeta {
  readonly name: string;
  readonly namespace?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface SecretObject {
  readonly metadata: ObjectMeta;
  readonly type?: string;
  /** Base64 values, as the API returns them. */
  readonly data?: Readonly<Record<string, string>>;
}

export interface NamespaceObject {
  readonly metadata: ObjectMeta;
}

/** What the controller reads of a listed pod. */
export interface PodSummary {
  readonly namespace: string;
  readonly name: string;
  readonly imagePullSecrets: readonly string[];
}

/** One entry of a LimitRange's spec.limits, quantities as the API returns them. */
export interface LimitRangeItem {
  /** "Container", "Pod", "PersistentVolumeClaim", ... */
  readonly type: string;
  readonly max?: Readonly<Record<string, string>>;
  readonly min?: Readonly<Record<string, string>>;
  readonly maxLimitRequestRatio?: Readonly<Record<string, string>>;
}

export interface LimitRangeObject {
  readonly name: string;
  readonly limits: readonly LimitRangeItem[];
}

/** A core/v1 Event about an object (the fields the webhook sets). */
export interface EventObject {
  readonly metadata: { readonly name: string };
  readonly involvedObject: {
    readonly apiVersion: string;
    readonly kind: string;
    readonly name: string;
    readonly uid: string;
    readonly namespace: string;
  };
  readonly reason: string;
  readonly message: string;
  readonly type: "Normal" | "Warning";
}

export interface ServerVersion {
  readonly major: number;
  readonly minor: number;
  readonly gitVersion: string;
}

export interface KubeApi {
  /** The namespace, or undefined when it does not exist. */
  getNamespace(name: string): Promise<NamespaceObject | undefined>;
  /** The secret, or undefined when it does not exist. */
  getSecret(namespace: string, name: string): Promise<SecretObject | undefined>;
  /** Creates the secret; a KubeApiError with code ALREADY_EXISTS when the name is taken. */
  createSecret(namespace: string, secret: SecretObject): Promise<void>;
  /**
   * Overwrites an existing secret (PUT, no resourceVersion: last writer wins). Only the ACR temporary
   * credentials secret is ever replaced, after its managed-by label was checked (cloud/
   * pull-secret-store.ts); derived pull secrets are never modified. NOT_FOUND when it does not exist.
   */
  replaceSecret(namespace: string, secret: SecretObject): Promise<void>;
  /** Creates the event; ALREADY_EXISTS when its name is taken. */
  createEvent(namespace: string, event: EventObject): Promise<void>;
  /** The namespace's LimitRanges (their maxima and minima decide whether the sidecar fits). */
  listLimitRanges(namespace: string): Promise<LimitRangeObject[]>;
  /** Pods of every namespace matching `labelSelector` (e.g. `acr-p2p/peer=true`), all pages. */
  listPods(labelSelector: string): Promise<PodSummary[]>;
  serverVersion(): Promise<ServerVersion>;
}

export type KubeApiErrorCode =
  | "NOT_FOUND"
  | "ALREADY_EXISTS"
  | "CONFLICT"
  | "FORBIDDEN"
  | "INVALID"
  | "UNAVAILABLE"
  | "TIMEOUT"
  | "API_ERROR";

export class KubeApiError extends CodedError<KubeApiErrorCode> {
  /** HTTP status when the apiserver answered. */
  readonly status: number | undefined;
  constructor(code: KubeApiErrorCode, message: string, options: { status?: number; cause?: unknown } = {}) {
    super(code, message, { cause: options.cause });
    this.name = "KubeApiError";
    this.status = options.status;
  }
}

/** `v1.34.2`, `v1.29.0-eks-...`, minor `29+`: the numbers only. */
export function parseServerVersion(major: string, minor: string, gitVersion: string): ServerVersion {
  const fromGit = /^v?(\d+)\.(\d+)/.exec(gitVersion);
  const maj = Number.parseInt(major, 10);
  const min = Number.parseInt(minor, 10);
  return {
    major: Number.isFinite(maj) ? maj : Number(fromGit?.[1] ?? NaN),
    minor: Number.isFinite(min) ? min : Number(fromGit?.[2] ?? NaN),
    gitVersion,
  };
}
