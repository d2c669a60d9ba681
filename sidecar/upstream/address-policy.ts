/**
 * Where the sidecar may connect when the registry points it somewhere (a redirect, a token realm).
 * The registry must not be able to aim the sidecar at the pod's own network: loopback, link-local, the
 * metadata service (100.100.100.200), private and shared ranges are refused unless the host is trusted
 * (a configured upstream or an allowedHosts entry); anything else must be https.
 *
 * The check runs before connecting: IP literals are checked directly, names are resolved and every
 * address is checked. `guardedLookup` is the resolver of the connections to untrusted hosts, so the
 * address that was checked is the address connected to (no DNS rebinding between check and connect).
 */
import { BlockList, isIP } from "node:net";
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { UpstreamError } from "./upstream-error.ts";

const INTERNAL = new BlockList();
for (const [net, prefix] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10], // shared address space; holds the metadata service 100.100.100.200
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const) {
  INTERNAL.addSubnet(net, prefix, "ipv4");
}
for (const [net, prefix] of [
  ["::", 128],
  ["::1", 128],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
  ["64:ff9b::", 96], // NAT64 can reach any IPv4 address, private ones included
] as const) {
  INTERNAL.addSubnet(net, prefix, "ipv6");
}

export function isInternalAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return INTERNAL.check(address, "ipv4");
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    if (mapped) return INTERNAL.check(mapped[1] as string, "ipv4");
    return INTERNAL.check(address, "ipv6");
  }
  return true;
}

/** Trusted `host[:port]` entries; an entry without a port trusts every port of that host. */
export class HostAllowlist {
  readonly #exact = new Set<string>();
  readonly #anyPort = new Set<string>();
  constructor(entries: readonly string[]) {
    for (const e of entries.map((x) => x.toLowerCase())) {
      if (/:\d+$/.test(e)) this.#exact.add(e);
      else this.#anyPort.add(e);
    }
  }

  /** `url.host` form: hostname plus a port when it is not the scheme's default. */
  allows(url: URL): boolean {
    const hostname = url.hostname.toLowerCase();
    const port = url.port || (url.protocol === "https:" ? "443" : "80");
    return (
      this.#anyPort.has(hostname) ||
      this.#exact.has(`${hostname}:${port}`) ||
      this.#exact.has(url.host.toLowerCase())
    );
  }
}

export type Resolver = (hostname: string) => Promise<readonly LookupAddress[]>;

const systemResolver: Resolver = (hostname) =>
  new Promise((resolve, reject) =>
    dnsLookup(hostname, { all: true }, (err, addrs) => (err ? reject(err) : resolve(addrs))),
  );

export class TargetPolicy {
  readonly #trusted: HostAllowlist;
  readonly #resolve: Resolver;
  constructor(trusted: HostAllowlist, resolve: Resolver = systemResolver) {
    this.#trusted = trusted;
    this.#resolve = resolve;
  }

  isTrusted(url: URL): boolean {
    return this.#trusted.allows(url);
  }

  /** Throws TARGET_REFUSED unless `url` may be connected to. `what` names the hop for the message. */
  async check(url: URL, what: string): Promise<void> {
    if (this.#trusted.allows(url)) return;
    if (url.protocol !== "https:")
      throw refused(what, url, "only https is followed to hosts outside the allowlist");
    if (url.username || url.password) throw refused(what, url, "URLs with credentials are not followed");
    const hostname = url.hostname.replace(/^\[|\]$/g, "");
    if (isIP(hostname) !== 0) {
      if (isInternalAddress(hostname)) throw refused(what, url, `${hostname} is an internal address`);
      return;
    }
    const addresses = await this.#resolveOrRefuse(hostname, what, url);
    const bad = addresses.find((a) => isInternalAddress(a.address));
    if (bad) throw refused(what, url, `${hostname} resolves to internal address ${bad.address}`);
  }

  /**
   * A `lookup` for net/tls connect (undici `connect.lookup`): resolves, drops nothing silently, and
   * fails when any resolved address is internal, so a connection can only go to a checked address.
   */
  readonly guardedLookup = (
    hostname: string,
    options: { all?: boolean } | number,
    callback: (err: Error | null, address: string | LookupAddress[], family?: number) => void,
  ): void => {
    const all = typeof options === "object" && options.all === true;
    this.#resolve(hostname).then(
      (addrs) => {
        const bad = addrs.find((a) => isInternalAddress(a.address));
        if (bad || addrs.length === 0) {
          callback(
            new UpstreamError(
              "TARGET_REFUSED",
              `refusing to connect to ${hostname}: internal address ${bad?.address ?? "(none)"}`,
            ),
            "",
          );
          return;
        }
        if (all) callback(null, [...addrs]);
        else callback(null, addrs[0]!.address, addrs[0]!.family);
      },
      (err: Error) => callback(err, ""),
    );
  };

  async #resolveOrRefuse(hostname: string, what: string, url: URL): Promise<readonly LookupAddress[]> {
    try {
      const addrs = await this.#resolve(hostname);
      if (addrs.length === 0) throw new Error("no addresses");
      return addrs;
    } catch (cause) {
      throw new UpstreamError("UPSTREAM_UNREACHABLE", `${what} ${url.origin}: cannot resolve ${hostname}`, {
        cause,
      });
    }
  }
}

function refused(what: string, url: URL, reason: string): UpstreamError {
  return new UpstreamError("TARGET_REFUSED", `refusing ${what} to ${url.origin}: ${reason}`);
}
