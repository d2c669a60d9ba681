/**
 * The pure part of ACR temporary credentials: when to renew a password, and the pull secret it
 * becomes. The kubelet sends a pull secret's credentials only to a matching image prefix, and injected
 * pods pull `127.0.0.1:<port>/<host>/repo`, so the secret is keyed by that rewritten prefix, with a
 * trailing slash so `host.com` cannot match `host.com.cn`.
 */
import { encodeHostForPath } from "../../contract/registry-host.ts";
import {
  DOCKER_CONFIG_JSON_TYPE,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  type ManagedSecret,
} from "./pull-secret-store.ts";

/** One secret per namespace holds the passwords of every configured instance. */
export const TEMP_CREDENTIALS_SECRET_NAME = "acr-p2p-acr-temp-credentials";

/** Renew no later than 15 minutes before expiry, and at half-life for short-lived passwords. */
const MAX_MARGIN_MS = 15 * 60_000;

export function renewAtMs(issuedAtMs: number, expireAtMs: number): number {
  const lifetime = Math.max(0, expireAtMs - issuedAtMs);
  return expireAtMs - Math.min(MAX_MARGIN_MS, lifetime / 2);
}

export interface TempLogin {
  readonly hosts: readonly string[];
  readonly username: string;
  readonly password: string;
}

/** `.dockerconfigjson` for the rewritten prefixes of every host of every instance. */
export function renderDockerConfig(logins: readonly TempLogin[], rewriteAuthority: string): string {
  const auths: Record<string, { username: string; password: string; auth: string }> = {};
  for (const login of logins) {
    const auth = Buffer.from(`${login.username}:${login.password}`).toString("base64");
    for (const host of [...login.hosts].sort()) {
      auths[`${rewriteAuthority}/${encodeHostForPath(host)}/`] = {
        username: login.username,
        password: login.password,
        auth,
      };
    }
  }
  return JSON.stringify({ auths });
}

export function tempCredentialsSecret(dockerConfigJson: string): ManagedSecret {
  return {
    name: TEMP_CREDENTIALS_SECRET_NAME,
    labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, "acr-p2p/kind": "acr-temp-credentials" },
    type: DOCKER_CONFIG_JSON_TYPE,
    data: { ".dockerconfigjson": dockerConfigJson },
  };
}
