/**
 * A ServiceAccount token issuer for RRSA tests: RS256 JWTs shaped like the kube-apiserver's projected
 * tokens (iss, sub system:serviceaccount:<ns>:<name>, aud, iat, nbf, exp, kubernetes.io claims), and
 * the JWKS that the STS emulator verifies them against (as RAM does with the cluster's OIDC provider).
 * The cluster tier can hand the emulator a real TokenRequest token and the apiserver's JWKS instead.
 *
 *   createOidcIssuer(issuerUrl) -> OidcIssuer
 *   issuer.token({namespace, serviceAccount, audience?, ttlSeconds?, nowSeconds?}) -> compact JWT
 *   issuer.jwks                                              {keys: [JWK with kid, alg RS256, use sig]}
 */
import { createSign, generateKeyPairSync, randomUUID, type KeyObject, type webcrypto } from "node:crypto";

export interface JsonWebKeySet {
  readonly keys: readonly (webcrypto.JsonWebKey & { kid: string; alg: string; use: string })[];
}

export interface TokenRequest {
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly audience?: string;
  readonly ttlSeconds?: number;
  readonly nowSeconds?: number;
}

export interface OidcIssuer {
  readonly issuerUrl: string;
  readonly jwks: JsonWebKeySet;
  token(request: TokenRequest): string;
  /** Signs arbitrary claims with this issuer's key (for negative tests: wrong iss, aud, exp...). */
  sign(claims: Record<string, unknown>): string;
}

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString("base64url");
}

export function signJwt(privateKey: KeyObject, kid: string, claims: Record<string, unknown>): string {
  const input = `${b64url(JSON.stringify({ alg: "RS256", kid }))}.${b64url(JSON.stringify(claims))}`;
  return `${input}.${b64url(createSign("RSA-SHA256").update(input).sign(privateKey))}`;
}

export function createOidcIssuer(issuerUrl: string): OidcIssuer {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const kid = randomUUID();
  const jwk = publicKey.export({ format: "jwk" });
  const jwks: JsonWebKeySet = { keys: [{ ...jwk, kid, alg: "RS256", use: "sig" }] };
  const sign = (claims: Record<string, unknown>): string => signJwt(privateKey, kid, claims);
  return {
    issuerUrl,
    jwks,
    sign,
    token(r: TokenRequest): string {
      const now = r.nowSeconds ?? Math.floor(Date.now() / 1000);
      return sign({
        aud: [r.audience ?? "sts.aliyuncs.com"],
        exp: now + (r.ttlSeconds ?? 3600),
        iat: now,
        nbf: now,
        iss: issuerUrl,
        jti: randomUUID(),
        sub: `system:serviceaccount:${r.namespace}:${r.serviceAccount}`,
        "kubernetes.io": {
          namespace: r.namespace,
          serviceaccount: { name: r.serviceAccount, uid: randomUUID() },
        },
      });
    },
  };
}
