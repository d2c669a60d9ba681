/**
 * Bearer tokens from the registry's token realm, per (credential, registry, scope), cached until they
 * expire (expires_in, 60 s when absent, as the distribution token spec says) and fetched once when
 * several requests want the same one. The realm is checked against the address policy before any
 * connection; the client's Basic credential goes only to a realm that passed it.
 */
import type { TargetPolicy } from "./address-policy.ts";
import type { ClientCredential } from "./client-credential.ts";
import type { HttpTransport } from "./http-transport.ts";
import { readLimited } from "./read-limited.ts";
import { boundedCache } from "../../lib/bounded-cache.ts";
import { UpstreamError } from "./upstream-error.ts";
import type { Challenge } from "./www-authenticate.ts";

export interface BearerToken {
  readonly token: string;
  /** Epoch ms after which the token is not used any more (a little before its real expiry). */
  readonly expiresAt: number;
}

const DEFAULT_EXPIRES_IN_S = 60;
const MAX_TOKEN_RESPONSE = 1024 * 1024;

export class TokenProvider {
  readonly #transport: HttpTransport;
  readonly #policy: TargetPolicy;
  readonly #cache = boundedCache<string, BearerToken>(4096);
  readonly #inflight = new Map<string, Promise<BearerToken>>();

  constructor(transport: HttpTransport, policy: TargetPolicy) {
    this.#transport = transport;
    this.#policy = policy;
  }

  cached(credential: ClientCredential, host: string, scope: string): BearerToken | undefined {
    return this.#cache.get(key(credential, host, scope));
  }

  /** Drops a token the registry refused, so the next request fetches a fresh one. */
  forget(credential: ClientCredential, host: string, scope: string): void {
    this.#cache.delete(key(credential, host, scope));
  }

  async fetch(
    credential: ClientCredential,
    host: string,
    challenge: Challenge,
    scope: string,
    signal?: AbortSignal,
  ): Promise<BearerToken> {
    const k = key(credential, host, scope);
    const hit = this.#cache.get(k);
    if (hit) return hit;
    let pending = this.#inflight.get(k);
    if (!pending) {
      pending = this.#request(credential, challenge, scope, signal).finally(() => this.#inflight.delete(k));
      this.#inflight.set(k, pending);
    }
    const token = await pending;
    const ttl = token.expiresAt - Date.now();
    if (ttl > 0) this.#cache.set(k, token, { ttl });
    return token;
  }

  async #request(
    credential: ClientCredential,
    challenge: Challenge,
    scope: string,
    signal?: AbortSignal,
  ): Promise<BearerToken> {
    const realm = challenge.params["realm"];
    if (!realm) throw new UpstreamError("TOKEN_FAILED", "Bearer challenge without a realm");
    let url: URL;
    try {
      url = new URL(realm);
    } catch (cause) {
      throw new UpstreamError("TOKEN_FAILED", `token realm is not a URL`, { cause });
    }
    await this.#policy.check(url, "token realm");
    const service = challenge.params["service"];
    if (service !== undefined) url.searchParams.set("service", service);
    url.searchParams.set("scope", scope);
    const headers: Record<string, string> = { accept: "application/json" };
    if (credential.authorization) headers["authorization"] = credential.authorization;
    const started = Date.now();
    const res = await this.#transport.send(url, { method: "GET", headers, signal });
    if (res.statusCode === 401 || res.statusCode === 403) {
      await res.body.dump().catch(() => undefined);
      throw new UpstreamError(
        "UPSTREAM_UNAUTHORIZED",
        `token realm refused the credentials (${res.statusCode})`,
        { status: res.statusCode },
      );
    }
    if (res.statusCode !== 200) {
      await res.body.dump().catch(() => undefined);
      throw new UpstreamError("TOKEN_FAILED", `token realm answered ${res.statusCode}`, {
        status: res.statusCode,
      });
    }
    const body = await readLimited(res.body, MAX_TOKEN_RESPONSE);
    let parsed: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      parsed = JSON.parse(body.toString("utf8")) as typeof parsed;
    } catch (cause) {
      throw new UpstreamError("TOKEN_FAILED", "token realm answered something that is not JSON", { cause });
    }
    const token = typeof parsed.token === "string" && parsed.token ? parsed.token : parsed.access_token;
    if (typeof token !== "string" || token === "")
      throw new UpstreamError("TOKEN_FAILED", "token response without a token");
    const expiresIn =
      typeof parsed.expires_in === "number" && parsed.expires_in > 0
        ? parsed.expires_in
        : DEFAULT_EXPIRES_IN_S;
    // Stop using a token a little early so a request does not arrive with one that just expired.
    const margin = Math.min(10, expiresIn / 4);
    return { token, expiresAt: started + (expiresIn - margin) * 1000 };
  }
}

function key(credential: ClientCredential, host: string, scope: string): string {
  return `${credential.id}\u0000${host}\u0000${scope}`;
}
