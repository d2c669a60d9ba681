/**
 * certgen's one run: make the serving Secret good (create it, or re-issue it when it is missing keys,
 * no longer names the Service, or expires within renewBeforeDays; add the peer ticket key when it
 * lacks one, which renewals keep), then make every webhook entry's
 * caBundle equal the Secret's ca.crt. A run with nothing to do writes nothing.
 */
import type { Logger } from "../../lib/logger.ts";
import type { CertgenApi, ServingSecretData } from "./certgen-api.ts";
import type { CertgenConfig } from "./certgen-config.ts";
import { issueServingSecret, renewalReason, ticketKeyOf } from "./serving-secret.ts";

export interface CertgenOutcome {
  /** Why a certificate was issued; undefined when the existing one was kept. */
  readonly issued: string | undefined;
  readonly caBundlePatched: boolean;
}

export async function runCertgen(
  api: CertgenApi,
  config: CertgenConfig,
  logger: Logger,
  now = new Date(),
): Promise<CertgenOutcome> {
  const { namespace, secretName } = config;
  const existing = await api.getSecret(namespace, secretName);
  const reason = renewalReason(existing?.data, config.hosts, config.renewBeforeDays, now);
  let data: Partial<ServingSecretData> | undefined = existing?.data;
  if (reason !== undefined) {
    const fresh = issueServingSecret(existing?.data, config.hosts, config.validityDays, now);
    if (existing) await api.updateSecret(namespace, secretName, fresh, existing.resourceVersion);
    else await api.createSecret(namespace, secretName, fresh);
    logger.info(
      { secret: `${namespace}/${secretName}`, reason, hosts: config.hosts },
      "issued a serving certificate",
    );
    data = fresh;
  } else if (existing && ticketKeyOf(existing.data) !== existing.data["ticket.key"]) {
    // A Secret from before the peer directory (or with a bad key): add the key, keep the certificate.
    const withKey = { ...(existing.data as ServingSecretData), "ticket.key": ticketKeyOf(undefined) };
    await api.updateSecret(namespace, secretName, withKey, existing.resourceVersion);
    logger.info(
      { secret: `${namespace}/${secretName}` },
      "serving certificate is valid; peer ticket key added",
    );
    data = withKey;
  } else {
    logger.info({ secret: `${namespace}/${secretName}` }, "serving certificate is valid; kept");
  }
  const caPem = data?.["ca.crt"] ?? "";
  const { names, bundles } = await api.getCaBundles(config.webhookConfigName);
  const stale = bundles.some((b) => b !== caPem);
  if (stale) {
    await api.setCaBundles(config.webhookConfigName, names, caPem);
    logger.info({ webhookConfiguration: config.webhookConfigName, entries: names }, "caBundle set");
  }
  return { issued: reason, caBundlePatched: stale };
}
