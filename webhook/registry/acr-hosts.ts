/**
 * Which registry host names of an ACR instance are accelerated, from its endpoint answers (pure).
 *
 * - ListInstanceEndpoint: the domains of every enabled endpoint (internet and VPC), system and custom.
 * - GetInstanceVpcEndpoint: the VPC domains, when the VPC endpoint is enabled. These resolve only in
 *   VPCs linked to the instance (through PrivateZone), so they are taken only when `vpcId` (the seed's
 *   vpcId, by default the cluster's) is one of the linked VPCs; otherwise a note says why.
 *
 * Hosts are canonical (lower case) and sorted, so two answers with the same content compare equal.
 */
import { canonicalRegistryHost } from "./registry-resolver.ts";
import type { InstanceEndpoint, InstanceVpcEndpoint } from "../cloud/cr-api.ts";

export interface InstanceHosts {
  readonly hosts: readonly string[];
  /** Why some domains were left out; shown in the readiness detail. */
  readonly notes: readonly string[];
}

export function instanceHosts(
  endpoints: readonly InstanceEndpoint[],
  vpcEndpoint: InstanceVpcEndpoint,
  vpcId: string,
): InstanceHosts {
  const hosts = new Set<string>();
  const notes: string[] = [];
  const add = (domain: string): void => {
    // ACR answers plain DNS names; anything that cannot be written in a rewritten image path is skipped.
    const host = canonicalRegistryHost(domain);
    if (host !== undefined && domain.trim() !== "") hosts.add(host);
    else notes.push(`ignored ${JSON.stringify(domain)}: not a registry host name`);
  };
  const vpcLinked = (ids: readonly string[]): boolean => ids.includes(vpcId);

  for (const endpoint of endpoints) {
    if (!endpoint.enable) continue;
    if (
      endpoint.endpointType === "vpc" &&
      endpoint.linkedVpcIds.length > 0 &&
      !vpcLinked(endpoint.linkedVpcIds)
    ) {
      continue; // reported once below, from GetInstanceVpcEndpoint
    }
    for (const d of endpoint.domains) add(d.domain);
  }
  if (vpcEndpoint.enable && vpcEndpoint.domains.length > 0) {
    if (vpcLinked(vpcEndpoint.linkedVpcs.map((v) => v.vpcId))) {
      for (const d of vpcEndpoint.domains) add(d);
    } else {
      notes.push(
        `VPC ${vpcId} is not linked to the instance, so its VPC domains (${vpcEndpoint.domains.join(", ")}) are not ` +
          "accelerated: link the VPC in the instance's access control, or set vpcId to the linked VPC",
      );
    }
  }
  return { hosts: [...hosts].sort(), notes };
}
