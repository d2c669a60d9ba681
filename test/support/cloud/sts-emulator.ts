/**
 * STS (API 2015-04-01) on loopback TLS: AssumeRoleWithOIDC and AssumeRole, checking what STS checks.
 *
 * - AssumeRoleWithOIDC is unsigned; the OIDC token is the credential. Checked: the provider exists;
 *   the JWT is RS256 and its signature verifies against the provider's JWKS (by kid); iss is the
 *   provider's issuer; aud contains one of its client IDs (sts.aliyuncs.com); nbf/exp hold; the
 *   role trusts the provider for this sub / aud / iss; DurationSeconds within 900..max session.
 * - AssumeRole is signed with RPC signature v1 HMAC-SHA1 (what @alicloud/credentials' ram_role_arn
 *   provider sends; verified in signatures.ts). Checked: the signature, timestamp and nonce; a
 *   session caller's SecurityToken; the caller may call sts:AssumeRole; the role trusts the caller;
 *   DurationSeconds within 900..the role's maximum session duration.
 *
 * Answers have the documented shape ({RequestId, AssumedRoleUser, Credentials{AccessKeyId,
 * AccessKeySecret, SecurityToken, Expiration}}, plus OIDCTokenInfo for OIDC); errors are
 * {RequestId, HostId, Code, Message} with a 4xx status. Every call is logged for assertions.
 */
import { createPublicKey, createVerify, randomUUID } from "node:crypto";
import { ApiFault, faultAnswer, invalidVersion, unknownAction } from "./api-fault.ts";
import {
  startEmulatorServer,
  type EmulatorRequest,
  type EmulatorResponse,
  type EmulatorServer,
} from "./emulator-server.ts";
import {
  callerActions,
  callerArn,
  callerAccount,
  isoSeconds,
  type FakeCloud,
  type RamRole,
  type StsSession,
} from "./fake-cloud.ts";
import { NonceLedger, rpcParams, verifyRpcV1 } from "./signatures.ts";
import type { TestCa } from "./test-ca.ts";

export interface StsCall {
  readonly action: string;
  readonly ok: boolean;
  readonly code?: string;
  readonly roleArn?: string;
  readonly durationSeconds?: number;
  readonly caller?: string;
  readonly subject?: string;
}

export interface StsEmulator {
  readonly endpoint: string;
  readonly server: EmulatorServer;
  readonly calls: StsCall[];
  /** Lifetime of issued sessions when a test wants them shorter than DurationSeconds; undefined = DurationSeconds. */
  sessionSecondsOverride: number | undefined;
  close(): Promise<void>;
}

function decodeJwt(token: string): {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
  input: string;
  signature: Buffer;
} {
  const parts = token.trim().split(".");
  if (parts.length !== 3) throw new ApiFault("InvalidParameter.OIDCToken", "the OIDC token is not a JWT");
  const [h, p, s] = parts as [string, string, string];
  try {
    return {
      header: JSON.parse(Buffer.from(h, "base64url").toString("utf8")),
      claims: JSON.parse(Buffer.from(p, "base64url").toString("utf8")),
      input: `${h}.${p}`,
      signature: Buffer.from(s, "base64url"),
    };
  } catch {
    throw new ApiFault("InvalidParameter.OIDCToken", "the OIDC token cannot be decoded");
  }
}

function durationOf(params: Map<string, string>, role: RamRole): number {
  const raw = params.get("DurationSeconds") ?? "3600";
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 900 || n > role.maxSessionDuration) {
    throw new ApiFault(
      "InvalidParameter.DurationSeconds",
      `DurationSeconds ${raw} must be from 900 to the role's max session duration ${role.maxSessionDuration}`,
    );
  }
  return n;
}

function credentialsOf(session: StsSession): Record<string, unknown> {
  return {
    AssumedRoleUser: {
      AssumedRoleId: `3${session.accessKeyId.slice(4, 20)}:${session.sessionName}`,
      Arn: `${session.role.arn.replace(":role/", ":assumed-role/")}/${session.sessionName}`,
    },
    Credentials: {
      AccessKeyId: session.accessKeyId,
      AccessKeySecret: session.accessKeySecret,
      SecurityToken: session.securityToken,
      Expiration: isoSeconds(session.expirationMs),
    },
  };
}

export async function startStsEmulator(
  cloud: FakeCloud,
  ca: TestCa,
  host = "127.0.0.1",
): Promise<StsEmulator> {
  const calls: StsCall[] = [];
  const nonces = new NonceLedger();
  const state: { sessionSecondsOverride: number | undefined } = { sessionSecondsOverride: undefined };

  const issue = (role: RamRole, duration: number, name: string): StsSession =>
    cloud.issueSession(role, state.sessionSecondsOverride ?? duration, name);

  const assumeRoleWithOidc = (
    params: Map<string, string>,
    log: { -readonly [K in keyof StsCall]?: StsCall[K] },
  ): Record<string, unknown> => {
    const provider = cloud.oidcProviders.get(params.get("OIDCProviderArn") ?? "");
    if (!provider)
      throw new ApiFault("EntityNotExist.OIDCProvider", "The specified OIDC provider does not exist.", 404);
    const jwt = decodeJwt(params.get("OIDCToken") ?? "");
    const jwk = provider.jwks.keys.find((k) => k.kid === jwt.header.kid);
    if (jwt.header.alg !== "RS256" || !jwk)
      throw new ApiFault("AuthenticationFail.OIDCToken.InvalidKey", "no JWKS key for this token");
    const key = createPublicKey({ key: jwk, format: "jwk" });
    if (!createVerify("RSA-SHA256").update(jwt.input).verify(key, jwt.signature)) {
      throw new ApiFault(
        "AuthenticationFail.OIDCToken.InvalidSignature",
        "the OIDC token signature is invalid",
      );
    }
    const { iss, sub, aud, exp, nbf, iat } = jwt.claims as {
      iss?: string;
      sub?: string;
      aud?: string | string[];
      exp?: number;
      nbf?: number;
      iat?: number;
    };
    log.subject = sub;
    if (iss !== provider.issuerUrl)
      throw new ApiFault(
        "AuthenticationFail.OIDCToken.IssuerNotMatch",
        `issuer ${iss} does not match the provider`,
      );
    const audiences = Array.isArray(aud) ? aud : [aud];
    if (!audiences.some((a) => a !== undefined && provider.clientIds.includes(a))) {
      throw new ApiFault(
        "AuthenticationFail.OIDCToken.AudienceNotMatch",
        `audience ${audiences.join(",")} is not a client ID of the provider`,
      );
    }
    const now = Date.now() / 1000;
    if (typeof exp !== "number" || exp <= now)
      throw new ApiFault("AuthenticationFail.OIDCToken.Expired", "the OIDC token has expired");
    if (typeof nbf === "number" && nbf > now + 60)
      throw new ApiFault("AuthenticationFail.OIDCToken.NotYetValid", "nbf is in the future");
    const roleArn = params.get("RoleArn") ?? "";
    log.roleArn = roleArn;
    const role = cloud.role(roleArn);
    if (!role) throw new ApiFault("EntityNotExist.Role", "The specified Role not exists.", 404);
    const trust = role.trust.oidc;
    if (
      !trust ||
      trust.providerArn !== provider.arn ||
      trust.issuer !== iss ||
      !trust.subjects.includes(sub ?? "") ||
      !audiences.some((a) => a !== undefined && trust.audiences.includes(a))
    ) {
      throw new ApiFault(
        "NoPermission.RoleTrustPolicy",
        `role ${role.arn} does not trust ${sub} from ${provider.arn}`,
        403,
      );
    }
    const duration = durationOf(params, role);
    log.durationSeconds = duration;
    const session = issue(role, duration, params.get("RoleSessionName") ?? "oidc");
    return {
      ...credentialsOf(session),
      OIDCTokenInfo: {
        Subject: sub,
        Issuer: iss,
        ClientIds: audiences.join(","),
        IssuanceTime: iat ? isoSeconds(iat * 1000) : undefined,
        ExpirationTime: isoSeconds(exp * 1000),
      },
    };
  };

  const assumeRole = (
    req: EmulatorRequest,
    params: Map<string, string>,
    log: { -readonly [K in keyof StsCall]?: StsCall[K] },
  ): Record<string, unknown> => {
    const accessKeyId = verifyRpcV1(req, params, (k) => cloud.secretOf(k), nonces);
    const caller = cloud.caller(accessKeyId, params.get("SecurityToken"));
    if ("error" in caller) throw new ApiFault(caller.error, `caller ${accessKeyId}: ${caller.error}`, 403);
    log.caller = callerArn(caller);
    if (!callerActions(caller).has("sts:AssumeRole")) {
      throw new ApiFault("NoPermission", `${callerArn(caller)} is not allowed to call sts:AssumeRole`, 403);
    }
    const roleArn = params.get("RoleArn") ?? "";
    log.roleArn = roleArn;
    const role = cloud.role(roleArn);
    if (!role) throw new ApiFault("EntityNotExist.Role", "The specified Role not exists.", 404);
    const trusted = role.trust.principals ?? [];
    if (!trusted.includes(callerArn(caller)) && !trusted.includes(callerAccount(caller))) {
      throw new ApiFault(
        "NoPermission.RoleTrustPolicy",
        `role ${role.arn} does not trust ${callerArn(caller)}`,
        403,
      );
    }
    const duration = durationOf(params, role);
    log.durationSeconds = duration;
    return credentialsOf(issue(role, duration, params.get("RoleSessionName") ?? "session"));
  };

  const handle = (req: EmulatorRequest): EmulatorResponse => {
    const params = rpcParams(req);
    const action = params.get("Action") ?? "";
    const log: { -readonly [K in keyof StsCall]?: StsCall[K] } = { action };
    const requestId = randomUUID().toUpperCase();
    try {
      if (params.get("Version") !== "2015-04-01") throw invalidVersion();
      let body: Record<string, unknown>;
      if (action === "AssumeRoleWithOIDC") body = assumeRoleWithOidc(params, log);
      else if (action === "AssumeRole") body = assumeRole(req, params, log);
      else throw unknownAction(action);
      calls.push({ ...log, action, ok: true });
      return { status: 200, json: { RequestId: requestId, ...body } };
    } catch (err) {
      const { code, response } = faultAnswer(err, requestId, "sts.aliyuncs.com");
      calls.push({ ...log, action, ok: false, code });
      return response;
    }
  };

  const server = await startEmulatorServer(handle, { host, tls: ca });
  return {
    endpoint: server.endpoint,
    server,
    calls,
    get sessionSecondsOverride() {
      return state.sessionSecondsOverride;
    },
    set sessionSecondsOverride(v: number | undefined) {
      state.sessionSecondsOverride = v;
    },
    close: () => server.close(),
  };
}
