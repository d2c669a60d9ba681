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

const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const DOMAIN_NAME = `${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*`;
const IPV6 = "\\[(?:[a-fA-F0-9:]+)\\]";
const DOMAIN = `(?:${DOMAIN_NAME}|${IPV6})(?::[0-9]+)?`;
const PATH_COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const TAG = "[\\w][\\w.-]{0,127}";
const DIGEST = "[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}";

const domainRe = new RegExp(`^${DOMAIN}$`);
const pathComponentRe = new RegExp(`^${PATH_COMPONENT}$`);
const tagRe = new RegExp(`^${TAG}$`);
const digestRe = new RegExp(`^${DIGEST}$`);
const sha256Re = /^sha256:[a-f0-9]{64}$/;

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

export class ReferenceError extends Error {
  readonly code = "REFERENCE_INVALID";
  readonly reference: string;
  constructor(reference: string, reason: string) {
    super(`invalid image reference ${JSON.stringify(reference)}: ${reason}`);
    this.reference = reference;
  }
}

/** Parses a reference as the kubelet would, adding docker.io and library/ where it would. */
export function parseNormalizedReference(input: string): ImageReference {
  if (typeof input !== "string" || input.length === 0) throw new ReferenceError(String(input), "empty");
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!digestRe.test(digest)) throw new ReferenceError(input, `malformed digest ${JSON.stringify(digest)}`);
    if (digest.startsWith("sha256:") && !sha256Re.test(digest)) {
      throw new ReferenceError(input, "a sha256 digest is 64 lower-case hex characters");
    }
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
  return digestRe.test(digest) && (!digest.startsWith("sha256:") || sha256Re.test(digest));
}

/** `HOST/PATH[:TAG][@DIGEST]`, fully qualified. */
export function formatReference(ref: ImageReference): string {
  return `${ref.domain}/${ref.path}${ref.tag !== undefined ? `:${ref.tag}` : ""}${ref.digest !== undefined ? `@${ref.digest}` : ""}`;
}
