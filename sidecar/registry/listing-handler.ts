/**
 * Tags and referrers listings: passed through to the registry with the client's credential (the
 * registry decides what it may see), nothing cached. The registry's pagination link names its own
 * path, `/v2/<repo>/...`: it is rewritten to this front's `/v2/<encoded host>/<repo>/...`, so a client
 * following it stays on the sidecar. A registry without the referrers API answers 404, which is what
 * the spec tells clients to read as "fall back to the tag scheme".
 */
import type { ServerResponse } from "node:http";
import { encodeHostForPath } from "../../contract/registry-host.ts";
import type { ClientCredential } from "../upstream/client-credential.ts";
import type { UpstreamRegistry } from "../upstream/upstream-registry.ts";
import type { DistributionPath } from "./distribution-path.ts";

type ListingPath = Extract<DistributionPath, { kind: "tags" | "referrers" }>;

export async function serveListing(
  upstream: UpstreamRegistry,
  path: ListingPath,
  method: "GET" | "HEAD",
  credential: ClientCredential,
  res: ServerResponse,
  signal: AbortSignal,
): Promise<number> {
  const answer = await upstream.listing(credential, path.host, path.repo, path.upstreamPath, signal);
  res.statusCode = 200;
  res.setHeader("content-type", answer.contentType ?? "application/json");
  res.setHeader("content-length", answer.body.length);
  const link = answer.link === undefined ? undefined : linkOnFront(answer.link, path.host);
  if (link !== undefined) res.setHeader("link", link);
  if (answer.filtersApplied !== undefined) res.setHeader("oci-filters-applied", answer.filtersApplied);
  res.end(method === "HEAD" ? undefined : answer.body);
  return method === "HEAD" ? 0 : answer.body.length;
}

/**
 * The registry's `<...>; rel="next"` link with its target moved under this front. The target may be
 * registry-relative or absolute on the registry's own host; one anywhere else is dropped rather than
 * sent on.
 */
export function linkOnFront(link: string, host: string): string | undefined {
  const m = /^\s*<([^>]*)>(.*)$/.exec(link);
  if (!m) return undefined;
  let target: URL;
  try {
    target = new URL(m[1]!, `http://${host}`);
  } catch {
    return undefined;
  }
  if (target.host !== host || !target.pathname.startsWith("/v2/")) return undefined;
  const rest = target.pathname.slice("/v2/".length);
  return `</v2/${encodeHostForPath(host)}/${rest}${target.search}>${m[2]}`;
}
