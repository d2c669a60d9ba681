/**
 * The credential a pull client sent the sidecar (Basic, answering our challenge), reduced to what the
 * sidecar needs: an opaque id for cache keys (a hash: the secret itself never becomes a key or a log
 * field) and the header to replay to the registry's token realm.
 */
import { createHash } from "node:crypto";

export interface ClientCredential {
  /** `anonymous` or a sha256 of the Authorization header. */
  readonly id: string;
  /** The client's `Basic ...` header; undefined for anonymous clients. */
  readonly authorization: string | undefined;
}

export const ANONYMOUS: ClientCredential = Object.freeze({ id: "anonymous", authorization: undefined });

/** Returns undefined when the header is present but not a usable Basic credential. */
export function credentialFromHeader(header: string | undefined): ClientCredential | undefined {
  if (header === undefined || header.trim() === "") return ANONYMOUS;
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m) return undefined;
  const decoded = Buffer.from(m[1] as string, "base64").toString("utf8");
  if (!decoded.includes(":")) return undefined;
  const authorization = `Basic ${m[1]}`;
  return Object.freeze({
    id: createHash("sha256").update(authorization).digest("hex").slice(0, 32),
    authorization,
  });
}
