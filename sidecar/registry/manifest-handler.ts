/**
 * Manifests and indexes, by tag or digest: always asked of the registry (tags move; nothing is cached),
 * passed through byte for byte with the registry's Content-Type and Docker-Content-Digest. A success
 * also proves the credential for the repository, which is what later blob requests are checked against.
 */
import type { ServerResponse } from "node:http";
import type { ClientCredential } from "../upstream/client-credential.ts";
import type { UpstreamRegistry } from "../upstream/upstream-registry.ts";
import type { DistributionPath } from "./distribution-path.ts";

type ManifestPath = Extract<DistributionPath, { kind: "manifest" }>;

export async function serveManifest(
  upstream: UpstreamRegistry,
  path: ManifestPath,
  method: "GET" | "HEAD",
  accept: string | undefined,
  credential: ClientCredential,
  res: ServerResponse,
  signal: AbortSignal,
): Promise<number> {
  const reference = "digest" in path.reference ? path.reference.digest : path.reference.tag;
  const answer = await upstream.manifest(credential, path.host, path.repo, reference, method, accept, signal);
  res.statusCode = 200;
  if (answer.contentType !== undefined) res.setHeader("content-type", answer.contentType);
  if (answer.digest !== undefined) res.setHeader("docker-content-digest", answer.digest);
  if (answer.contentLength !== undefined) res.setHeader("content-length", answer.contentLength);
  res.end(answer.body);
  return answer.body?.length ?? 0;
}
