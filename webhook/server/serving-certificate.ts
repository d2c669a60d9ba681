/**
 * The certificate the controller serves, kept in step with the mounted cert Secret.
 *
 * The chart mounts the Secret as an optional volume: on a first install it appears only after the
 * post-install certgen hook ran, which `helm install --wait` runs after the Deployment is ready. So
 * the controller starts without the files, serving a temporary self-generated pair (the API server
 * cannot verify it; failurePolicy Ignore admits pods unmodified meanwhile) and reporting
 * "waiting for serving certificate" in /readyz. It reads the files every few seconds and compares
 * their content: the kubelet fills the volume in, and later swaps it (a `..data` symlink) when the
 * certgen CronJob rotates the Secret. A usable new pair goes to `server.setSecureContext` (new
 * connections get it, open ones keep theirs); an unusable one (missing, half-swapped, mismatched key)
 * leaves the served pair as it is and is tried again at the next poll.
 *
 * The CA bundle file (ca.crt) is read with the pair; caPem() is its current content, for whatever
 * hands it on (the sidecars verify the peer directory with it).
 */
import { X509Certificate } from "node:crypto";
import type { Server } from "node:tls";
import type { Logger } from "../../lib/logger.ts";
import type { TlsFiles, WebhookConfig } from "../config/webhook-config.ts";
import { generateTlsMaterial, readTlsFiles, TlsFilesError, type TlsMaterial } from "./tls-material.ts";

/** generated: no files configured; waiting: files configured, not usable yet; files: served from them. */
export type ServingState = "generated" | "waiting" | "files";

/** The name of this check in /readyz (`/readyz?exclude=servingCertificate` leaves it out). */
export const SERVING_CERTIFICATE_CHECK = "servingCertificate";
export const WAITING_DETAIL = "waiting for serving certificate";

export class ServingCertificate {
  readonly #files: TlsFiles | undefined;
  readonly #logger: Logger;
  #served: TlsMaterial;
  #state: ServingState;
  #caPem: string | undefined;
  /** Why the files are not (or no longer) what is served; undefined after a good read. */
  #problem: string | undefined;
  #server: Server | undefined;
  #timer: NodeJS.Timeout | undefined;
  #checking: Promise<void> | undefined;
  readonly #listeners = new Set<(served: TlsMaterial) => void>();

  private constructor(
    files: TlsFiles | undefined,
    logger: Logger,
    served: TlsMaterial,
    state: ServingState,
    problem: string | undefined,
  ) {
    this.#files = files;
    this.#logger = logger;
    this.#served = served;
    this.#state = state;
    this.#caPem = state === "files" ? served.caPem : undefined;
    this.#problem = problem;
  }

  /** The files when configured and usable, else a generated pair (temporary when files are configured). */
  static async create(config: WebhookConfig, logger: Logger): Promise<ServingCertificate> {
    const files = config.tlsFiles;
    if (files === undefined) {
      const generated = await generateTlsMaterial(config, { writeCaOut: true });
      return new ServingCertificate(undefined, logger, generated, "generated", undefined);
    }
    try {
      return new ServingCertificate(files, logger, await readTlsFiles(files), "files", undefined);
    } catch (err) {
      const problem = describe(err);
      logger.warn({ problem }, `${WAITING_DETAIL}; serving a temporary self-generated one meanwhile`);
      const temporary = await generateTlsMaterial(config, { writeCaOut: false });
      return new ServingCertificate(files, logger, temporary, "waiting", problem);
    }
  }

  /** The pair new connections get (the temporary one while waiting). */
  get served(): TlsMaterial {
    return this.#served;
  }

  get state(): ServingState {
    return this.#state;
  }

  /** The CA bundle file's current content; undefined until it has been read (or when not configured). */
  caPem(): string | undefined {
    return this.#caPem;
  }

  readiness(): { readonly ready: boolean; readonly detail: string } {
    if (this.#state === "generated")
      return { ready: true, detail: "generated at start (no certificate files)" };
    if (this.#state === "waiting") return { ready: false, detail: `${WAITING_DETAIL} (${this.#problem})` };
    const cert = new X509Certificate(this.#served.certPem);
    const loaded = `from ${this.#files?.certFile}, serial ${cert.serialNumber}, valid to ${cert.validTo}`;
    return { ready: true, detail: this.#problem ? `${loaded}; files now: ${this.#problem}` : loaded };
  }

  /** Called after the served pair or the CA bundle changed (e.g. the peer directory's server). */
  onChange(listener: (served: TlsMaterial) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Starts polling the files every `everyMs` and applying changes to `server`. */
  watch(server: Server, everyMs: number): void {
    this.#server = server;
    if (this.#files === undefined || this.#timer !== undefined) return;
    this.#timer = setInterval(() => void this.check(), everyMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** One read of the files; concurrent callers share it. */
  check(): Promise<void> {
    this.#checking ??= this.#check().finally(() => {
      this.#checking = undefined;
    });
    return this.#checking;
  }

  async #check(): Promise<void> {
    if (this.#files === undefined) return;
    let next: TlsMaterial;
    try {
      next = await readTlsFiles(this.#files);
    } catch (err) {
      const problem = describe(err);
      if (problem !== this.#problem) {
        const kept = this.#state === "files" ? "keeping the loaded pair" : WAITING_DETAIL;
        this.#logger.warn({ problem }, `serving certificate files not usable; ${kept}`);
      }
      this.#problem = problem;
      return;
    }
    this.#problem = undefined;
    const pairChanged =
      this.#state !== "files" || next.certPem !== this.#served.certPem || next.keyPem !== this.#served.keyPem;
    const caChanged = next.caPem !== this.#caPem;
    if (!pairChanged && !caChanged) return;
    if (pairChanged) {
      try {
        this.#server?.setSecureContext({ cert: next.certPem, key: next.keyPem });
      } catch (err) {
        this.#problem = describe(err);
        this.#logger.warn(
          { problem: this.#problem },
          "serving certificate refused by TLS; keeping the loaded pair",
        );
        return;
      }
      const first = this.#state !== "files";
      this.#state = "files";
      const cert = new X509Certificate(next.certPem);
      this.#logger.info(
        { serial: cert.serialNumber, validTo: cert.validTo },
        first ? "serving certificate loaded from its files" : "serving certificate reloaded",
      );
    }
    if (caChanged) this.#logger.info("CA bundle file reloaded");
    this.#served = next;
    this.#caPem = next.caPem;
    for (const listener of this.#listeners) {
      try {
        listener(next);
      } catch (err) {
        this.#logger.error({ err }, "a serving certificate listener failed");
      }
    }
  }
}

function describe(err: unknown): string {
  if (err instanceof TlsFilesError) return err.message;
  return err instanceof Error ? err.message : String(err);
}
