/**
 * The serving certificate: read from the configured files, or, when none are configured, a CA and a
 * certificate generated at start (DNS names of the Service plus the extra SANs, 127.0.0.1 among them),
 * with the CA written out on request so a development caBundle can be made from it.
 */
import { readFile, writeFile } from "node:fs/promises";
import {
  generateCertificateAuthority,
  issueServingCertificate,
  serviceHostNames,
} from "../../lib/tls-certs.ts";
import type { WebhookConfig } from "../config/webhook-config.ts";

export interface TlsMaterial {
  readonly certPem: string;
  readonly keyPem: string;
  /** The CA of a generated certificate; undefined when the certificate came from files. */
  readonly caPem: string | undefined;
  readonly hosts: readonly string[];
}

export async function loadTlsMaterial(config: WebhookConfig): Promise<TlsMaterial> {
  if (config.tlsFiles) {
    const [certPem, keyPem] = await Promise.all([
      readFile(config.tlsFiles.certFile, "utf8"),
      readFile(config.tlsFiles.keyFile, "utf8"),
    ]);
    return { certPem, keyPem, caPem: undefined, hosts: [] };
  }
  const hosts = [...serviceHostNames(config.serviceName, config.mutation.ownNamespace), ...config.tlsSans];
  const ca = generateCertificateAuthority("acr-p2p-webhook-ca");
  const cert = issueServingCertificate(ca, { hosts });
  if (config.caOut !== undefined) await writeFile(config.caOut, ca.certPem, { mode: 0o644 });
  return { certPem: cert.certPem, keyPem: cert.keyPem, caPem: ca.certPem, hosts };
}
