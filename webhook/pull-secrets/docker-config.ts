/**
 * Pull secrets as the kubelet reads them: `kubernetes.io/dockerconfigjson` (`{"auths": {KEY: entry}}`)
 * or the legacy `kubernetes.io/dockercfg` (`{KEY: entry}`), and which entries apply to a registry host.
 * A KEY is `[scheme://]host[:port][/path]`; its host may hold `*` globs per DNS label; the port must
 * match exactly and the path is a prefix of the repository (the kubelet's credentialprovider rules).
 */
import { canonicalRegistryHost } from "../registry/registry-resolver.ts";
import type { SecretObject } from "../kube/kube-api.ts";
import { CodedError } from "../../lib/coded-error.ts";

export const DOCKER_CONFIG_JSON_TYPE = "kubernetes.io/dockerconfigjson";
export const DOCKER_CONFIG_JSON_KEY = ".dockerconfigjson";
const DOCKERCFG_TYPE = "kubernetes.io/dockercfg";
const DOCKERCFG_KEY = ".dockercfg";

/** The credential fields of an entry that travel to a derived secret (email is dropped). */
export interface AuthEntry {
  readonly username?: string;
  readonly password?: string;
  readonly auth?: string;
  readonly identitytoken?: string;
  readonly registrytoken?: string;
}

export interface KeyedEntry {
  /** The key as written in the secret. */
  readonly key: string;
  /** Canonical host of the key (globs kept). */
  readonly host: string;
  /** Path prefix after the host, without leading slash; "" for none. */
  readonly path: string;
  readonly entry: AuthEntry;
}

export class DockerConfigError extends CodedError<"DOCKER_CONFIG_INVALID"> {
  constructor(message: string) {
    super("DOCKER_CONFIG_INVALID", message);
    this.name = "DockerConfigError";
  }
}

const CREDENTIAL_FIELDS = ["username", "password", "auth", "identitytoken", "registrytoken"] as const;
const DOCKER_HUB_HOSTS = new Set(["docker.io", "index.docker.io", "registry-1.docker.io"]);

/** The entries of a pull secret; [] for secrets of other types. Throws DockerConfigError when unreadable. */
export function readPullSecret(secret: SecretObject): KeyedEntry[] {
  const name = secret.metadata.name;
  let auths: unknown;
  if (secret.type === DOCKER_CONFIG_JSON_TYPE) {
    auths = (
      decodeJson(name, secret.data?.[DOCKER_CONFIG_JSON_KEY], DOCKER_CONFIG_JSON_KEY) as
        { auths?: unknown } | undefined
    )?.auths;
  } else if (secret.type === DOCKERCFG_TYPE) {
    auths = decodeJson(name, secret.data?.[DOCKERCFG_KEY], DOCKERCFG_KEY);
  } else {
    return [];
  }
  if (auths == null) return [];
  if (typeof auths !== "object" || Array.isArray(auths))
    throw new DockerConfigError(`secret ${name}: "auths" is not an object`);
  const out: KeyedEntry[] = [];
  for (const [key, raw] of Object.entries(auths as Record<string, unknown>)) {
    if (raw === null || typeof raw !== "object") continue;
    const entry: Record<string, string> = {};
    for (const field of CREDENTIAL_FIELDS) {
      const v = (raw as Record<string, unknown>)[field];
      if (typeof v === "string" && v !== "") entry[field] = v;
    }
    const parsed = parseKey(key);
    if (parsed && Object.keys(entry).length > 0) out.push({ key, ...parsed, entry });
  }
  return out;
}

/** True when an entry keyed `entryHost` applies to images on `host` (both canonical). */
export function hostMatches(entryHost: string, host: string): boolean {
  const [entryName, entryPort] = splitPort(entryHost);
  const [name, port] = splitPort(host);
  if (entryPort !== port) return false;
  const a = entryName.split(".");
  const b = name.split(".");
  return a.length === b.length && a.every((label, i) => globMatch(label, b[i] as string));
}

function parseKey(key: string): { host: string; path: string } | undefined {
  const noScheme = key.trim().replace(/^[a-z]+:\/\//i, "");
  const slash = noScheme.indexOf("/");
  const hostText = slash < 0 ? noScheme : noScheme.slice(0, slash);
  let path = slash < 0 ? "" : noScheme.slice(slash + 1);
  if (hostText === "") return undefined;
  const lower = hostText.toLowerCase();
  // Docker Hub's keys carry an API path (`https://index.docker.io/v1/`) that is not a repository prefix.
  if (DOCKER_HUB_HOSTS.has(lower)) {
    if (/^v[12]\/?$/.test(path)) path = "";
    return { host: "docker.io", path };
  }
  const host = lower.includes("*") ? lower : canonicalRegistryHost(lower);
  return host === undefined ? undefined : { host, path };
}

function splitPort(host: string): [string, string] {
  const colon = host.lastIndexOf(":");
  return colon < 0 ? [host, ""] : [host.slice(0, colon), host.slice(colon + 1)];
}

function globMatch(pattern: string, text: string): boolean {
  if (!pattern.includes("*")) return pattern === text;
  const re = new RegExp(`^${pattern.split("*").map(escapeRegExp).join("[^.]*")}$`);
  return re.test(text);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function decodeJson(secret: string, base64: string | undefined, key: string): unknown {
  if (base64 === undefined) return undefined;
  try {
    return JSON.parse(Buffer.from(base64, "base64").toString("utf8"));
  } catch {
    throw new DockerConfigError(`secret ${secret}: ${key} is not base64-encoded JSON`);
  }
}
