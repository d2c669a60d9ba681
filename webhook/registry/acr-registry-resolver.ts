/**
 * RegistryResolver for ACR instances: instance IDs -> registry host names, through the CR API
 * (ListInstanceEndpoint + GetInstanceVpcEndpoint), refreshed periodically.
 *
 * - Not ready until every instance has been resolved once (the webhook must not admit pods before it
 *   knows which images to rewrite; with failurePolicy Ignore, pods meanwhile start unmodified).
 * - Afterwards a failed refresh keeps that instance's last good host set, stays ready, and says why in
 *   the readiness detail; a metric counts the failures. Retries come sooner than the regular interval
 *   (doubling from `retryMinMs`).
 * - An instance ID unknown to the API at start is a configuration error: `start()` throws, naming
 *   acrInstances.
 */
import type { Logger } from "../../lib/logger.ts";
import type { RegistryResolver, ResolverReadiness } from "./registry-resolver.ts";
import { instanceHosts } from "./acr-hosts.ts";
import { CloudError } from "../cloud/cloud-errors.ts";
import type { CloudMetrics } from "../cloud/cloud-metrics.ts";
import type { CrApi } from "../cloud/cr-api.ts";

export interface AcrRegistryResolverOptions {
  readonly instances: readonly string[];
  /** The VPC whose linked VPC domains are taken (config vpcId, or the cluster's). */
  readonly vpcId: string;
  readonly api: CrApi;
  readonly refreshIntervalMs: number;
  readonly retryMinMs?: number;
  readonly metrics: CloudMetrics;
  readonly log: Logger;
  readonly now?: () => number;
}

interface InstanceState {
  hosts: readonly string[] | undefined;
  notes: readonly string[];
  lastSuccessMs: number | undefined;
  lastError: { code: string; message: string; error: unknown } | undefined;
  failures: number;
}

export class AcrRegistryResolver implements RegistryResolver {
  readonly #o: AcrRegistryResolverOptions;
  readonly #now: () => number;
  readonly #state = new Map<string, InstanceState>();
  readonly #listeners: (() => void)[] = [];
  #hosts: ReadonlySet<string> = new Set();
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(options: AcrRegistryResolverOptions) {
    this.#o = options;
    this.#now = options.now ?? (() => Date.now());
    for (const id of options.instances) {
      this.#state.set(id, {
        hosts: undefined,
        notes: [],
        lastSuccessMs: undefined,
        lastError: undefined,
        failures: 0,
      });
    }
  }

  acceleratedHosts(): ReadonlySet<string> {
    return this.#hosts;
  }

  /** The accelerated hosts of one instance (its last good set; empty before the first resolution). */
  hostsOf(instanceId: string): readonly string[] {
    return this.#state.get(instanceId)?.hosts ?? [];
  }

  /** Called after a refresh that changed the host set. */
  onChange(listener: () => void): void {
    this.#listeners.push(listener);
  }

  readiness(): ResolverReadiness {
    const parts: string[] = [];
    let ready = true;
    const now = this.#now();
    for (const [id, s] of this.#state) {
      const err = s.lastError ? `${s.lastError.code}: ${s.lastError.message}` : undefined;
      if (s.hosts === undefined) {
        ready = false;
        parts.push(`${id}: not resolved yet${err ? ` (${err})` : ""}`);
        continue;
      }
      const age = s.lastSuccessMs === undefined ? "?" : `${Math.round((now - s.lastSuccessMs) / 1000)}s ago`;
      const line = `${id}: ${s.hosts.length} host(s) ${err ? `kept from ${age}; last refresh failed (${err})` : `resolved ${age}`}`;
      parts.push(s.notes.length > 0 ? `${line}; ${s.notes.join("; ")}` : line);
    }
    return { ready, detail: `ACR ${parts.join(" | ")}` };
  }

  /** One resolution of every instance; never throws (failures are recorded per instance). */
  async refresh(): Promise<void> {
    await Promise.all([...this.#state.keys()].map((id) => this.#refreshInstance(id)));
    const union = new Set<string>();
    for (const s of this.#state.values()) for (const h of s.hosts ?? []) union.add(h);
    const changed = union.size !== this.#hosts.size || [...union].some((h) => !this.#hosts.has(h));
    this.#hosts = union;
    if (changed) for (const listener of this.#listeners) listener();
  }

  async #refreshInstance(id: string): Promise<void> {
    const s = this.#state.get(id)!;
    const { api, metrics, log, vpcId } = this.#o;
    try {
      const [endpoints, vpcEndpoint] = await Promise.all([
        api.listInstanceEndpoint(id),
        api.getInstanceVpcEndpoint(id),
      ]);
      const result = instanceHosts(endpoints, vpcEndpoint, vpcId);
      if (s.hosts?.join() !== result.hosts.join())
        log.info({ instance: id, hosts: result.hosts }, "ACR instance hosts resolved");
      for (const note of result.notes) if (!s.notes.includes(note)) log.warn({ instance: id }, note);
      s.hosts = result.hosts;
      s.notes = result.notes;
      s.lastSuccessMs = this.#now();
      s.lastError = undefined;
      s.failures = 0;
      metrics.resolvedHosts.set({ instance: id }, result.hosts.length);
      metrics.lastSuccess.set({ instance: id }, s.lastSuccessMs / 1000);
    } catch (err) {
      const code = err instanceof CloudError ? err.code : "UNEXPECTED";
      const message = err instanceof Error ? err.message : String(err);
      s.lastError = { code, message, error: err };
      s.failures++;
      metrics.resolveFailures.inc({ instance: id, code });
      log.warn(
        { instance: id, code, err: message, keptHosts: s.hosts?.length ?? 0 },
        "ACR instance resolution failed",
      );
    }
  }

  /**
   * The first resolution, then periodic refreshes. Throws when an instance does not exist (a config
   * error); other failures leave the resolver not ready and retrying.
   */
  async start(): Promise<void> {
    await this.refresh();
    for (const s of this.#state.values()) {
      if (s.hosts === undefined && s.lastError?.code === "ACR_INSTANCE_NOT_FOUND") throw s.lastError.error;
    }
    this.#schedule();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
  }

  #schedule(): void {
    if (this.#stopped) return;
    const failures = Math.max(0, ...[...this.#state.values()].map((s) => s.failures));
    const { refreshIntervalMs, retryMinMs = 5000 } = this.#o;
    const delay =
      failures === 0 ? refreshIntervalMs : Math.min(refreshIntervalMs, retryMinMs * 2 ** (failures - 1));
    this.#timer = setTimeout(() => void this.refresh().finally(() => this.#schedule()), delay);
    this.#timer.unref();
  }
}
