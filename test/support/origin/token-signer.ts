/**
 * Signs registry tokens the way the distribution registry (v2.8) verifies them:
 * an RS256 JWT whose header carries the signing certificate in `x5c`; that self-signed certificate
 * is the registry's `auth.token.rootcertbundle`.
 *
 *   createTokenSigner({issuer, commonName?}) -> TokenSigner
 *   signer.sign(claims) -> string          compact JWT
 *   signer.certPem                         write this as the registry's rootcertbundle
 */
import { createSign, generateKeyPairSync, randomBytes } from "node:crypto";
import forge from "node-forge";

export interface AccessEntry {
  type: "repository";
  name: string;
  actions: string[];
}

export interface TokenClaims {
  iss: string;
  sub: string;
  aud: string;
  exp: number;
  nbf: number;
  iat: number;
  jti: string;
  access: AccessEntry[];
}

export interface TokenSigner {
  readonly certPem: string;
  sign(claims: TokenClaims): string;
}

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString("base64url");
}

export function createTokenSigner(opts: { commonName?: string } = {}): TokenSigner {
  // node:crypto generates the key (forge's pure-JS RSA keygen takes seconds); forge makes the cert.
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: "spki", format: "pem" }).toString());
  // A positive serial: Go's x509 parser rejects negative ones.
  cert.serialNumber = "01" + randomBytes(8).toString("hex");
  const now = Date.now();
  cert.validity.notBefore = new Date(now - 3600_000);
  cert.validity.notAfter = new Date(now + 7 * 24 * 3600_000);
  const attrs = [{ name: "commonName", value: opts.commonName ?? "acr-p2p test token signer" }];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.setExtensions([
    { name: "basicConstraints", cA: true },
    { name: "keyUsage", digitalSignature: true, keyCertSign: true },
  ]);
  const forgeKey = forge.pki.privateKeyFromPem(
    privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
  );
  cert.sign(forgeKey, forge.md.sha256.create());
  const certPem = forge.pki.certificateToPem(cert);
  const certDerB64 = forge.util.encode64(forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes());
  const header = b64url(JSON.stringify({ typ: "JWT", alg: "RS256", x5c: [certDerB64] }));

  return {
    certPem,
    sign(claims: TokenClaims): string {
      const input = `${header}.${b64url(JSON.stringify(claims))}`;
      const signature = createSign("RSA-SHA256").update(input).sign(privateKey);
      return `${input}.${b64url(signature)}`;
    },
  };
}
