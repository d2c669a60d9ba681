/**
 * The test token server speaks both token flows and issues JWTs the real registry accepts
 * (and that carry exactly the access the user table grants).
 */
import { expect } from "chai";
import { X509Certificate, createVerify } from "node:crypto";
import { startOrigin, type Origin } from "../../support/origin/origin-stack.ts";
import { splitLayers } from "../../support/images/layers.ts";
import { pushImage, type PushedImage } from "../../support/images/push.ts";
import type { TokenClaims } from "../../support/origin/token-signer.ts";

interface Decoded {
  header: { alg: string; typ: string; x5c: string[] };
  claims: TokenClaims;
  valid: (certPem: string) => boolean;
}

function decode(token: string): Decoded {
  const [h, c, s] = token.split(".") as [string, string, string];
  return {
    header: JSON.parse(Buffer.from(h, "base64url").toString()),
    claims: JSON.parse(Buffer.from(c, "base64url").toString()),
    valid: (certPem) =>
      createVerify("RSA-SHA256")
        .update(`${h}.${c}`)
        .verify(new X509Certificate(certPem).publicKey, Buffer.from(s, "base64url")),
  };
}

describe("rig: token server", function () {
  let origin: Origin;
  let image: PushedImage;

  before(async function () {
    origin = await startOrigin({ lifetimeSec: 120 });
    image = await pushImage(origin.pushClient(), {
      repo: "team-a/app",
      tag: "v1",
      layers: splitLayers(64 * 1024, 1, "token-test"),
    });
  });
  after(async () => origin?.stop());

  const realm = () => origin.tokenServer!.realm;
  const service = () => origin.tokenServer!.service;

  it("answers an OAuth2 password grant (POST) with a signed RS256 JWT carrying x5c", async () => {
    const form = new URLSearchParams({
      grant_type: "password",
      username: "alice",
      password: "alice-pw",
      service: service(),
      scope: "repository:team-a/app:pull,push",
      client_id: "test",
    });
    const res = await fetch(realm(), { method: "POST", body: form });
    expect(res.status).to.equal(200);
    const body = (await res.json()) as { access_token: string; expires_in: number };
    expect(body.expires_in).to.equal(120);
    const jwt = decode(body.access_token);
    expect(jwt.header).to.include({ alg: "RS256", typ: "JWT" });
    expect(jwt.header.x5c).to.have.length(1);
    expect(jwt.valid(origin.tokenServer!.certPem)).to.equal(true);
    const now = Math.floor(Date.now() / 1000);
    expect(jwt.claims).to.include({ iss: origin.tokenServer!.issuer, sub: "alice", aud: service() });
    expect(jwt.claims.exp - now).to.be.within(118, 121);
    expect(jwt.claims.nbf).to.be.at.most(now);
    expect(jwt.claims.jti).to.be.a("string").with.length.above(8);
    // alice may pull team-a/*, not push: the grant is the intersection.
    expect(jwt.claims.access).to.deep.equal([{ type: "repository", name: "team-a/app", actions: ["pull"] }]);
  });

  it("answers GET with Basic auth, and refuses a wrong password with 401", async () => {
    const url = `${realm()}?service=${service()}&scope=repository:team-a/app:pull&scope=repository:team-b/x:pull`;
    const basic = (u: string, p: string) => ({
      authorization: `Basic ${Buffer.from(`${u}:${p}`).toString("base64")}`,
    });
    const ok = await fetch(url, { headers: basic("alice", "alice-pw") });
    expect(ok.status).to.equal(200);
    const { token } = (await ok.json()) as { token: string };
    expect(decode(token).claims.access).to.deep.equal([
      { type: "repository", name: "team-a/app", actions: ["pull"] },
    ]);
    const bad = await fetch(url, { headers: basic("alice", "nope") });
    expect(bad.status).to.equal(401);
    const unknown = await fetch(url, { headers: basic("mallory", "x") });
    expect(unknown.status).to.equal(401);
  });

  it("gives anonymous callers a token with empty access", async () => {
    const res = await fetch(`${realm()}?service=${service()}&scope=repository:team-a/app:pull`);
    expect(res.status).to.equal(200);
    const { token } = (await res.json()) as { token: string };
    expect(decode(token).claims.access).to.deep.equal([]);
  });

  it("counts requests by method", async () => {
    const before = { ...origin.tokenServer!.counts };
    await fetch(`${realm()}?service=${service()}`);
    await fetch(realm(), { method: "POST", body: new URLSearchParams({ grant_type: "refresh_token" }) });
    expect(origin.tokenServer!.counts.get).to.equal(before.get + 1);
    expect(origin.tokenServer!.counts.post).to.equal(before.post + 1);
  });

  it("issues tokens the registry accepts for granted repositories only", async () => {
    const alice = origin.pushClient("alice");
    const ok = await alice.get("team-a/app", "manifests/v1", {
      headers: { accept: image.manifest.mediaType },
    });
    expect(ok.status).to.equal(200);
    expect(ok.body.equals(image.manifest.bytes)).to.equal(true);
    const bob = origin.pushClient("bob");
    const denied = await bob.get("team-a/app", "manifests/v1");
    expect(denied.status).to.equal(401);
    expect(denied.body.toString()).to.match(/insufficient_scope|UNAUTHORIZED/i);
    const anonymous = origin.pushClient("nobody");
    expect((await anonymous.get("team-a/app", "manifests/v1")).status).to.equal(401);
  });
});
