/**
 * Derived pull secrets. The kubelet sends a pull secret only to the host its key names, and rewritten
 * images name the sidecar (`127.0.0.1:65001/<host>/...`), so each source entry for an accelerated host
 * is copied under the key `127.0.0.1:<port>/<encoded host>/[path]` (the trailing slash stops
 * `host.com` matching `host.com.cn`). One derived secret per (source secret, host).
 *
 * RBAC is get + create only, so a derived secret is never updated: its name hashes the source's name,
 * the host AND the derived content. A rotated source therefore yields a new name (a new secret for the
 * pods created from then on), and an existing secret of that name must hold exactly that content.
 */
import { createHash } from "node:crypto";
import { encodeHostForPath } from "../../contract/registry-host.ts";
import type { SecretObject } from "../kube/kube-api.ts";
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from "../mutation/names.ts";
import {
  DOCKER_CONFIG_JSON_KEY,
  DOCKER_CONFIG_JSON_TYPE,
  hostMatches,
  type AuthEntry,
  type KeyedEntry,
} from "./docker-config.ts";

export const SOURCE_SECRET_ANNOTATION = "acr-p2p/source-secret";
export const REGISTRY_HOST_ANNOTATION = "acr-p2p/registry-host";

export interface SourceSecret {
  readonly name: string;
  readonly entries: readonly KeyedEntry[];
}

export interface DerivedSecret {
  readonly name: string;
  readonly sourceName: string;
  readonly host: string;
  readonly secret: SecretObject;
}

const FIELD_ORDER: readonly (keyof AuthEntry)[] = [
  "username",
  "password",
  "auth",
  "identitytoken",
  "registrytoken",
];

export function planDerivedSecrets(
  sources: readonly SourceSecret[],
  hosts: readonly string[],
  port: number,
): DerivedSecret[] {
  const out: DerivedSecret[] = [];
  for (const source of sources) {
    for (const host of hosts) {
      const auths: Record<string, AuthEntry> = {};
      for (const e of source.entries) {
        if (!hostMatches(e.host, host)) continue;
        auths[`127.0.0.1:${port}/${encodeHostForPath(host)}/${e.path}`] = orderedEntry(e.entry);
      }
      const keys = Object.keys(auths).sort();
      if (keys.length === 0) continue;
      const json = JSON.stringify({ auths: Object.fromEntries(keys.map((k) => [k, auths[k]])) });
      const digest = createHash("sha256").update(`${source.name}\0${host}\0${json}`).digest("hex");
      const name = `acr-p2p-${digest.slice(0, 16)}`;
      out.push({
        name,
        sourceName: source.name,
        host,
        secret: {
          metadata: {
            name,
            labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE },
            annotations: { [SOURCE_SECRET_ANNOTATION]: source.name, [REGISTRY_HOST_ANNOTATION]: host },
          },
          type: DOCKER_CONFIG_JSON_TYPE,
          data: { [DOCKER_CONFIG_JSON_KEY]: Buffer.from(json, "utf8").toString("base64") },
        },
      });
    }
  }
  return out;
}

function orderedEntry(entry: AuthEntry): AuthEntry {
  const out: Record<string, string> = {};
  for (const f of FIELD_ORDER) if (entry[f] !== undefined) out[f] = entry[f];
  return out;
}
