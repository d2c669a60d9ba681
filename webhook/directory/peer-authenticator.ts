/**
 * Who is asking the directory. A sidecar presents its projected ServiceAccount token (audience
 * acr-p2p); the apiserver's TokenReview says whether it is valid for that audience and, because the
 * token is bound to the pod, which pod it belongs to. A token of another audience, a forged one, or
 * one whose pod was deleted is refused by the apiserver itself.
 */
import { createHash } from "node:crypto";
import { AuthenticationV1Api } from "@kubernetes/client-node";
import type { KubeConfig } from "@kubernetes/client-node";
import type { LRUCache } from "lru-cache";
import { DIRECTORY_TOKEN_AUDIENCE } from "../../contract/peer-group.ts";
import { boundedCache } from "../../lib/bounded-cache.ts";
import { CodedError } from "../../lib/coded-error.ts";

export interface PeerIdentity {
  readonly namespace: string;
  readonly podName: string;
  readonly podUid: string | undefined;
}

export interface PeerAuthenticator {
  /** The identity behind a valid pod-bound token, or undefined when the token is refused. */
  authenticate(token: string): Promise<PeerIdentity | undefined>;
}

/** The apiserver could not be asked: the caller gets 503 and retries, not a refusal. */
export class AuthUnavailableError extends CodedError<"AUTH_UNAVAILABLE"> {
  constructor(message: string, options?: { cause?: unknown }) {
    super("AUTH_UNAVAILABLE", message, options);
    this.name = "AuthUnavailableError";
  }
}

const SA_PREFIX = "system:serviceaccount:";
const POD_NAME = "authentication.kubernetes.io/pod-name";
const POD_UID = "authentication.kubernetes.io/pod-uid";

/** Reads the pod identity out of a TokenReview status; exported for tests of odd answers. */
export function identityFromReview(status: {
  authenticated?: boolean;
  audiences?: string[];
  user?: { username?: string; extra?: Record<string, string[]> };
}): PeerIdentity | undefined {
  if (status.authenticated !== true) return undefined;
  if (!(status.audiences ?? []).includes(DIRECTORY_TOKEN_AUDIENCE)) return undefined;
  const username = status.user?.username ?? "";
  if (!username.startsWith(SA_PREFIX)) return undefined;
  const namespace = username.slice(SA_PREFIX.length).split(":")[0] ?? "";
  const podName = status.user?.extra?.[POD_NAME]?.[0];
  if (namespace === "" || podName === undefined) return undefined; // not bound to a pod
  return { namespace, podName, podUid: status.user?.extra?.[POD_UID]?.[0] };
}

export interface TokenReviewOptions {
  /** How long a review's answer is reused; the pod is re-checked in the informer on every request. */
  readonly cacheMs: number;
  readonly cacheEntries: number;
}

export class TokenReviewAuthenticator implements PeerAuthenticator {
  readonly #api: AuthenticationV1Api;
  readonly #opts: TokenReviewOptions;
  /** Answers by token hash (an answer of "no one" is an entry too). */
  readonly #answers: LRUCache<string, { identity: PeerIdentity | undefined }>;

  constructor(kc: KubeConfig, opts: TokenReviewOptions = { cacheMs: 60_000, cacheEntries: 10_000 }) {
    this.#api = kc.makeApiClient(AuthenticationV1Api);
    this.#opts = opts;
    this.#answers = boundedCache(opts.cacheEntries);
  }

  async authenticate(token: string): Promise<PeerIdentity | undefined> {
    const key = createHash("sha256").update(token).digest("base64url");
    const hit = this.#answers.get(key);
    if (hit) return hit.identity;
    let review;
    try {
      review = await this.#api.createTokenReview({
        body: {
          apiVersion: "authentication.k8s.io/v1",
          kind: "TokenReview",
          spec: { token, audiences: [DIRECTORY_TOKEN_AUDIENCE] },
        },
      });
    } catch (err) {
      throw new AuthUnavailableError("TokenReview failed", { cause: err });
    }
    const identity = identityFromReview(review.status ?? {});
    // Refusals are cached briefly too, so a misconfigured pod cannot turn into a TokenReview storm.
    this.#answers.set(key, { identity }, { ttl: identity ? this.#opts.cacheMs : 5_000 });
    return identity;
  }
}

/** Fixed token -> identity table: the in-memory authenticator for unit tests and local runs. */
export class StaticTokenAuthenticator implements PeerAuthenticator {
  readonly #tokens: ReadonlyMap<string, PeerIdentity>;
  constructor(tokens: ReadonlyMap<string, PeerIdentity>) {
    this.#tokens = tokens;
  }
  async authenticate(token: string): Promise<PeerIdentity | undefined> {
    return this.#tokens.get(token);
  }
}
