/**
 * Starts a sidecar in this process in front of a rig origin (test/support/origin): the origin's
 * counting proxy is the one upstream host (plain http), the token server's host is allowlisted
 * explicitly, ports are ephemeral. Also the usual rig of these tests (an origin holding one image, a
 * sidecar in front) and small HTTP helpers.
 */
import { createHash } from "node:crypto";
import { silentLogger, type Logger } from "../../../lib/logger.ts";
import { encodeHostForPath } from "../../../contract/registry-host.ts";
import { startSidecar, type Sidecar } from "../../../sidecar/app.ts";
import { loadSidecarConfig, type SidecarConfig } from "../../../sidecar/config/sidecar-config.ts";
import type { Resolver } from "../../../sidecar/upstream/address-policy.ts";
import type { LayerSpec } from "../../support/images/layers.ts";
import type { Origin, OriginOptions } from "../../support/origin/origin-stack.ts";
import { startOriginWithImage, type OriginWithImage } from "../../support/origin/origin-with-image.ts";

export interface TestSidecar {
  readonly sidecar: Sidecar;
  readonly config: SidecarConfig;
  /** http://127.0.0.1:PORT */
  readonly url: string;
  /** 127.0.0.1:PORT: what goes in front of `<encoded host>/<repo>` in an image reference. */
  readonly host: string;
  /** `127.0.0.1:PORT/<encoded origin host>`: prefix of rewritten image references. */
  readonly imagePrefix: string;
  /** `/v2/<encoded origin host>`: prefix of API paths. */
  readonly apiPrefix: string;
  close(): Promise<void>;
}

export function sidecarArgs(origin: Origin, extra: readonly string[] = []): string[] {
  const args = ["--upstream-host", origin.proxy.host, "--plain-http-upstream", origin.proxy.host];
  if (origin.tokenServer) args.push("--allow-host", new URL(origin.tokenServer.realm).host);
  const timeouts = [
    ["--connect-timeout", "2"],
    ["--transfer-timeout", "3"],
  ].filter(([flag]) => !extra.includes(flag!));
  return [...args, ...timeouts.flat(), ...extra];
}

export interface TestSidecarOptions {
  /** Extra command-line options after sidecarArgs'. */
  readonly args?: readonly string[];
  readonly resolver?: Resolver;
  readonly logger?: Logger;
  readonly progressLogMs?: number;
}

export async function startTestSidecar(origin: Origin, opts: TestSidecarOptions = {}): Promise<TestSidecar> {
  const parsed = loadSidecarConfig(sidecarArgs(origin, opts.args), {});
  const config: SidecarConfig = Object.freeze({ ...parsed, port: 0, healthPort: 0 });
  const sidecar = await startSidecar(config, {
    logger: opts.logger ?? silentLogger(),
    processMetrics: false,
    ...(opts.resolver ? { resolver: opts.resolver } : {}),
    ...(opts.progressLogMs ? { progressLogMs: opts.progressLogMs } : {}),
  });
  const host = sidecar.registryAddress;
  const encoded = encodeHostForPath(origin.proxy.host);
  return {
    sidecar,
    config,
    url: `http://${host}`,
    host,
    imagePrefix: `${host}/${encoded}`,
    apiPrefix: `/v2/${encoded}`,
    close: () => sidecar.close(),
  };
}

export interface SidecarRig extends OriginWithImage {
  readonly side: TestSidecar;
}

/** startOriginWithImage, then a test sidecar in front of it; the origin is stopped if the sidecar fails to start. */
export async function startSidecarRig(
  layers: LayerSpec[],
  opts: { origin?: OriginOptions; sidecar?: TestSidecarOptions } = {},
): Promise<SidecarRig> {
  const { origin, image } = await startOriginWithImage(layers, { origin: opts.origin });
  try {
    return { origin, image, side: await startTestSidecar(origin, opts.sidecar) };
  } catch (err) {
    await origin.stop();
    throw err;
  }
}

/** For `after`: either may be missing when `before` failed part way. */
export async function stopSidecarRig(
  side: TestSidecar | undefined,
  origin: Origin | undefined,
): Promise<void> {
  await side?.close();
  await origin?.stop();
}

export function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
}

/** The rig origin's user with pull rights on team-a/*. */
export const ALICE = basic("alice", "alice-pw");

export function sha256(bytes: Buffer): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

export interface Fetched {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Buffer;
}

/** One request with the platform fetch (undici inside Node, not the sidecar's agent). */
export async function get(
  url: string,
  opts: { method?: string; authorization?: string; range?: string; accept?: string; timeoutMs?: number } = {},
): Promise<Fetched> {
  const headers: Record<string, string> = {};
  if (opts.authorization) headers["authorization"] = opts.authorization;
  if (opts.range) headers["range"] = opts.range;
  if (opts.accept) headers["accept"] = opts.accept;
  const res = await fetch(url, {
    method: opts.method ?? "GET",
    headers,
    signal: AbortSignal.timeout(opts.timeoutMs ?? 60_000),
  });
  const body = Buffer.from(await res.arrayBuffer());
  return { status: res.status, headers: res.headers, body };
}

export function ociCodes(body: Buffer): string[] {
  const parsed = JSON.parse(body.toString("utf8")) as { errors?: { code: string }[] };
  return (parsed.errors ?? []).map((e) => e.code);
}

/** GETs a blob, hashing and dropping its bytes as they come; resolves with their digest. */
export async function pullDiscarding(url: string, authorization: string): Promise<string> {
  const res = await fetch(url, { headers: { authorization }, signal: AbortSignal.timeout(120_000) });
  if (res.status !== 200 || !res.body) throw new Error(`GET ${url}: ${res.status}`);
  const hash = createHash("sha256");
  for await (const chunk of res.body) hash.update(chunk);
  return `sha256:${hash.digest("hex")}`;
}
