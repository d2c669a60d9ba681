/**
 * The emulators' signature checks must refuse what the real services refuse, or the integration
 * tests prove nothing. Signed here by openapi-core's own v3 signer (OpenApiUtil.getAuthorization).
 */
import openApiModule from "@alicloud/openapi-core";
import { expect } from "chai";
import { createHash } from "node:crypto";
import type { EmulatorRequest } from "../../../support/cloud/emulator-server.ts";
import { NonceLedger, SignatureCheckError, verifyAcs3 } from "../../../support/cloud/signatures.ts";

const { OpenApiUtil } = openApiModule;
const SECRET = "s3cr3t";

function signedRequest(body = "", overrides: Record<string, string> = {}): EmulatorRequest {
  const headers: Record<string, string> = {
    host: "127.0.0.1:8443",
    "x-acs-action": "ListInstanceEndpoint",
    "x-acs-version": "2018-12-01",
    "x-acs-date": OpenApiUtil.getTimestamp(),
    "x-acs-signature-nonce": OpenApiUtil.getNonce(),
    "x-acs-content-sha256": createHash("sha256").update(body).digest("hex"),
    "x-acs-security-token": "CAIStoken",
    accept: "application/json",
  };
  const query = { InstanceId: "cri-abc", ModuleName: "Registry" };
  const payload = headers["x-acs-content-sha256"]!;
  headers.authorization = OpenApiUtil.getAuthorization(
    { pathname: "/", method: "POST", query, headers } as never,
    "ACS3-HMAC-SHA256",
    payload,
    "STS.key",
    SECRET,
  );
  Object.assign(headers, overrides);
  return {
    method: "POST",
    path: "/",
    query: new URLSearchParams(query),
    rawQuery: "",
    headers,
    body: Buffer.from(body),
  };
}

function refusal(req: EmulatorRequest, nonces = new NonceLedger(), secret = SECRET): string {
  try {
    verifyAcs3(req, () => secret, nonces);
  } catch (err) {
    expect(err).to.be.instanceOf(SignatureCheckError);
    return (err as SignatureCheckError).apiCode;
  }
  return "accepted";
}

describe("ACS3-HMAC-SHA256 check of the CR emulator", () => {
  it("accepts openapi-core's signature", () => {
    expect(verifyAcs3(signedRequest(), () => SECRET, new NonceLedger())).to.equal("STS.key");
  });

  it("refuses a wrong secret, a changed parameter or header, and a replayed nonce", () => {
    expect(refusal(signedRequest(), new NonceLedger(), "other")).to.equal("SignatureDoesNotMatch");
    const tamperedQuery = signedRequest();
    tamperedQuery.query.set("InstanceId", "cri-other");
    expect(refusal(tamperedQuery)).to.equal("SignatureDoesNotMatch");
    expect(refusal(signedRequest("", { "x-acs-action": "GetAuthorizationToken" }))).to.equal(
      "SignatureDoesNotMatch",
    );
    expect(refusal(signedRequest("", { "x-acs-security-token": "CAISother" }))).to.equal(
      "SignatureDoesNotMatch",
    );
    const nonces = new NonceLedger();
    const once = signedRequest();
    expect(refusal(once, nonces)).to.equal("accepted");
    expect(refusal(once, nonces)).to.equal("SignatureNonceUsed");
  });

  it("refuses a body that does not match its hash, and a stale date", () => {
    const req = signedRequest();
    expect(refusal({ ...req, body: Buffer.from("InstanceId=cri-other") })).to.equal("ContentSHA256NotMatch");
    expect(refusal(signedRequest("", { "x-acs-date": "2020-01-01T00:00:00Z" }))).to.equal(
      "InvalidTimeStamp.Expired",
    );
  });
});
