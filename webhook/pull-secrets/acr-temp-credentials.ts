/**
 * ACR temporary credentials for pods without pull secrets (opt-in). The controller calls
 * GetAuthorizationToken per instance with its own cloud credentials and keeps one derived pull secret
 * (user TempUsername, password AuthorizationToken) in every namespace that asked for it, rewritten
 * in place before the password expires, and when an instance's host set changes. The sidecar never
 * sees cloud credentials: it gets this registry login from the runtime, like any pull secret.
 *
 * The webhook calls `ensureNamespace(ns)` while admitting a pod that has no imagePullSecrets and uses
 * an ACR host, then adds `{name: TEMP_CREDENTIALS_SECRET_NAME}` to the pod (nothing on dry-run).
 *
 * A failed GetAuthorizationToken keeps the current password (still valid until it expires) and is
 * retried at the next check; a failed write is retried at the next check too.
 */
import type { Logger } from "../../lib/logger.ts";
import { CloudError } from "../cloud/cloud-errors.ts";
import type { CloudMetrics } from "../cloud/cloud-metrics.ts";
import type { CrApi } from "../cloud/cr-api.ts";
import { PullSecretStoreError, writeManagedSecret, type PullSecretStore } from "./pull-secret-store.ts";
import {
  renderDockerConfig,
  renewAtMs,
  tempCredentialsSecret,
  TEMP_CREDENTIALS_SECRET_NAME,
} from "./temp-credentials.ts";

export interface AcrTempCredentialsOptions {
  readonly instances: readonly string[];
  readonly api: CrApi;
  /** The instance's accelerated hosts (AcrRegistryResolver.hostsOf). */
  readonly hostsOf: (instanceId: string) => readonly string[];
  /** `127.0.0.1:<p2p.port>`: what rewritten images start with. */
  readonly rewriteAuthority: string;
  readonly store: PullSecretStore;
  readonly metrics: CloudMetrics;
  readonly log: Logger;
  /** How often due passwords and pending writes are checked (default 30 s). */
  readonly checkIntervalMs?: number;
  readonly now?: () => number;
}

interface Login {
  username: string;
  password: string;
  issuedAtMs: number;
  expireAtMs: number;
}

export class AcrTempCredentials {
  readonly secretName = TEMP_CREDENTIALS_SECRET_NAME;
  readonly #o: AcrTempCredentialsOptions;
  readonly #now: () => number;
  readonly #logins = new Map<string, Login>();
  readonly #errors = new Map<string, string>();
  /** Namespace -> the .dockerconfigjson last written there ("" before the first write). */
  readonly #namespaces = new Map<string, string>();
  /** Namespace -> its write in flight: a burst of pods in a new namespace writes the secret once. */
  readonly #writes = new Map<string, Promise<void>>();
  #renewing: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: AcrTempCredentialsOptions) {
    this.#o = options;
    this.#now = options.now ?? (() => Date.now());
  }

  /**
   * Makes sure `namespace` has the secret with the current passwords and keeps it refreshed. Returns
   * the secret name, or undefined when no password could be obtained (then the pod gets none).
   */
  async ensureNamespace(namespace: string): Promise<string | undefined> {
    if (!this.#namespaces.has(namespace)) this.#namespaces.set(namespace, "");
    if (this.#logins.size === 0) await this.#renew();
    const content = this.#render();
    if (content === undefined) return undefined;
    await this.#writeOnce(namespace, content);
    return this.#namespaces.get(namespace) === content ? this.secretName : undefined;
  }

  /**
   * Namespaces found to need the secret by other means than an admission (the controller lists the
   * injected pods that name it: after a restart, or pods admitted by another replica). Written at the
   * next refresh unless already known.
   */
  adoptNamespaces(namespaces: Iterable<string>): void {
    for (const ns of namespaces) if (!this.#namespaces.has(ns)) this.#namespaces.set(ns, "");
  }

  /** Renews due passwords, then rewrites every namespace whose secret is not current. */
  async refresh(): Promise<void> {
    await this.#renew();
    const content = this.#render();
    if (content === undefined) return;
    for (const ns of [...this.#namespaces.keys()]) await this.#writeOnce(ns, content);
  }

  readiness(): { ready: boolean; detail: string } {
    const now = this.#now();
    const parts = this.#o.instances.map((id) => {
      const login = this.#logins.get(id);
      const err = this.#errors.get(id);
      const state = login
        ? `password expires in ${Math.round((login.expireAtMs - now) / 1000)}s`
        : "no password";
      return `${id}: ${state}${err ? ` (last GetAuthorizationToken failed: ${err})` : ""}`;
    });
    return {
      ready: true,
      detail: `temporary credentials ${parts.join(" | ")}; ${this.#namespaces.size} namespace(s)`,
    };
  }

  start(): void {
    const tick = (): void => {
      this.#timer = setTimeout(() => void this.refresh().finally(tick), this.#o.checkIntervalMs ?? 30_000);
      this.#timer.unref();
    };
    tick();
  }

  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
  }

  /** Single-flight: concurrent admissions share one round of GetAuthorizationToken calls. */
  #renew(): Promise<void> {
    this.#renewing ??= this.#renewDue().finally(() => (this.#renewing = undefined));
    return this.#renewing;
  }

  async #renewDue(): Promise<void> {
    const now = this.#now();
    const due = this.#o.instances.filter((id) => {
      const login = this.#logins.get(id);
      return login === undefined || now >= renewAtMs(login.issuedAtMs, login.expireAtMs);
    });
    await Promise.all(
      due.map(async (id) => {
        try {
          const token = await this.#o.api.getAuthorizationToken(id);
          this.#logins.set(id, {
            username: token.username,
            password: token.password.reveal(),
            issuedAtMs: now,
            expireAtMs: token.expireAtMs,
          });
          this.#errors.delete(id);
          this.#o.metrics.tempCredentialExpiry.set({ instance: id }, token.expireAtMs / 1000);
          this.#o.log.info(
            { instance: id, expireAt: new Date(token.expireAtMs).toISOString() },
            "ACR temporary password renewed",
          );
        } catch (err) {
          const code = err instanceof CloudError ? err.code : "UNEXPECTED";
          this.#errors.set(id, `${code}: ${err instanceof Error ? err.message : err}`);
          this.#o.metrics.tempCredentialFailures.inc({ instance: id, code });
          this.#o.log.warn({ instance: id, code, err: this.#errors.get(id) }, "GetAuthorizationToken failed");
        }
      }),
    );
    // Drop passwords that have expired and could not be renewed: a stale login only produces 401s.
    for (const [id, login] of this.#logins) if (login.expireAtMs <= this.#now()) this.#logins.delete(id);
  }

  #render(): string | undefined {
    const logins = [...this.#logins].map(([id, l]) => ({
      hosts: this.#o.hostsOf(id),
      username: l.username,
      password: l.password,
    }));
    if (logins.length === 0 || logins.every((l) => l.hosts.length === 0)) return undefined;
    return renderDockerConfig(logins, this.#o.rewriteAuthority);
  }

  /** Writes `content` unless it is there already, after any write in flight for the namespace. */
  async #writeOnce(namespace: string, content: string): Promise<void> {
    for (let inFlight = this.#writes.get(namespace); inFlight; inFlight = this.#writes.get(namespace)) {
      await inFlight;
    }
    if (this.#namespaces.get(namespace) === content) return;
    const write = this.#write(namespace, content).finally(() => this.#writes.delete(namespace));
    this.#writes.set(namespace, write);
    await write;
  }

  async #write(namespace: string, content: string): Promise<void> {
    try {
      await writeManagedSecret(this.#o.store, namespace, tempCredentialsSecret(content));
      this.#namespaces.set(namespace, content);
    } catch (err) {
      if (err instanceof PullSecretStoreError && err.code === "NAMESPACE_NOT_FOUND") {
        this.#namespaces.delete(namespace); // gone: stop refreshing it
        return;
      }
      const code = err instanceof PullSecretStoreError ? err.code : "WRITE_FAILED";
      this.#o.metrics.tempCredentialFailures.inc({ instance: "*", code });
      this.#o.log.warn(
        { namespace, code, err: err instanceof Error ? err.message : err },
        "writing the temporary credentials secret failed",
      );
    }
  }
}
