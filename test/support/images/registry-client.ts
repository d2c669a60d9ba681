/**
 * A minimal OCI distribution client for tests: pushes with the upload API and reads back, walking
 * the registry's token flow (401 -> Bearer realm -> GET realm with Basic auth -> token per scope).
 *
 *   new RegistryClient({baseUrl, credentials?, tokenRealm?})
 *     tokenRealm: fetch tokens there instead of at the challenge's realm (to push to an origin whose
 *     advertised realm is deliberately wrong)
 *   client.uploadBlob(repo, chunks, knownDigest?) -> {digest, size}   POST, streaming PATCH, PUT ?digest=
 *   client.putManifest(repo, reference, blob)                         PUT with the blob's mediaType
 *   client.get(repo, path, {headers?, method?}) -> RegistryResponse  any read: manifests/<ref>, blobs/<d>
 *   client.stream(repo, path, {headers?}) -> {status, headers, body}  the same, body as a stream (big blobs)
 *   client.token(scope) -> string | null                              null when the registry has no auth
 */
import { Readable } from "node:stream";
import { createHash } from "node:crypto";
import { Agent, request } from "undici";

export interface Credentials {
  user: string;
  password: string;
}

export interface RegistryResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export class RegistryError extends Error {
  readonly code = "REGISTRY_REQUEST_FAILED";
  readonly status: number;
  constructor(what: string, status: number, body: string) {
    super(`${what}: HTTP ${status} ${body.slice(0, 300)}`);
    this.status = status;
  }
}

type Challenge = { kind: "none" } | { kind: "bearer"; realm: string; service: string };

function parseChallenge(header: string): Challenge {
  const params: Record<string, string> = {};
  for (const m of header.matchAll(/(\w+)="([^"]*)"/g)) params[m[1]!] = m[2]!;
  if (!/^Bearer /i.test(header) || !params.realm) throw new Error(`unsupported challenge: ${header}`);
  return { kind: "bearer", realm: params.realm, service: params.service ?? "" };
}

function flatHeaders(h: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(", ") : v;
  return out;
}

export class RegistryClient {
  readonly baseUrl: string;
  readonly credentials: Credentials | undefined;
  readonly tokenRealm: string | undefined;
  #dispatcher = new Agent({ keepAliveTimeout: 10_000 });
  #challenge: Challenge | undefined;
  #tokens = new Map<string, { token: string; expires: number }>();

  constructor(opts: { baseUrl: string; credentials?: Credentials; tokenRealm?: string }) {
    this.baseUrl = opts.baseUrl.replace(/\/$/, "");
    this.credentials = opts.credentials;
    this.tokenRealm = opts.tokenRealm;
  }

  async close(): Promise<void> {
    await this.#dispatcher.close();
  }

  async #send(
    method: "GET" | "HEAD" | "POST" | "PUT" | "PATCH",
    url: string,
    headers: Record<string, string>,
    body?: Buffer | Readable,
  ): Promise<RegistryResponse> {
    const res = await request(new URL(url, this.baseUrl), {
      method,
      headers,
      body: body ?? null,
      dispatcher: this.#dispatcher,
      headersTimeout: 60_000,
      bodyTimeout: 60_000,
    });
    const buf = Buffer.from(await res.body.arrayBuffer());
    return { status: res.statusCode, headers: flatHeaders(res.headers), body: buf };
  }

  async #challengeOf(): Promise<Challenge> {
    if (this.#challenge) return this.#challenge;
    const res = await this.#send("GET", "/v2/", {});
    if (res.status === 200) this.#challenge = { kind: "none" };
    else if (res.status === 401) this.#challenge = parseChallenge(res.headers["www-authenticate"] ?? "");
    else throw new RegistryError("GET /v2/", res.status, res.body.toString());
    return this.#challenge;
  }

  async token(scope: string): Promise<string | null> {
    const challenge = await this.#challengeOf();
    if (challenge.kind === "none") return null;
    const cached = this.#tokens.get(scope);
    if (cached && cached.expires > Date.now()) return cached.token;
    const url = new URL(this.tokenRealm ?? challenge.realm);
    url.searchParams.set("service", challenge.service);
    url.searchParams.set("scope", scope);
    const headers: Record<string, string> = {};
    if (this.credentials) {
      const basic = Buffer.from(`${this.credentials.user}:${this.credentials.password}`).toString("base64");
      headers.authorization = `Basic ${basic}`;
    }
    const res = await this.#send("GET", url.toString(), headers);
    if (res.status !== 200) throw new RegistryError(`token for ${scope}`, res.status, res.body.toString());
    const parsed = JSON.parse(res.body.toString()) as { token: string; expires_in?: number };
    const lifetimeMs = (parsed.expires_in ?? 60) * 1000;
    this.#tokens.set(scope, { token: parsed.token, expires: Date.now() + lifetimeMs / 2 });
    return parsed.token;
  }

  async #auth(repo: string, actions: string): Promise<Record<string, string>> {
    const token = await this.token(`repository:${repo}:${actions}`);
    return token ? { authorization: `Bearer ${token}` } : {};
  }

  /** A read under /v2/<repo>/ (e.g. `manifests/latest`, `blobs/sha256:...`); never throws on status. */
  async get(
    repo: string,
    path: string,
    opts: { method?: "GET" | "HEAD"; headers?: Record<string, string> } = {},
  ): Promise<RegistryResponse> {
    const headers = { ...(await this.#auth(repo, "pull")), ...opts.headers };
    return this.#send(opts.method ?? "GET", `/v2/${repo}/${path}`, headers);
  }

  /** Like `get`, but the caller consumes (or destroys) the body stream: for blobs too big to buffer. */
  async stream(
    repo: string,
    path: string,
    opts: { headers?: Record<string, string> } = {},
  ): Promise<{ status: number; headers: Record<string, string>; body: Readable }> {
    const headers = { ...(await this.#auth(repo, "pull")), ...opts.headers };
    const res = await request(new URL(`/v2/${repo}/${path}`, this.baseUrl), {
      headers,
      dispatcher: this.#dispatcher,
      headersTimeout: 60_000,
      bodyTimeout: 60_000,
    });
    return { status: res.statusCode, headers: flatHeaders(res.headers), body: res.body };
  }

  /** Streams `chunks` into one upload. With `knownDigest`, skips the upload if the blob exists. */
  async uploadBlob(
    repo: string,
    chunks: Iterable<Buffer> | AsyncIterable<Buffer>,
    knownDigest?: string,
  ): Promise<{ digest: string; size: number }> {
    const auth = await this.#auth(repo, "pull,push");
    if (knownDigest) {
      const head = await this.#send("HEAD", `/v2/${repo}/blobs/${knownDigest}`, auth);
      if (head.status === 200) return { digest: knownDigest, size: Number(head.headers["content-length"]) };
    }
    const started = await this.#send("POST", `/v2/${repo}/blobs/uploads/`, auth);
    if (started.status !== 202)
      throw new RegistryError("start upload", started.status, started.body.toString());
    const hash = createHash("sha256");
    let size = 0;
    async function* tap(): AsyncGenerator<Buffer> {
      for await (const c of chunks) {
        hash.update(c);
        size += c.length;
        yield c;
      }
    }
    const patched = await this.#send(
      "PATCH",
      started.headers.location!,
      { ...auth, "content-type": "application/octet-stream" },
      Readable.from(tap()),
    );
    if (patched.status !== 202) throw new RegistryError("upload", patched.status, patched.body.toString());
    const digest = `sha256:${hash.digest("hex")}`;
    const done = new URL(patched.headers.location!, this.baseUrl);
    done.searchParams.set("digest", digest);
    const put = await this.#send("PUT", done.toString(), { ...auth, "content-length": "0" });
    if (put.status !== 201) throw new RegistryError(`commit ${digest}`, put.status, put.body.toString());
    return { digest, size };
  }

  async putManifest(
    repo: string,
    reference: string,
    blob: { mediaType: string; bytes: Buffer },
  ): Promise<void> {
    const auth = await this.#auth(repo, "pull,push");
    const headers = { ...auth, "content-type": blob.mediaType };
    const res = await this.#send("PUT", `/v2/${repo}/manifests/${reference}`, headers, blob.bytes);
    if (res.status !== 201)
      throw new RegistryError(`put manifest ${reference}`, res.status, res.body.toString());
  }
}
