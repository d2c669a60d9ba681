/**
 * Which registry hosts are accelerated. The webhook asks this interface on every admission and never
 * does the resolving itself: the static implementation serves a configured list; an ACR
 * implementation (instance IDs -> endpoint host names through the cloud API) plugs in behind the same
 * interface and reports not-ready until its first resolution.
 */
import { canonicalHost, decodeHostFromPath, encodeHostForPath } from "../../contract/registry-host.ts";

export interface ResolverReadiness {
  readonly ready: boolean;
  /** One line for /readyz and logs: what is resolved, or what is missing. */
  readonly detail: string;
}

export interface RegistryResolver {
  /** Canonical (lower-case) `host[:port]` of every accelerated registry, as known now. */
  acceleratedHosts(): ReadonlySet<string>;
  readiness(): ResolverReadiness;
}

export class StaticRegistryResolver implements RegistryResolver {
  readonly #hosts: ReadonlySet<string>;

  constructor(hosts: Iterable<string>) {
    const canonical = new Set<string>();
    for (const h of hosts) {
      const c = canonicalRegistryHost(h);
      if (c === undefined)
        throw new Error(`registry host ${JSON.stringify(h)} cannot be written in an image path`);
      canonical.add(c);
    }
    this.#hosts = canonical;
  }

  acceleratedHosts(): ReadonlySet<string> {
    return this.#hosts;
  }

  readiness(): ResolverReadiness {
    return { ready: true, detail: `${this.#hosts.size} configured registry host(s)` };
  }
}

/**
 * The form hosts are compared in: lower case, and Docker Hub's legacy name folded into docker.io as
 * image references do. Undefined for hosts that cannot be written as a path component (IPv6, bad port).
 */
export function canonicalRegistryHost(host: string): string | undefined {
  const lower = canonicalHost(host.trim());
  const folded = lower === "index.docker.io" ? "docker.io" : lower;
  if (folded.startsWith("[")) return undefined;
  return decodeHostFromPath(encodeHostForPath(folded)) === folded ? folded : undefined;
}
