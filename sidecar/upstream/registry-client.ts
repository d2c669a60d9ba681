/**
 * Talks to one of the configured registries on behalf of one pull client: runs the registry's auth
 * flow (401 -> Bearer challenge -> token from the realm with the client's Basic credential -> retry;
 * or the client's Basic credential itself when the registry asks for Basic), and follows redirects
 * only where the address policy allows, never carrying the Authorization header to another host.
 */
import type { TargetPolicy } from "./address-policy.ts";
import type { ClientCredential } from "./client-credential.ts";
import type { HttpTransport, UpstreamResponse } from "./http-transport.ts";
import type { TokenProvider } from "./token-provider.ts";
import { UpstreamError } from "./upstream-error.ts";
import { findChallenge, parseChallenges } from "./www-authenticate.ts";

export interface RegistryRequest {
  /** A configured upstream, canonical `host[:port]`. */
  readonly host: string;
  readonly repo: string;
  readonly method: "GET" | "HEAD";
  /** Path on the registry, e.g. `/v2/library/nginx/manifests/latest`. */
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly credential: ClientCredential;
  readonly signal?: AbortSignal | undefined;
}

export interface RegistryResponse {
  readonly statusCode: number;
  readonly headers: UpstreamResponse["headers"];
  readonly body: UpstreamResponse["body"];
  /** Where the answer finally came from (after redirects). */
  readonly url: URL;
  /** Until when a success proves this credential for this repository (the token's expiry). */
  readonly authValidUntil: number;
}

const MAX_REDIRECTS = 5;
/** How long a success proves a credential when the registry hands out no expiring token. */
const DEFAULT_PROOF_MS = 60_000;

export class RegistryClient {
  readonly #transport: HttpTransport;
  readonly #policy: TargetPolicy;
  readonly #tokens: TokenProvider;
  readonly #plainHttp: ReadonlySet<string>;
  /** Registries that asked for Basic (not Bearer): the client's credential is sent to them directly. */
  readonly #basicHosts = new Set<string>();

  constructor(
    transport: HttpTransport,
    policy: TargetPolicy,
    tokens: TokenProvider,
    plainHttpHosts: readonly string[],
  ) {
    this.#transport = transport;
    this.#policy = policy;
    this.#tokens = tokens;
    this.#plainHttp = new Set(plainHttpHosts);
  }

  originOf(host: string): URL {
    return new URL(`${this.#plainHttp.has(host) ? "http" : "https"}://${host}`);
  }

  scopeOf(repo: string): string {
    return `repository:${repo}:pull`;
  }

  /** Sends to the registry itself, with auth; does not follow redirects. */
  async requestDirect(req: RegistryRequest): Promise<RegistryResponse> {
    return (await this.#direct(req)).response;
  }

  /** Like requestDirect, then follows redirects under the address policy. */
  async request(req: RegistryRequest): Promise<RegistryResponse> {
    const { response, authorization } = await this.#direct(req);
    return this.#follow(response, req, authorization);
  }

  async #direct(
    req: RegistryRequest,
  ): Promise<{ response: RegistryResponse; authorization: string | undefined }> {
    const url = new URL(req.path, this.originOf(req.host));
    const scope = this.scopeOf(req.repo);
    let validUntil = Date.now() + DEFAULT_PROOF_MS;
    const headers: Record<string, string> = { ...req.headers };
    const cached = this.#tokens.cached(req.credential, req.host, scope);
    if (cached) {
      headers["authorization"] = `Bearer ${cached.token}`;
      validUntil = cached.expiresAt;
    } else if (this.#basicHosts.has(req.host) && req.credential.authorization) {
      headers["authorization"] = req.credential.authorization;
    }
    let res = await this.#transport.send(url, { method: req.method, headers, signal: req.signal });
    if (res.statusCode !== 401) {
      return {
        response: { ...pick(res), url, authValidUntil: validUntil },
        authorization: headers["authorization"],
      };
    }

    const challenges = parseChallenges(res.headers["www-authenticate"]);
    const bearer = findChallenge(challenges, "bearer");
    const basic = findChallenge(challenges, "basic");
    if (bearer) {
      await res.body.dump().catch(() => undefined);
      if (cached) this.#tokens.forget(req.credential, req.host, scope);
      const token = await this.#tokens.fetch(req.credential, req.host, bearer, scope, req.signal);
      headers["authorization"] = `Bearer ${token.token}`;
      validUntil = token.expiresAt;
    } else if (
      basic &&
      req.credential.authorization &&
      headers["authorization"] !== req.credential.authorization
    ) {
      await res.body.dump().catch(() => undefined);
      this.#basicHosts.add(req.host);
      headers["authorization"] = req.credential.authorization;
    } else {
      return { response: { ...pick(res), url, authValidUntil: 0 }, authorization: undefined };
    }
    res = await this.#transport.send(url, { method: req.method, headers, signal: req.signal });
    if (res.statusCode === 401 && bearer) this.#tokens.forget(req.credential, req.host, scope);
    const ok = res.statusCode < 400;
    return {
      response: { ...pick(res), url, authValidUntil: ok ? validUntil : 0 },
      authorization: headers["authorization"],
    };
  }

  /** Follows redirects starting from `res`. Authorization stays only with the registry's own origin. */
  async #follow(
    res: RegistryResponse,
    req: RegistryRequest,
    authorization: string | undefined,
  ): Promise<RegistryResponse> {
    const registryOrigin = this.originOf(req.host).origin;
    let current = res;
    for (let hop = 0; isRedirect(current.statusCode); hop++) {
      const location = current.headers["location"];
      await current.body.dump().catch(() => undefined);
      if (hop >= MAX_REDIRECTS)
        throw new UpstreamError("UPSTREAM_PROTOCOL", `more than ${MAX_REDIRECTS} redirects`);
      if (typeof location !== "string" || location === "") {
        throw new UpstreamError("UPSTREAM_PROTOCOL", `redirect ${current.statusCode} without a Location`);
      }
      let next: URL;
      try {
        next = new URL(location, current.url);
      } catch (cause) {
        throw new UpstreamError("UPSTREAM_PROTOCOL", "redirect to an invalid URL", { cause });
      }
      await this.#policy.check(next, "redirect");
      current = await this.fetchRedirected(
        next,
        req,
        next.origin === registryOrigin ? authorization : undefined,
        current.authValidUntil,
      );
    }
    return current;
  }

  /** One request to a redirect target (already policy-checked); used again for cached targets. */
  async fetchRedirected(
    url: URL,
    req: RegistryRequest,
    authorization: string | undefined,
    authValidUntil: number,
  ): Promise<RegistryResponse> {
    const headers: Record<string, string> = { ...req.headers };
    if (authorization) headers["authorization"] = authorization;
    const res = await this.#transport.send(url, { method: req.method, headers, signal: req.signal });
    return { ...pick(res), url, authValidUntil };
  }
}

export function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

function pick(res: UpstreamResponse): Pick<RegistryResponse, "statusCode" | "headers" | "body"> {
  return { statusCode: res.statusCode, headers: res.headers, body: res.body };
}
