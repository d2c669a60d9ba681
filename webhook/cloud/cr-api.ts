/**
 * The three Container Registry (CR, API version 2018-12-01) calls the controller makes, as a small
 * interface with typed results. `CrOpenApiClient` implements it over the real OpenAPI;
 * `InMemoryCrApi` (in-memory-cr-api.ts) implements it for tests of the logic above it.
 *
 * The response schemas follow the documented shapes (Alibaba Cloud API reference for
 * ListInstanceEndpoint, GetInstanceVpcEndpoint and GetAuthorizationToken). Fields we do not use are
 * not required, so a richer answer still parses.
 */
import { z } from "zod";
import type { SecretValue } from "./secret-value.ts";

export interface EndpointDomain {
  readonly domain: string;
  /** SYSTEM (the instance's own name) or USER (a custom domain). */
  readonly type: string;
}

/** One entry of ListInstanceEndpoint's `Endpoints`. */
export interface InstanceEndpoint {
  /** `internet` or `vpc`. */
  readonly endpointType: string;
  readonly enable: boolean;
  readonly status: string | undefined;
  readonly domains: readonly EndpointDomain[];
  readonly linkedVpcIds: readonly string[];
}

/** GetInstanceVpcEndpoint's answer. */
export interface InstanceVpcEndpoint {
  readonly enable: boolean;
  readonly domains: readonly string[];
  readonly linkedVpcs: readonly { readonly vpcId: string; readonly status: string | undefined }[];
}

/** GetAuthorizationToken's answer: a registry login valid until `expireAtMs`. */
export interface AcrAuthorizationToken {
  readonly username: string;
  readonly password: SecretValue;
  readonly expireAtMs: number;
}

export interface CrApi {
  listInstanceEndpoint(instanceId: string): Promise<readonly InstanceEndpoint[]>;
  getInstanceVpcEndpoint(instanceId: string): Promise<InstanceVpcEndpoint>;
  getAuthorizationToken(instanceId: string): Promise<AcrAuthorizationToken>;
}

/** Every CR answer carries these; `IsSuccess: false` with a `Code` is an error even on HTTP 200. */
export const crEnvelopeSchema = z.object({
  IsSuccess: z.boolean().optional(),
  Code: z.string().optional(),
  RequestId: z.string().optional(),
});

export const listInstanceEndpointSchema = crEnvelopeSchema.extend({
  Endpoints: z
    .array(
      z.object({
        EndpointType: z.string(),
        Enable: z.boolean().optional(),
        Status: z.string().optional(),
        Domains: z.array(z.object({ Domain: z.string(), Type: z.string().optional() })).optional(),
        LinkedVpcs: z.array(z.object({ VpcId: z.string() })).optional(),
      }),
    )
    .optional(),
});

export const getInstanceVpcEndpointSchema = crEnvelopeSchema.extend({
  Enable: z.boolean().optional(),
  Domains: z.array(z.string()).optional(),
  LinkedVpcs: z.array(z.object({ VpcId: z.string(), Status: z.string().optional() })).optional(),
});

export const getAuthorizationTokenSchema = crEnvelopeSchema.extend({
  TempUsername: z.string().optional(),
  AuthorizationToken: z.string().optional(),
  /** Milliseconds since the epoch. */
  ExpireTime: z.number().optional(),
});

export function toInstanceEndpoints(body: z.infer<typeof listInstanceEndpointSchema>): InstanceEndpoint[] {
  return (body.Endpoints ?? []).map((e) => ({
    endpointType: e.EndpointType,
    // Absent Enable: treat as enabled; the domain list is what the API reports for the instance.
    enable: e.Enable ?? true,
    status: e.Status,
    domains: (e.Domains ?? []).map((d) => ({ domain: d.Domain, type: d.Type ?? "SYSTEM" })),
    linkedVpcIds: (e.LinkedVpcs ?? []).map((v) => v.VpcId),
  }));
}

export function toInstanceVpcEndpoint(
  body: z.infer<typeof getInstanceVpcEndpointSchema>,
): InstanceVpcEndpoint {
  return {
    enable: body.Enable ?? true,
    domains: body.Domains ?? [],
    linkedVpcs: (body.LinkedVpcs ?? []).map((v) => ({ vpcId: v.VpcId, status: v.Status })),
  };
}

/** The CR API's codes for "no such instance" (HTTP 200 with IsSuccess false, or a 4xx). */
export function isInstanceNotFoundCode(code: string | undefined): boolean {
  return (
    code !== undefined &&
    /^(INSTANCE_NOT_EXIST|InstanceNotExist|InstanceNotFound|NotFound\.Instance)/i.test(code)
  );
}
