/**
 * CrApi over the real Container Registry OpenAPI, through @alicloud/openapi-core's generic call
 * (`callApi` with `Params`), exactly as the generated cr20181201 SDK calls these actions: RPC style,
 * POST to `/`, parameters in the query, JSON answer. No request signing is written here.
 *
 * Signature: with no `signatureAlgorithm` / `signatureVersion` configured, `callApi` goes to
 * `doRequest`, which signs with ACS3-HMAC-SHA256 (v3): an `Authorization: ACS3-HMAC-SHA256
 * Credential=...,SignedHeaders=...,Signature=...` header over the canonical request (method, path,
 * sorted query, the `host`, `x-acs-*` and `content-type` headers, and `x-acs-content-sha256`), with
 * STS credentials in `x-acs-accesskey-id` / `x-acs-security-token` (node_modules/@alicloud/openapi-core
 * /dist/client.js `doRequest`, utils.js `getAuthorization`). The test emulator verifies exactly that.
 */
import openApiModule from "@alicloud/openapi-core";
import { RuntimeOptions } from "@darabonba/typescript";
import type { z } from "zod";
import { AcrInstanceNotFoundError, CloudError, CrApiError } from "./cloud-errors.ts";
import {
  getAuthorizationTokenSchema,
  getInstanceVpcEndpointSchema,
  isInstanceNotFoundCode,
  listInstanceEndpointSchema,
  toInstanceEndpoints,
  toInstanceVpcEndpoint,
  type AcrAuthorizationToken,
  type CrApi,
  type InstanceEndpoint,
  type InstanceVpcEndpoint,
  type crEnvelopeSchema,
} from "./cr-api.ts";
import type { CloudCredential } from "./credentials.ts";
import { SecretValue } from "./secret-value.ts";

const { default: OpenApiClient, $OpenApiUtil } = openApiModule;

export const CR_API_VERSION = "2018-12-01";

export interface CrOpenApiClientOptions {
  /** host[:port] of the CR OpenAPI, e.g. cr-vpc.cn-hangzhou.aliyuncs.com. */
  readonly endpoint: string;
  readonly region: string;
  readonly credential: CloudCredential;
  readonly connectTimeoutMs?: number;
  readonly readTimeoutMs?: number;
}

export class CrOpenApiClient implements CrApi {
  readonly #client: InstanceType<typeof OpenApiClient>;
  readonly #credential: CloudCredential;
  readonly #region: string;
  readonly #runtime: RuntimeOptions;

  constructor(options: CrOpenApiClientOptions) {
    this.#credential = options.credential;
    this.#region = options.region;
    this.#client = new OpenApiClient(
      new $OpenApiUtil.Config({
        credential: options.credential,
        endpoint: options.endpoint,
        regionId: options.region,
        protocol: "https",
      }),
    );
    this.#runtime = new RuntimeOptions({
      connectTimeout: options.connectTimeoutMs ?? 5000,
      readTimeout: options.readTimeoutMs ?? 10000,
    });
  }

  async listInstanceEndpoint(instanceId: string): Promise<readonly InstanceEndpoint[]> {
    const body = await this.#call(
      "ListInstanceEndpoint",
      instanceId,
      { ModuleName: "Registry" },
      listInstanceEndpointSchema,
    );
    return toInstanceEndpoints(body);
  }

  async getInstanceVpcEndpoint(instanceId: string): Promise<InstanceVpcEndpoint> {
    const body = await this.#call(
      "GetInstanceVpcEndpoint",
      instanceId,
      { ModuleName: "Registry" },
      getInstanceVpcEndpointSchema,
    );
    return toInstanceVpcEndpoint(body);
  }

  async getAuthorizationToken(instanceId: string): Promise<AcrAuthorizationToken> {
    const body = await this.#call("GetAuthorizationToken", instanceId, {}, getAuthorizationTokenSchema);
    if (!body.TempUsername || !body.AuthorizationToken || body.ExpireTime === undefined) {
      throw new CrApiError(
        "CR_API_UNAVAILABLE",
        "GetAuthorizationToken",
        "InvalidResponse",
        "answer lacks TempUsername, AuthorizationToken or ExpireTime",
      );
    }
    return {
      username: body.TempUsername,
      password: new SecretValue(body.AuthorizationToken),
      expireAtMs: body.ExpireTime,
    };
  }

  async #call<S extends typeof crEnvelopeSchema>(
    action: string,
    instanceId: string,
    extra: Record<string, string>,
    schema: S,
  ): Promise<z.infer<S>> {
    // Credentials first, so a failing STS / metadata service is reported as such and not as a CR error.
    // The provider caches them and refreshes ahead of expiry; callApi asks again and gets the same.
    try {
      await this.#credential.getCredential();
    } catch (err) {
      throw new CloudError("CREDENTIALS_UNAVAILABLE", `getting cloud credentials: ${messageOf(err)}`, {
        cause: err,
      });
    }
    const params = new $OpenApiUtil.Params({
      action,
      version: CR_API_VERSION,
      protocol: "HTTPS",
      pathname: "/",
      method: "POST",
      authType: "AK",
      style: "RPC",
      reqBodyType: "formData",
      bodyType: "json",
    });
    const request = new $OpenApiUtil.OpenApiRequest({ query: { InstanceId: instanceId, ...extra } });
    let response: { body?: unknown };
    try {
      response = await this.#client.callApi(params, request, this.#runtime);
    } catch (err) {
      throw this.#translate(action, instanceId, err);
    }
    const parsed = schema.safeParse(response.body);
    if (!parsed.success) {
      throw new CrApiError(
        "CR_API_UNAVAILABLE",
        action,
        "InvalidResponse",
        `unexpected answer: ${parsed.error.message}`,
      );
    }
    const body = parsed.data;
    if (body.IsSuccess === false) {
      if (isInstanceNotFoundCode(body.Code)) throw new AcrInstanceNotFoundError(instanceId, this.#region);
      throw new CrApiError(
        "CR_API_ERROR",
        action,
        body.Code ?? "Unknown",
        `IsSuccess false, code ${body.Code ?? "?"} (request ${body.RequestId ?? "?"})`,
      );
    }
    return body;
  }

  #translate(action: string, instanceId: string, err: unknown): CloudError {
    const e = err as { statusCode?: unknown; code?: unknown };
    const code = typeof e.code === "string" ? e.code : "Unknown";
    if (typeof e.statusCode === "number") {
      // The API answered: an error of its own (ClientError / ServerError / ThrottlingError of openapi-core).
      if (isInstanceNotFoundCode(code)) return new AcrInstanceNotFoundError(instanceId, this.#region);
      return new CrApiError("CR_API_ERROR", action, code, messageOf(err), { cause: err });
    }
    // No answer: connection refused, TLS failure, timeout.
    return new CrApiError("CR_API_UNAVAILABLE", action, code, messageOf(err), { cause: err });
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
