/**
 * The state the cloud emulators share: RAM users (AccessKey pairs), RAM roles (trust policy, maximum
 * session duration, permitted actions), OIDC providers (issuer, client IDs, JWKS), the STS sessions
 * handed out, and ACR instances. STS issues sessions into it; the CR API and the metadata service
 * authenticate callers against it, so a credential works exactly where the real cloud would accept it.
 * Time is `Date.now()`, so a test that moves the JS clock moves the cloud's too.
 */
import { randomBytes } from "node:crypto";
import type { JsonWebKeySet } from "./oidc-issuer.ts";

export interface RamUser {
  readonly accountId: string;
  readonly name: string;
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  readonly actions: ReadonlySet<string>;
}

export interface RoleTrust {
  /** AssumeRoleWithOIDC: the provider, and the `oidc:sub` / `oidc:aud` / `oidc:iss` values allowed. */
  readonly oidc?: {
    readonly providerArn: string;
    readonly subjects: readonly string[];
    readonly audiences: readonly string[];
    readonly issuer: string;
  };
  /** AssumeRole: role ARNs or account IDs ("acs:ram::<id>:root" style is written as the bare ID) trusted. */
  readonly principals?: readonly string[];
}

export interface RamRole {
  readonly arn: string;
  readonly accountId: string;
  readonly maxSessionDuration: number;
  readonly trust: RoleTrust;
  readonly actions: ReadonlySet<string>;
}

export interface OidcProvider {
  readonly arn: string;
  readonly issuerUrl: string;
  readonly clientIds: readonly string[];
  readonly jwks: JsonWebKeySet;
}

export interface StsSession {
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  readonly securityToken: string;
  readonly expirationMs: number;
  readonly role: RamRole;
  readonly sessionName: string;
}

export interface AcrInstance {
  readonly id: string;
  readonly accountId: string;
  readonly region: string;
  readonly name: string;
  readonly linkedVpcIds: string[];
  internetEnabled: boolean;
  /** The internet endpoint's domain, when a test points it at a real registry (e.g. 127.0.0.1:PORT). */
  internetDomainOverride?: string;
}

/** Who signed a request: a RAM user or a role session. */
export type Caller =
  | { readonly kind: "user"; readonly user: RamUser }
  | { readonly kind: "session"; readonly session: StsSession };

export function callerAccount(c: Caller): string {
  return c.kind === "user" ? c.user.accountId : c.session.role.accountId;
}

export function callerActions(c: Caller): ReadonlySet<string> {
  return c.kind === "user" ? c.user.actions : c.session.role.actions;
}

export function callerArn(c: Caller): string {
  return c.kind === "user" ? `acs:ram::${c.user.accountId}:user/${c.user.name}` : c.session.role.arn;
}

function id(prefix: string, bytes = 12): string {
  return `${prefix}${randomBytes(bytes).toString("hex")}`;
}

export class FakeCloud {
  readonly users = new Map<string, RamUser>();
  readonly roles = new Map<string, RamRole>();
  readonly oidcProviders = new Map<string, OidcProvider>();
  readonly sessions = new Map<string, StsSession>();
  readonly instances = new Map<string, AcrInstance>();

  addUser(accountId: string, name: string, actions: Iterable<string>): RamUser {
    const user = {
      accountId,
      name,
      accessKeyId: id("LTAI", 8),
      accessKeySecret: id("", 15),
      actions: new Set(actions),
    };
    this.users.set(user.accessKeyId, user);
    return user;
  }

  addRole(
    accountId: string,
    name: string,
    options: { trust: RoleTrust; actions: Iterable<string>; maxSessionDuration?: number },
  ): RamRole {
    const role: RamRole = {
      arn: `acs:ram::${accountId}:role/${name}`,
      accountId,
      maxSessionDuration: options.maxSessionDuration ?? 3600,
      trust: options.trust,
      actions: new Set(options.actions),
    };
    this.roles.set(role.arn.toLowerCase(), role);
    return role;
  }

  addOidcProvider(accountId: string, name: string, issuerUrl: string, jwks: JsonWebKeySet): OidcProvider {
    const provider = {
      arn: `acs:ram::${accountId}:oidc-provider/${name}`,
      issuerUrl,
      clientIds: ["sts.aliyuncs.com"],
      jwks,
    };
    this.oidcProviders.set(provider.arn, provider);
    return provider;
  }

  addInstance(accountId: string, region: string, name: string, linkedVpcIds: string[]): AcrInstance {
    const instance = { id: id("cri-", 8), accountId, region, name, linkedVpcIds, internetEnabled: true };
    this.instances.set(instance.id, instance);
    return instance;
  }

  role(arn: string): RamRole | undefined {
    return this.roles.get(arn.toLowerCase());
  }

  issueSession(role: RamRole, durationSeconds: number, sessionName: string): StsSession {
    const session: StsSession = {
      accessKeyId: id("STS.", 10),
      accessKeySecret: id("", 15),
      securityToken: `CAIS${randomBytes(48).toString("base64url")}`,
      expirationMs: Date.now() + durationSeconds * 1000,
      role,
      sessionName,
    };
    this.sessions.set(session.accessKeyId, session);
    return session;
  }

  /** The secret behind an AccessKeyId (user or session), for signature checks. */
  secretOf(accessKeyId: string): string | undefined {
    return this.users.get(accessKeyId)?.accessKeySecret ?? this.sessions.get(accessKeyId)?.accessKeySecret;
  }

  /**
   * The caller behind a verified AccessKeyId. A session also needs its security token, unexpired:
   * otherwise the error code the real services return.
   */
  caller(accessKeyId: string, securityToken: string | undefined): Caller | { error: string } {
    const user = this.users.get(accessKeyId);
    if (user) return { kind: "user", user };
    const session = this.sessions.get(accessKeyId);
    if (!session) return { error: "InvalidAccessKeyId.NotFound" };
    if (!securityToken) return { error: "InvalidSecurityToken.Missing" };
    if (securityToken !== session.securityToken)
      return { error: "InvalidSecurityToken.MismatchWithAccessKey" };
    if (Date.now() >= session.expirationMs) return { error: "InvalidSecurityToken.Expired" };
    return { kind: "session", session };
  }
}

/** `2026-11-27T21:48:22Z`: the Expiration format of STS and the metadata service. */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}
