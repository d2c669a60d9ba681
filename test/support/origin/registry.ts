/**
 * Debian's `docker-registry` (CNCF distribution 2.8) as a real origin on a free loopback port.
 *
 *   startRegistry({auth, host?, logLevel?}) -> OriginRegistry
 *   registry.url        http://127.0.0.1:PORT (no trailing slash)
 *   registry.host       127.0.0.1:PORT (the name that goes into image references)
 *   registry.dir        temp dir: config.yml, storage/, root.crt, registry.log
 *   registry.stop()     SIGTERM (SIGKILL after a grace period), then removes the temp dir
 *
 * auth: {kind: "none"} or {kind: "token", tokenServer, realm?}. `realm` overrides the realm the
 * registry sends in its Bearer challenge (a hostile origin pointing clients somewhere else); tokens
 * are still verified against the token server's certificate.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import {
  freePort,
  makeTempDir,
  removeTempDir,
  spawnManaged,
  waitForSystemPackages,
  waitUntil,
  type ManagedProcess,
} from "./child-process.ts";
import type { TokenServer } from "./token-server.ts";

export const REGISTRY_BINARY = "/usr/bin/docker-registry";

export type RegistryAuth = { kind: "none" } | { kind: "token"; tokenServer: TokenServer; realm?: string };

export interface RegistryOptions {
  auth: RegistryAuth;
  host?: string;
  logLevel?: "error" | "warn" | "info" | "debug";
  startTimeoutMs?: number;
}

export interface OriginRegistry {
  readonly url: string;
  readonly host: string;
  readonly dir: string;
  readonly process: ManagedProcess;
  stop(): Promise<void>;
}

function registryConfig(addr: string, dir: string, opts: RegistryOptions): object {
  const config: Record<string, unknown> = {
    version: 0.1,
    log: { level: opts.logLevel ?? "warn", accesslog: { disabled: true } },
    storage: {
      filesystem: { rootdirectory: join(dir, "storage") },
      delete: { enabled: true },
      // Upload purging walks storage in the background; nothing here lives long enough to need it.
      maintenance: { uploadpurging: { enabled: false } },
    },
    http: { addr, secret: "acr-p2p-test-secret", headers: { "X-Content-Type-Options": ["nosniff"] } },
  };
  if (opts.auth.kind === "token") {
    const bundle = join(dir, "root.crt");
    writeFileSync(bundle, opts.auth.tokenServer.certPem);
    config.auth = {
      token: {
        realm: opts.auth.realm ?? opts.auth.tokenServer.realm,
        service: opts.auth.tokenServer.service,
        issuer: opts.auth.tokenServer.issuer,
        rootcertbundle: bundle,
      },
    };
  }
  return config;
}

async function startOnce(opts: RegistryOptions, dir: string, attempt: number): Promise<OriginRegistry> {
  const host = opts.host ?? "127.0.0.1";
  const port = await freePort(host);
  const addr = `${host}:${port}`;
  const configPath = join(dir, "config.yml");
  writeFileSync(configPath, stringify(registryConfig(addr, dir, opts)));
  const proc = spawnManaged(REGISTRY_BINARY, ["serve", configPath], {
    logPath: join(dir, `registry-${attempt}.log`),
  });
  const url = `http://${addr}`;
  try {
    await waitUntil(
      async () => {
        if (!proc.running) throw new Error(`docker-registry exited: ${proc.logTail()}`);
        try {
          const res = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(1000) });
          await res.body?.cancel();
          return res.status === 200 || res.status === 401;
        } catch {
          return false;
        }
      },
      opts.startTimeoutMs ?? 15_000,
      () => `docker-registry on ${addr} not ready: ${proc.logTail()}`,
    );
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return {
    url,
    host: addr,
    dir,
    process: proc,
    async stop() {
      await proc.stop();
      removeTempDir(dir);
    },
  };
}

export async function startRegistry(opts: RegistryOptions): Promise<OriginRegistry> {
  await waitForSystemPackages(REGISTRY_BINARY);
  const dir = makeTempDir("registry");
  // freePort() can race with another process taking the port before the registry binds it: retry.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(opts, dir, attempt);
    } catch (err) {
      if (attempt >= 3 || !/address already in use/.test(String(err))) {
        removeTempDir(dir);
        throw err;
      }
    }
  }
}
