/**
 * Turns a request into a checked value before anything else runs: `/v2/`,
 * `/v2/<encoded host>/<repository>/(manifests|blobs)/<reference>`, `.../tags/list` or
 * `.../referrers/<digest>`, where the host is one this sidecar serves. Handlers switch on the result;
 * nothing deeper parses strings again. Traversal (`..`, empty or percent-encoded components) fails the
 * repository grammar and is a NAME_INVALID.
 */
import { decodeHostFromPath } from "../../contract/registry-host.ts";
import { isValidDigest, isValidRepositoryPath, isValidTag } from "../../contract/image-reference.ts";
import { parseRangeHeader, type RangeSpec } from "./byte-range.ts";
import { OciError } from "./oci-error.ts";

export type ManifestReference = { readonly tag: string } | { readonly digest: string };

export type DistributionPath =
  | { readonly kind: "ping" }
  | {
      readonly kind: "manifest";
      readonly host: string;
      readonly repo: string;
      readonly reference: ManifestReference;
    }
  | {
      readonly kind: "blob";
      readonly host: string;
      readonly repo: string;
      readonly digest: string;
      readonly range: RangeSpec | undefined;
    }
  | {
      /** A listing passed through to the registry: tags, or the referrers of a manifest. */
      readonly kind: "tags" | "referrers";
      readonly host: string;
      readonly repo: string;
      /** The registry-relative path with the query parameters the spec defines, re-encoded. */
      readonly upstreamPath: string;
    };

export interface PathRequest {
  readonly method: string;
  readonly url: string;
  readonly rangeHeader?: string | undefined;
}

export function parseDistributionPath(req: PathRequest, servedHosts: ReadonlySet<string>): DistributionPath {
  if (req.method !== "GET" && req.method !== "HEAD") {
    throw new OciError("UNSUPPORTED", `${req.method} is not supported: this registry is pull-only`);
  }
  const q = req.url.indexOf("?");
  const path = q >= 0 ? req.url.slice(0, q) : req.url;
  const query = new URLSearchParams(q >= 0 ? req.url.slice(q + 1) : "");
  if (path === "/v2/" || path === "/v2") return { kind: "ping" };
  if (!path.startsWith("/v2/")) throw new OciError("NAME_UNKNOWN", "not a registry API path");

  const parts = path.slice(4).split("/");
  if (parts.length < 4)
    throw new OciError(
      "NAME_INVALID",
      "expected /v2/<host>/<repository>/(manifests|blobs|referrers)/<reference> or .../tags/list",
    );
  const encodedHost = parts[0] as string;
  const reference = parts[parts.length - 1] as string;
  const endpoint = parts[parts.length - 2] as string;
  const repo = parts.slice(1, -2).join("/");

  const host = decodeHostFromPath(encodedHost);
  if (host === undefined)
    throw new OciError("NAME_INVALID", `${JSON.stringify(encodedHost)} is not an encoded registry host`);
  if (!servedHosts.has(host)) {
    throw new OciError("DENIED", `registry host ${host} is not served by this sidecar`, { detail: { host } });
  }
  if (!isValidRepositoryPath(repo))
    throw new OciError("NAME_INVALID", `invalid repository name ${JSON.stringify(repo)}`);

  if (endpoint === "manifests") {
    if (reference.includes(":"))
      return { kind: "manifest", host, repo, reference: { digest: checkDigest(reference) } };
    // No manifest has that name (MANIFEST_INVALID is for bad manifest bodies, on push).
    if (!isValidTag(reference))
      throw new OciError("MANIFEST_UNKNOWN", `invalid tag ${JSON.stringify(reference)}`);
    return { kind: "manifest", host, repo, reference: { tag: reference } };
  }
  if (endpoint === "blobs") {
    return {
      kind: "blob",
      host,
      repo,
      digest: checkDigest(reference),
      range: parseRangeHeader(req.rangeHeader),
    };
  }
  if (endpoint === "tags" && reference === "list") {
    return {
      kind: "tags",
      host,
      repo,
      upstreamPath: withQuery(`/v2/${repo}/tags/list`, query, ["n", "last"]),
    };
  }
  if (endpoint === "referrers") {
    const digest = checkDigest(reference);
    const upstreamPath = withQuery(`/v2/${repo}/referrers/${digest}`, query, ["artifactType"]);
    return { kind: "referrers", host, repo, upstreamPath };
  }
  throw new OciError(
    "UNSUPPORTED",
    `${JSON.stringify(endpoint)} is not supported: only manifests, blobs, tags/list and referrers`,
  );
}

/** `path` with those of the client's query parameters the spec defines (nothing else goes upstream). */
function withQuery(path: string, query: URLSearchParams, names: readonly string[]): string {
  const kept = new URLSearchParams();
  for (const name of names) {
    const value = query.get(name);
    if (value !== null) kept.set(name, value);
  }
  const text = kept.toString();
  return text === "" ? path : `${path}?${text}`;
}

/** Blobs are verified with sha256, so that is the one algorithm served. */
function checkDigest(digest: string): string {
  if (!isValidDigest(digest))
    throw new OciError("DIGEST_INVALID", `invalid digest ${JSON.stringify(digest)}`);
  if (!digest.startsWith("sha256:")) {
    throw new OciError(
      "DIGEST_INVALID",
      `unsupported digest algorithm in ${JSON.stringify(digest)}: only sha256`,
    );
  }
  return digest;
}
