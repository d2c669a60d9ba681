/**
 * The serving certificate's material: read from the configured files (the mounted cert Secret), or
 * generated here (a CA and a certificate for the Service's DNS names plus the extra SANs, 127.0.0.1
 * among them). A generated pair is what the webhook serves when no files are configured, and, for
 * the time being, when they are configured but not there yet (see serving-certificate.ts).
 */
import { readFile, writeFile } from "node:fs/promises";
import { createSecureContext } from "node:tls";
import {
  generateCertificateAuthority,
  issueServingCertificate,
  serviceHostNames,
} from "../../lib/tls-certs.ts";
import type { TlsFiles, WebhookConfig } from "../config/webhook-config.ts";
import { CodedError } from "../../lib/coded-error.ts";

export interface TlsMaterial {
  readonly certPem: string;
  readonly keyPem: string;
  /** The CA of a generated certificate, or the CA file's bundle; undefined when neither. */
  readonly caPem: string | undefined;
  /** The names a generated certificate covers; empty for a certificate read from files. */
  readonly hosts: readonly string[];
}

export type TlsFilesProblem = "TLS_FILES_MISSING" | "TLS_FILES_INVALID";

export class TlsFilesError extends CodedError<TlsFilesProblem> {
  constructor(code: TlsFilesProblem, message: string) {
    super(code, message);
    this.name = "TlsFilesError";
  }
}

/** A fresh CA and serving certificate for the configured names; the CA goes to --ca-out when asked. */
export async function generateTlsMaterial(
  config: WebhookConfig,
  options: { writeCaOut: boolean },
): Promise<TlsMaterial> {
  const hosts = [...serviceHostNames(config.serviceName, config.mutation.ownNamespace), ...config.tlsSans];
  const ca = generateCertificateAuthority("acr-p2p-webhook-ca");
  const cert = issueServingCertificate(ca, { hosts });
  if (options.writeCaOut && config.caOut !== undefined)
    await writeFile(config.caOut, ca.certPem, { mode: 0o644 });
  return { certPem: cert.certPem, keyPem: cert.keyPem, caPem: ca.certPem, hosts };
}

/**
 * Reads the pair (and the CA bundle when configured) and checks that the key belongs to the
 * certificate. A missing cert or key is TLS_FILES_MISSING; a missing CA file only leaves caPem unset
 * (serving does not need it). A pair caught half-written (the kubelet swaps the whole directory, but a
 * reader may see the old cert with the new key) is TLS_FILES_INVALID: the caller tries again later.
 */
export async function readTlsFiles(files: TlsFiles): Promise<TlsMaterial> {
  // One after the other: a refusal always names the first file at fault.
  const certPem = await readRequired(files.certFile);
  const keyPem = await readRequired(files.keyFile);
  const caPem = files.caFile === undefined ? undefined : await readOptional(files.caFile);
  try {
    createSecureContext({ cert: certPem, key: keyPem });
  } catch (err) {
    throw new TlsFilesError(
      "TLS_FILES_INVALID",
      `${files.certFile} and ${files.keyFile} are not a usable pair: ${(err as Error).message}`,
    );
  }
  return { certPem, keyPem, caPem: caPem === "" ? undefined : caPem, hosts: [] };
}

async function readRequired(path: string): Promise<string> {
  const text = await readOptional(path);
  if (text === undefined || text.trim() === "")
    throw new TlsFilesError("TLS_FILES_MISSING", `${path} is ${text === undefined ? "missing" : "empty"}`);
  return text;
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new TlsFilesError("TLS_FILES_INVALID", `${path}: ${(err as Error).message}`);
  }
}
