/**
 * Image references as the distribution reference grammar defines them (the grammar containerd, the
 * kubelet and docker all share), plus the one transformation this project needs: rewriting a reference
 * to go through the pod's sidecar and back.
 *
 *   reference := name [ ":" tag ] [ "@" digest ]
 *   name      := [ domain "/" ] path-component ( "/" path-component )*
 *
 * Parsing is strict: upper case in a repository, an empty component or an over-long name is an error
 * that names what is wrong, never a silent "fix".
 */
import { canonicalHost, decodeHostFromPath, encodeHostForPath } from "./registry-host.ts";
import { CodedError } from "../lib/coded-error.ts";

const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const DOMAIN_NAME = `${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*`;
const IPV6 = "\\[(?:[a-fA-F0-9:]+)\\]";
const DOMAIN = `(?:${DOMAIN_NAME}|${IPV6})(?::[0-9]+)?`;
const PATH_COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const TAG = "[\\w][\\w.-]{0,127}";
// The digest grammar of distribution/reference, then go-digest's rule that the algorithm is one it
// implements with its exact lower-case hex length: what the kubelet and containerd accept.
const DIGEST = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}";
const DIGEST_HEX_LENGTH: Readonly<Record<string, number>> = { sha256: 64, sha384: 96, sha512: 128 };

const domainRe = new RegExp(`^${DOMAIN}$`);
const pathComponentRe = new RegExp(`^${PATH_COMPONENT}$`);
const tagRe = new RegExp(`^${TAG}$`);
const digestRe = new RegExp(`^${DIGEST}$`);
const hexRe = /^[a-f0-9]+$/;
// A bare 64-hex string reads as an image ID, never as a repository name.
const anchoredIdentifierRe = /^[a-f0-9]{64}$/;

export const DEFAULT_DOMAIN = "docker.io";
const LEGACY_DEFAULT_DOMAIN = "index.docker.io";
const OFFICIAL_REPO_PREFIX = "library/";
const NAME_TOTAL_LENGTH_MAX = 255;

export interface ImageReference {
  /** Registry host as written (case kept), with its port if any: `Registry.Local:5000`. */
  readonly domain: string;
  /** Repository path inside the registry: `library/nginx`. */
  readonly path: string;
  readonly tag?: string;
  readonly digest?: string;
}

export class ReferenceError extends CodedError<"REFERENCE_INVALID"> {
  readonly reference: string;
  /** What is wrong, without the reference: `malformed tag "a b"`. */
  readonly reason: string;
  constructor(reference: string, reason: string) {
    super("REFERENCE_INVALID", `invalid image reference ${JSON.stringify(reference)}: ${reason}`);
    this.name = "ReferenceError";
    this.reference = reference;
    this.reason = reason;
  }
}

/** Parses a reference as the kubelet would, adding docker.io and library/ where it would. */
export function parseNormalizedReference(input: string): ImageReference {
  if (typeof input !== "string" || input.length === 0) throw new ReferenceError(String(input), "empty");
  if (anchoredIdentifierRe.test(input)) {
    throw new ReferenceError(
      input,
      "a 64-character hexadecimal string is an image ID, not a repository name",
    );
  }
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    const problem = digestProblem(digest);
    if (problem !== undefined) throw new ReferenceError(input, problem);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf("/");
  const colon = rest.lastIndexOf(":");
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!tagRe.test(tag)) throw new ReferenceError(input, `malformed tag ${JSON.stringify(tag)}`);
  }
  const { domain, path } = splitDomain(input, rest);
  if (domain.length + 1 + path.length > NAME_TOTAL_LENGTH_MAX) {
    throw new ReferenceError(input, `repository name longer than ${NAME_TOTAL_LENGTH_MAX} characters`);
  }
  return { domain, path, ...(tag !== undefined && { tag }), ...(digest !== undefined && { digest }) };
}

function splitDomain(input: string, name: string): { domain: string; path: string } {
  const slash = name.indexOf("/");
  const first = slash < 0 ? "" : name.slice(0, slash);
  const looksLikeDomain =
    slash >= 0 && (/[.:]/.test(first) || first === "localhost" || first.toLowerCase() !== first);
  let domain = looksLikeDomain ? first : DEFAULT_DOMAIN;
  let path = looksLikeDomain ? name.slice(slash + 1) : name;
  if (looksLikeDomain && !domainRe.test(domain)) {
    throw new ReferenceError(input, `malformed registry host ${JSON.stringify(domain)}`);
  }
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !path.includes("/")) path = OFFICIAL_REPO_PREFIX + path;
  validatePath(input, path);
  return { domain, path };
}

function validatePath(input: string, path: string): void {
  if (path.length === 0) throw new ReferenceError(input, "empty repository name");
  for (const component of path.split("/")) {
    if (component.toLowerCase() !== component) {
      throw new ReferenceError(input, "repository name must be lower case");
    }
    if (!pathComponentRe.test(component)) {
      throw new ReferenceError(input, `malformed repository path component ${JSON.stringify(component)}`);
    }
  }
}

/** Validates a repository path such as `library/nginx` (used on the sidecar's request paths). */
export function isValidRepositoryPath(path: string): boolean {
  return (
    path.length > 0 &&
    path.length <= NAME_TOTAL_LENGTH_MAX &&
    path.split("/").every((c) => pathComponentRe.test(c))
  );
}

export function isValidTag(tag: string): boolean {
  return tagRe.test(tag);
}

export function isValidDigest(digest: string): boolean {
  return digestProblem(digest) === undefined;
}

function digestProblem(digest: string): string | undefined {
  if (!digestRe.test(digest)) return `malformed digest ${JSON.stringify(digest)}`;
  const colon = digest.indexOf(":");
  const algorithm = digest.slice(0, colon);
  const hex = digest.slice(colon + 1);
  const length = DIGEST_HEX_LENGTH[algorithm];
  if (length === undefined) return `unsupported digest algorithm ${JSON.stringify(algorithm)}`;
  if (hex.length !== length || !hexRe.test(hex)) {
    return `a ${algorithm} digest is ${length} lower-case hex characters`;
  }
  return undefined;
}

/** `HOST/PATH[:TAG][@DIGEST]`, fully qualified. */
export function formatReference(ref: ImageReference): string {
  return `${ref.domain}/${ref.path}${ref.tag !== undefined ? `:${ref.tag}` : ""}${ref.digest !== undefined ? `@${ref.digest}` : ""}`;
}

/**
 * `HOST/REPO[:TAG][@DIGEST]` -> `FRONT/<encoded HOST>/REPO[:TAG][@DIGEST]`, FRONT being the sidecar's
 * registry front (`127.0.0.1:65001`). Tag and digest are kept exactly. Throws a ReferenceError when the
 * result would not be a valid reference (an IPv6 host, or a name that grows past 255 characters).
 */
export function rewriteThroughFront(ref: ImageReference, front: string): ImageReference {
  const original = formatReference(ref);
  const host = canonicalHost(ref.domain);
  if (host.startsWith("[")) {
    throw new ReferenceError(original, "an IPv6 registry host cannot be written as a path component");
  }
  const encoded = encodeHostForPath(host);
  // Only hosts that decode back to themselves (no port 0, > 65535 or with leading zeros) are rewritten.
  if (decodeHostFromPath(encoded) !== host) {
    throw new ReferenceError(
      original,
      `registry host ${JSON.stringify(ref.domain)} cannot be written as a path component`,
    );
  }
  const path = `${encoded}/${ref.path}`;
  if (front.length + 1 + path.length > NAME_TOTAL_LENGTH_MAX) {
    throw new ReferenceError(
      original,
      `rewritten repository name would be longer than ${NAME_TOTAL_LENGTH_MAX} characters`,
    );
  }
  return { ...ref, domain: front, path };
}

/**
 * The inverse of rewriteThroughFront: the original reference (host in canonical lower case), or
 * undefined when `ref` does not point at FRONT with an encoded host as its first path component.
 */
export function restoreFromFront(ref: ImageReference, front: string): ImageReference | undefined {
  if (canonicalHost(ref.domain) !== canonicalHost(front)) return undefined;
  const slash = ref.path.indexOf("/");
  if (slash < 0) return undefined;
  const host = decodeHostFromPath(ref.path.slice(0, slash));
  if (host === undefined) return undefined;
  const path = ref.path.slice(slash + 1);
  return { ...ref, domain: host, path };
}
