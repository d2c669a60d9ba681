/**
 * Whether the serving Secret is still good, and a new one when it is not. A new certificate always
 * comes with a new CA (the CA's key is never stored); ca.crt then holds the new CA followed by the
 * previous one while that is still valid, and caBundle is set to ca.crt, so the apiserver trusts both
 * the certificate the running webhook serves and the one it will load next.
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { generateTicketKey, ticketKeyFromPem, ticketKeyToPem } from "../../contract/peer-ticket.ts";
import { generateCertificateAuthority, issueServingCertificate } from "../../lib/tls-certs.ts";
import type { ServingSecretData } from "./certgen-api.ts";

const PEM_RE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g;
const DAY_MS = 24 * 3600 * 1000;

/** Why the Secret needs a new certificate, or undefined when it is good. */
export function renewalReason(
  data: Partial<ServingSecretData> | undefined,
  hosts: readonly string[],
  renewBeforeDays: number,
  now: Date,
): string | undefined {
  if (!data) return "the Secret does not exist";
  const certPem = data["tls.crt"];
  const keyPem = data["tls.key"];
  const caPem = firstCertificate(data["ca.crt"] ?? "");
  if (!certPem || !keyPem || !caPem) return "the Secret lacks tls.crt, tls.key or ca.crt";
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
    if (!cert.checkPrivateKey(createPrivateKey(keyPem))) return "tls.key does not match tls.crt";
    if (!cert.verify(new X509Certificate(caPem).publicKey))
      return "tls.crt is not signed by the first CA of ca.crt";
  } catch (err) {
    return `the Secret's PEM data is unreadable (${err instanceof Error ? err.message : String(err)})`;
  }
  const names = sanNames(cert);
  const missing = hosts.filter((h) => !names.has(h));
  if (missing.length > 0) return `tls.crt does not name ${missing.join(", ")}`;
  const daysLeft = (new Date(cert.validTo).getTime() - now.getTime()) / DAY_MS;
  if (daysLeft <= renewBeforeDays)
    return `tls.crt expires in ${Math.max(0, daysLeft).toFixed(1)} days (renewing ${renewBeforeDays} days ahead)`;
  return undefined;
}

export function issueServingSecret(
  previous: Partial<ServingSecretData> | undefined,
  hosts: readonly string[],
  validityDays: number,
  now: Date,
): ServingSecretData {
  const ca = generateCertificateAuthority("acr-p2p-webhook-ca");
  const cert = issueServingCertificate(ca, { hosts, validityDays });
  const old = firstCertificate(previous?.["ca.crt"] ?? "");
  const keepOld = old !== undefined && stillValid(old, now) && old !== ca.certPem;
  return {
    "tls.crt": cert.certPem,
    "tls.key": cert.keyPem,
    "ca.crt": ensureNewline(ca.certPem) + (keepOld ? ensureNewline(old) : ""),
    "ticket.key": ticketKeyOf(previous),
  };
}

/** The Secret's peer ticket key when it has a usable one, else a new one. */
export function ticketKeyOf(data: Partial<ServingSecretData> | undefined): string {
  const pem = data?.["ticket.key"];
  if (pem) {
    try {
      ticketKeyFromPem(pem);
      return pem;
    } catch {
      // Unreadable or not Ed25519: replaced below.
    }
  }
  return ticketKeyToPem(generateTicketKey());
}

function firstCertificate(bundle: string): string | undefined {
  return bundle.match(PEM_RE)?.[0];
}

function stillValid(pem: string, now: Date): boolean {
  try {
    return new Date(new X509Certificate(pem).validTo).getTime() > now.getTime();
  } catch {
    return false;
  }
}

function sanNames(cert: X509Certificate): Set<string> {
  const names = new Set<string>();
  for (const part of (cert.subjectAltName ?? "").split(/,\s*/)) {
    const m = /^(DNS|IP Address):(.+)$/.exec(part.trim());
    if (m?.[2]) names.add(m[2]);
  }
  return names;
}

function ensureNewline(pem: string): string {
  return pem.endsWith("\n") ? pem : `${pem}\n`;
}
