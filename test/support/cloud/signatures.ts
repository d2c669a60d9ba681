/**
 * Server-side checks of the two request signatures the product's SDKs produce, written from the
 * public specifications (not from the SDK code), so a client that signs wrongly is refused:
 *
 * - RPC signature v1, HMAC-SHA1: what @alicloud/credentials sends to STS AssumeRole. All parameters
 *   (query and form body) but Signature, sorted, percent-encoded per RFC 3986, joined with `&`;
 *   StringToSign = METHOD & %2F & encode(that); key = AccessKeySecret + "&"; base64.
 * - ACS3-HMAC-SHA256 (signature v3): what @alicloud/openapi-core's generic call sends to the CR API.
 *   CanonicalRequest = METHOD \n URI \n sorted encoded query \n signed headers (name:value\n) \n
 *   signed header names \n hex sha256(body); StringToSign = "ACS3-HMAC-SHA256\n" + hex sha256(it);
 *   key = AccessKeySecret; hex. The payload hash header must match the body.
 *
 * Both also enforce the replay rules of the real services: a timestamp within 15 minutes of the
 * server's clock and a nonce never seen before.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { EmulatorRequest } from "./emulator-server.ts";

export class SignatureCheckError extends Error {
  readonly apiCode: string;
  readonly status: number;

  constructor(apiCode: string, message: string, status = 400) {
    super(message);
    this.apiCode = apiCode;
    this.status = status;
  }
}

/** RFC 3986 percent-encoding as the Alibaba Cloud specs define it (unreserved: A-Z a-z 0-9 - _ . ~). */
export function percentEncode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

const MAX_SKEW_MS = 15 * 60_000;

export class NonceLedger {
  readonly #seen = new Set<string>();

  use(nonce: string | undefined): void {
    if (!nonce) throw new SignatureCheckError("MissingSignatureNonce", "SignatureNonce is required");
    if (this.#seen.has(nonce))
      throw new SignatureCheckError("SignatureNonceUsed", `nonce ${nonce} was already used`);
    this.#seen.add(nonce);
  }
}

function checkTime(iso: string | undefined, name: string): void {
  if (!iso || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(iso)) {
    throw new SignatureCheckError(`Missing${name}`, `${name} must be YYYY-MM-DDThh:mm:ssZ, got ${iso}`);
  }
  if (Math.abs(Date.parse(iso) - Date.now()) > MAX_SKEW_MS) {
    throw new SignatureCheckError("InvalidTimeStamp.Expired", `${name} ${iso} is more than 15 minutes off`);
  }
}

function sameString(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** All RPC parameters: the query plus an urlencoded form body. */
export function rpcParams(req: EmulatorRequest): Map<string, string> {
  const params = new Map<string, string>(req.query);
  const type = String(req.headers["content-type"] ?? "");
  if (req.body.length > 0 && type.startsWith("application/x-www-form-urlencoded")) {
    for (const [k, v] of new URLSearchParams(req.body.toString("utf8"))) params.set(k, v);
  }
  return params;
}

/** Verifies an RPC v1 HMAC-SHA1 signature; returns the AccessKeyId it was made with. */
export function verifyRpcV1(
  req: EmulatorRequest,
  params: Map<string, string>,
  secretOf: (accessKeyId: string) => string | undefined,
  nonces: NonceLedger,
): string {
  if (params.get("SignatureMethod") !== "HMAC-SHA1" || params.get("SignatureVersion") !== "1.0") {
    throw new SignatureCheckError(
      "InvalidSignatureMethod",
      "expected SignatureMethod HMAC-SHA1, SignatureVersion 1.0",
    );
  }
  const accessKeyId = params.get("AccessKeyId") ?? "";
  const secret = secretOf(accessKeyId);
  if (secret === undefined)
    throw new SignatureCheckError("InvalidAccessKeyId.NotFound", "Specified access key is not found.", 404);
  checkTime(params.get("Timestamp"), "Timestamp");
  const canonical = [...params.keys()]
    .filter((k) => k !== "Signature")
    .sort()
    .map((k) => `${percentEncode(k)}=${percentEncode(params.get(k)!)}`)
    .join("&");
  const stringToSign = `${req.method}&${percentEncode("/")}&${percentEncode(canonical)}`;
  const expected = createHmac("sha1", `${secret}&`).update(stringToSign).digest("base64");
  if (!sameString(expected, params.get("Signature") ?? "")) {
    throw new SignatureCheckError(
      "SignatureDoesNotMatch",
      `Specified signature is not matched with our calculation. server string to sign is:${stringToSign}`,
    );
  }
  nonces.use(params.get("SignatureNonce"));
  return accessKeyId;
}

const REQUIRED_V3_HEADERS = [
  "host",
  "x-acs-action",
  "x-acs-version",
  "x-acs-date",
  "x-acs-signature-nonce",
  "x-acs-content-sha256",
];

/** Verifies an ACS3-HMAC-SHA256 signature; returns the AccessKeyId it was made with. */
export function verifyAcs3(
  req: EmulatorRequest,
  secretOf: (accessKeyId: string) => string | undefined,
  nonces: NonceLedger,
): string {
  const auth = String(req.headers["authorization"] ?? "");
  const m = /^ACS3-HMAC-SHA256 Credential=([^,]+),SignedHeaders=([^,]+),Signature=([0-9a-f]+)$/.exec(auth);
  if (!m)
    throw new SignatureCheckError(
      "IncompleteSignature",
      `Authorization is not ACS3-HMAC-SHA256: ${auth.slice(0, 40)}`,
    );
  const [, accessKeyId, signedList, signature] = m as unknown as [string, string, string, string];
  const secret = secretOf(accessKeyId);
  if (secret === undefined)
    throw new SignatureCheckError("InvalidAccessKeyId.NotFound", "Specified access key is not found.", 404);
  const signed = signedList.split(";");
  const mustSign = [
    ...REQUIRED_V3_HEADERS,
    ...(req.headers["x-acs-security-token"] ? ["x-acs-security-token"] : []),
  ];
  for (const h of mustSign) {
    if (!signed.includes(h))
      throw new SignatureCheckError("IncompleteSignature", `header ${h} must be signed`);
  }
  if ([...signed].sort().join(";") !== signedList)
    throw new SignatureCheckError("IncompleteSignature", "SignedHeaders not sorted");
  const bodyHash = createHash("sha256").update(req.body).digest("hex");
  if (req.headers["x-acs-content-sha256"] !== bodyHash) {
    throw new SignatureCheckError("ContentSHA256NotMatch", "x-acs-content-sha256 does not match the body");
  }
  checkTime(String(req.headers["x-acs-date"] ?? ""), "x-acs-date");
  const canonicalQuery = [...req.query.keys()]
    .sort()
    .map((k) => `${percentEncode(k)}=${percentEncode(req.query.get(k)!)}`)
    .join("&");
  const canonicalHeaders = signed.map((h) => `${h}:${String(req.headers[h] ?? "").trim()}\n`).join("");
  const canonicalRequest = [
    req.method,
    req.path,
    canonicalQuery,
    canonicalHeaders,
    signedList,
    bodyHash,
  ].join("\n");
  const stringToSign = `ACS3-HMAC-SHA256\n${createHash("sha256").update(canonicalRequest).digest("hex")}`;
  const expected = createHmac("sha256", secret).update(stringToSign).digest("hex");
  if (!sameString(expected, signature)) {
    throw new SignatureCheckError(
      "SignatureDoesNotMatch",
      `The request signature does not conform to Aliyun standards. server string to sign is:${stringToSign}`,
    );
  }
  nonces.use(String(req.headers["x-acs-signature-nonce"] ?? ""));
  return accessKeyId;
}
