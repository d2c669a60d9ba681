/**
 * The host encoding used in rewritten image references and in the sidecar's request paths:
 * `Registry.Local:5000` <-> `registry.local_5000`. A `:` cannot appear in a path component, and `_`
 * never appears in a DNS name, so the mapping is reversible.
 */

/** Registry hosts compare case-insensitively; this is the one canonical form. */
export function canonicalHost(host: string): string {
  return host.toLowerCase();
}

export function encodeHostForPath(host: string): string {
  if (host.startsWith("[")) {
    throw new Error(
      `registry host ${JSON.stringify(host)}: IPv6 literals cannot be encoded in an image path`,
    );
  }
  return canonicalHost(host).replace(":", "_");
}

const encodedHostRe = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(_[0-9]{1,5})?$/;

/** Returns `host[:port]` for a path component, or undefined when it is not an encoded host. */
export function decodeHostFromPath(component: string): string | undefined {
  if (!encodedHostRe.test(component)) return undefined;
  const underscore = component.indexOf("_");
  if (underscore < 0) return component;
  const port = Number(component.slice(underscore + 1));
  if (port < 1 || port > 65535) return undefined;
  return `${component.slice(0, underscore)}:${port}`;
}
