/**
 * What the registry front and the origin block source ask of the registries: manifests (always from
 * the registry, passed through byte for byte), listings, blob authorization + size (a HEAD upstream
 * that proves the credential for that blob in that repository), and ranged blob reads with the
 * redirect target remembered for a short while so each block does not walk the redirect again.
 */
import { createHash } from "node:crypto";
import type { ClientCredential } from "./client-credential.ts";
import { readLimited } from "./read-limited.ts";
import {
  isRedirect,
  type RegistryClient,
  type RegistryRequest,
  type RegistryResponse,
} from "./registry-client.ts";
import type { RepoAuthorizer } from "./repo-authorizer.ts";
import { boundedCache } from "../../lib/bounded-cache.ts";
import { UpstreamError } from "./upstream-error.ts";

export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

export const DEFAULT_MANIFEST_ACCEPT = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.docker.distribution.manifest.v1+prettyjws",
  "application/json",
].join(", ");

export interface ManifestAnswer {
  readonly contentType: string | undefined;
  readonly digest: string | undefined;
  readonly contentLength: number | undefined;
  /** The exact bytes (GET only). */
  readonly body: Buffer | undefined;
}

export interface ListingAnswer {
  readonly contentType: string | undefined;
  /** The registry's pagination link (`</v2/<repo>/tags/list?...>; rel="next"`), as sent. */
  readonly link: string | undefined;
  /** Referrers only: which filters the registry applied. */
  readonly filtersApplied: string | undefined;
  readonly body: Buffer;
}

export interface BlobTarget {
  readonly credential: ClientCredential;
  readonly host: string;
  readonly repo: string;
  readonly digest: string;
}

/** Redirect targets of blob GETs (signed object-storage URLs) are reused this long. */
const REDIRECT_TTL_MS = 30_000;
/** The sidecar's --max-blob-size-gb default (64 GiB). */
const DEFAULT_MAX_BLOB_BYTES = 64 * 1024 ** 3;

export class UpstreamRegistry {
  readonly #client: RegistryClient;
  readonly #authorizer: RepoAuthorizer;
  readonly #redirects = boundedCache<string, URL>(4096);
  /** Blob sizes the registry announced to a credential, per (credential, registry, repository, digest). */
  readonly #grants = boundedCache<string, number>(65_536);
  /** HEADs for grants in progress, by grant key. */
  readonly #asking = new Map<string, Promise<number>>();
  /** Redirect walks in progress, per (credential, registry, blob). */
  readonly #walks = new Map<string, Promise<void>>();

  readonly #maxBlobBytes: number;

  constructor(client: RegistryClient, authorizer: RepoAuthorizer, opts: { maxBlobBytes?: number } = {}) {
    this.#client = client;
    this.#authorizer = authorizer;
    this.#maxBlobBytes = opts.maxBlobBytes ?? DEFAULT_MAX_BLOB_BYTES;
  }

  get authorizer(): RepoAuthorizer {
    return this.#authorizer;
  }

  /**
   * A manifest from the registry. One asked for by digest is read whole and checked against that
   * digest before anything of it is returned, for a HEAD too (a HEAD upstream would give only the
   * registry's word for it): the runtime trusts what it gets by digest without looking again.
   */
  async manifest(
    credential: ClientCredential,
    host: string,
    repo: string,
    reference: string,
    method: "GET" | "HEAD",
    accept: string | undefined,
    signal?: AbortSignal,
  ): Promise<ManifestAnswer> {
    const byDigest = reference.includes(":");
    const upstreamMethod = byDigest ? "GET" : method;
    const req: RegistryRequest = {
      host,
      repo,
      method: upstreamMethod,
      path: `/v2/${repo}/manifests/${reference}`,
      headers: { accept: manifestAccept(accept) },
      credential,
      signal,
    };
    const res = await this.#client.request(req);
    await expectOk(res, "manifest");
    this.#authorizer.record(credential, host, repo, res.authValidUntil);
    const header = (name: string): string | undefined => stringHeader(res, name);
    const contentLength = header("content-length");
    if (contentLength !== undefined && Number(contentLength) > MAX_MANIFEST_BYTES) {
      await res.body.dump().catch(() => undefined);
      throw new UpstreamError("UPSTREAM_PROTOCOL", `manifest larger than ${MAX_MANIFEST_BYTES} bytes`);
    }
    if (upstreamMethod === "HEAD") {
      await res.body.dump().catch(() => undefined);
      return {
        contentType: header("content-type"),
        digest: header("docker-content-digest"),
        contentLength: contentLength !== undefined ? Number(contentLength) : undefined,
        body: undefined,
      };
    }
    const body = await readLimited(res.body, MAX_MANIFEST_BYTES);
    const computed = `sha256:${createHash("sha256").update(body).digest("hex")}`;
    if (byDigest && computed !== reference) {
      throw new UpstreamError("UPSTREAM_PROTOCOL", `manifest ${reference} arrived with digest ${computed}`);
    }
    return {
      contentType: header("content-type"),
      digest: byDigest ? reference : (header("docker-content-digest") ?? computed),
      contentLength: body.length,
      body: method === "GET" ? body : undefined,
    };
  }

  /**
   * A listing (tags/list, referrers) with the client's credential: the registry decides what this
   * credential may see, and nothing of it is kept. `path` is registry-relative, with its query.
   */
  async listing(
    credential: ClientCredential,
    host: string,
    repo: string,
    path: string,
    signal?: AbortSignal,
  ): Promise<ListingAnswer> {
    const res = await this.#client.request({
      host,
      repo,
      method: "GET",
      path,
      headers: {},
      credential,
      signal,
    });
    await expectOk(res, "listing");
    const header = (name: string): string | undefined => stringHeader(res, name);
    return {
      contentType: header("content-type"),
      link: header("link"),
      filtersApplied: header("oci-filters-applied"),
      body: await readLimited(res.body, MAX_MANIFEST_BYTES),
    };
  }

  /**
   * The blob's size, once the registry accepted this credential for this blob in this repository: a
   * HEAD upstream with the credential, remembered per (credential, registry, repository, digest) for the
   * token's lifetime. Nothing weaker counts: a repository's proof says nothing about blobs of another
   * repository that happen to be cached here, and another registry's word on a digest's size is not
   * this one's. Throws UPSTREAM_UNAUTHORIZED / UPSTREAM_DENIED / UPSTREAM_NOT_FOUND.
   */
  async authorizeBlob(target: BlobTarget, signal?: AbortSignal): Promise<{ size: number }> {
    const key = grantKey(target);
    const granted = this.#grants.get(key);
    if (granted !== undefined) return { size: granted };
    // Peers ask an owner for many blocks of one blob at once: one HEAD answers them all.
    let asking = this.#asking.get(key);
    if (asking === undefined) {
      asking = this.#headBlob(target, key);
      this.#asking.set(key, asking);
      void asking.then(
        () => this.#asking.delete(key),
        () => this.#asking.delete(key),
      );
    }
    return { size: await abortable(asking, signal) };
  }

  /** The HEAD behind a grant; no caller's signal aborts it, as other callers may be waiting for it. */
  async #headBlob(target: BlobTarget, key: string): Promise<number> {
    const res = await this.#client.request(blobRequest(target, "HEAD", {}));
    await expectOk(res, "blob");
    await res.body.dump().catch(() => undefined);
    const length = Number(res.headers["content-length"]);
    if (!Number.isSafeInteger(length) || length < 0) {
      throw new UpstreamError("UPSTREAM_PROTOCOL", `blob HEAD without a usable Content-Length`);
    }
    if (length > this.#maxBlobBytes) {
      throw new UpstreamError(
        "UPSTREAM_PROTOCOL",
        `the registry announced ${length} bytes for blob ${target.digest}: more than the largest blob served, ${this.#maxBlobBytes} bytes (--max-blob-size-gb)`,
      );
    }
    const announced = res.headers["docker-content-digest"];
    if (typeof announced === "string" && announced !== target.digest) {
      throw new UpstreamError(
        "UPSTREAM_PROTOCOL",
        `blob HEAD for ${target.digest} answered for ${announced}`,
      );
    }
    this.#authorizer.record(target.credential, target.host, target.repo, res.authValidUntil);
    const ttl = res.authValidUntil - Date.now();
    if (ttl > 0) this.#grants.set(key, length, { ttl });
    return length;
  }

  /**
   * Forgets a grant after a read with its size failed (a wrong size shows as a digest mismatch or a
   * short range), so the next request asks the registry again instead of failing on the same size for
   * the token's life.
   */
  forgetBlob(target: BlobTarget): void {
    this.#grants.delete(grantKey(target));
  }

  /**
   * GET bytes [start, end] (inclusive) of a blob. Resolves with the 206 (or, for the whole blob, 200)
   * response; the body is the caller's to consume.
   */
  async rangeGet(
    target: BlobTarget,
    start: number,
    end: number,
    signal?: AbortSignal,
  ): Promise<RegistryResponse> {
    const req: RegistryRequest = {
      ...blobRequest(target, "GET", { range: `bytes=${start}-${end}` }),
      signal,
    };
    const key = `${target.credential.id}\u0000${target.host}\u0000${target.digest}`;
    // Blocks are fetched in parallel: let the first walk the redirect, the others wait for its target.
    const walking = this.#walks.get(key);
    if (walking && !this.#redirects.get(key)) await walking;
    const cached = this.#redirects.get(key);
    if (cached) {
      const res = await this.#client.fetchRedirected(cached, req, undefined, 0);
      if (res.statusCode === 200 || res.statusCode === 206) return res;
      // The signed URL expired or moved: walk the redirect again from the registry.
      await res.body.dump().catch(() => undefined);
      this.#redirects.delete(key);
    }
    const walk = (async () => {
      const res = await this.#client.request(req);
      await expectOk(res, "blob");
      if (res.url.origin !== this.#client.originOf(target.host).origin) {
        this.#redirects.set(key, res.url, { ttl: REDIRECT_TTL_MS });
      }
      return res;
    })();
    if (!this.#walks.has(key)) {
      const settled = walk.then(
        () => undefined,
        () => undefined,
      );
      this.#walks.set(key, settled);
      void settled.finally(() => this.#walks.delete(key));
    }
    const res = await walk;
    return res;
  }
}

/**
 * The client's Accept when it names manifest types; otherwise (absent, or only a wildcard) every type
 * we know: registries answer a bare wildcard with the old schema, or a 404 for OCI content.
 */
function manifestAccept(accept: string | undefined): string {
  return accept !== undefined && /application\/vnd\.|application\/json/.test(accept)
    ? accept
    : DEFAULT_MANIFEST_ACCEPT;
}

/** `promise`, or an ABORTED error as soon as `signal` fires. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(new UpstreamError("ABORTED", "aborted"));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new UpstreamError("ABORTED", "aborted"));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}

/** A response header that came once, as a string; undefined when absent or repeated. */
function stringHeader(res: RegistryResponse, name: string): string | undefined {
  const v = res.headers[name];
  return typeof v === "string" ? v : undefined;
}

function grantKey(target: BlobTarget): string {
  return `${target.credential.id}\u0000${target.host}\u0000${target.repo}\u0000${target.digest}`;
}

function blobRequest(
  target: BlobTarget,
  method: "GET" | "HEAD",
  headers: Record<string, string>,
): RegistryRequest {
  return {
    host: target.host,
    repo: target.repo,
    method,
    path: `/v2/${target.repo}/blobs/${target.digest}`,
    headers,
    credential: target.credential,
  };
}

async function expectOk(res: RegistryResponse, what: string): Promise<void> {
  if (res.statusCode >= 200 && res.statusCode < 300) return;
  await res.body.dump().catch(() => undefined);
  const s = res.statusCode;
  if (s === 401)
    throw new UpstreamError("UPSTREAM_UNAUTHORIZED", `registry refused the credentials for the ${what}`, {
      status: s,
    });
  if (s === 403)
    throw new UpstreamError("UPSTREAM_DENIED", `registry denied access to the ${what}`, { status: s });
  if (s === 404) throw new UpstreamError("UPSTREAM_NOT_FOUND", `${what} not found upstream`, { status: s });
  if (isRedirect(s)) throw new UpstreamError("UPSTREAM_PROTOCOL", `unfollowed redirect ${s}`, { status: s });
  throw new UpstreamError("UPSTREAM_STATUS", `registry answered ${s} for the ${what}`, { status: s });
}
