/**
 * The whole origin side in one call: token server + docker-registry (token auth) + throttle proxy.
 *
 *   startOrigin({users?, anonymous?, lifetimeSec?, bytesPerSec?, realm?, auth?}) -> Origin
 *   origin.registry          the real registry (push here, directly: origin.pushClient(user))
 *   origin.proxy             counting/throttling/faulty front: clients and the sidecar pull via origin.proxy.host
 *   origin.tokenServer       null with auth "none"
 *   origin.pushClient(user?) a RegistryClient on the registry itself (not counted, not throttled);
 *                            it always asks the real token server, even when `realm` is hostile
 *   origin.stop()            stops all three; safe to call twice
 *
 * With the default users, `pusher` may push and pull everything; `alice` pulls `team-a/*`, `bob`
 * pulls `team-b/*`; anonymous gets tokens with empty access.
 */
import { startRegistry, type OriginRegistry } from "./registry.ts";
import { startThrottleProxy, type ThrottleProxy } from "./throttle-proxy.ts";
import { startTokenServer, type Grant, type TokenServer, type UserEntry } from "./token-server.ts";
import { RegistryClient } from "../images/registry-client.ts";

export const DEFAULT_USERS: Record<string, UserEntry> = {
  pusher: { password: "pusher-pw", grants: [{ repository: "*", actions: ["pull", "push"] }] },
  alice: { password: "alice-pw", grants: [{ repository: "team-a/*", actions: ["pull"] }] },
  bob: { password: "bob-pw", grants: [{ repository: "team-b/*", actions: ["pull"] }] },
};

export interface OriginOptions {
  auth?: "token" | "none";
  users?: Record<string, UserEntry>;
  anonymous?: Grant[];
  lifetimeSec?: number;
  /** Total send cap of the proxy in bytes per second; omitted = unlimited. */
  bytesPerSec?: number | null;
  /** Realm the registry advertises instead of the token server's (hostile-realm tests). */
  realm?: string;
  proxyHost?: string;
}

export interface Origin {
  readonly registry: OriginRegistry;
  readonly proxy: ThrottleProxy;
  readonly tokenServer: TokenServer | null;
  readonly users: Record<string, UserEntry>;
  pushClient(user?: string): RegistryClient;
  stop(): Promise<void>;
}

export async function startOrigin(opts: OriginOptions = {}): Promise<Origin> {
  const users = opts.users ?? DEFAULT_USERS;
  const stoppers: (() => Promise<void>)[] = [];
  const clients: RegistryClient[] = [];
  const stop = async () => {
    for (const c of clients.splice(0)) await c.close();
    for (const s of stoppers.splice(0).reverse()) await s();
  };
  try {
    let tokenServer: TokenServer | null = null;
    if ((opts.auth ?? "token") === "token") {
      const ts = await startTokenServer({ users, anonymous: opts.anonymous, lifetimeSec: opts.lifetimeSec });
      stoppers.push(() => ts.close());
      tokenServer = ts;
    }
    const registry = await startRegistry({
      auth: tokenServer ? { kind: "token", tokenServer, realm: opts.realm } : { kind: "none" },
    });
    stoppers.push(() => registry.stop());
    const proxy = await startThrottleProxy({
      target: registry.url,
      bytesPerSec: opts.bytesPerSec ?? null,
      host: opts.proxyHost,
    });
    stoppers.push(() => proxy.close());
    return {
      registry,
      proxy,
      tokenServer,
      users,
      pushClient(user = "pusher") {
        const entry = users[user];
        const client = new RegistryClient({
          baseUrl: registry.url,
          credentials: entry ? { user, password: entry.password } : undefined,
          tokenRealm: tokenServer?.realm,
        });
        clients.push(client);
        return client;
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
