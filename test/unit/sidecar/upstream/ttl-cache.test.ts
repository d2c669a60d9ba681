import { expect } from "chai";
import { TtlCache } from "../../../../sidecar/upstream/ttl-cache.ts";
import { RepoAuthorizer } from "../../../../sidecar/upstream/repo-authorizer.ts";
import { credentialFromHeader, ANONYMOUS } from "../../../../sidecar/upstream/client-credential.ts";

describe("TtlCache", () => {
  it("expires entries and evicts the least recently used past its bound", () => {
    let now = 1000;
    const cache = new TtlCache<number>(2, () => now);
    cache.set("a", 1, 100);
    cache.set("b", 2, 100);
    expect(cache.get("a")).to.equal(1); // a is now the most recent
    cache.set("c", 3, 100);
    expect(cache.get("b")).to.equal(undefined);
    expect(cache.size).to.equal(2);
    now += 100;
    expect(cache.get("a")).to.equal(undefined);
    cache.set("d", 4, 0);
    expect(cache.get("d")).to.equal(undefined);
  });
});

describe("RepoAuthorizer", () => {
  it("keeps a proof per (credential, host, repository) until it expires", () => {
    let now = 0;
    const auth = new RepoAuthorizer(100, () => now);
    const alice = credentialFromHeader(`Basic ${Buffer.from("alice:pw").toString("base64")}`)!;
    const bob = credentialFromHeader(`Basic ${Buffer.from("bob:pw").toString("base64")}`)!;
    auth.record(alice, "r.io", "team-a/app", 60_000);
    expect(auth.isProven(alice, "r.io", "team-a/app")).to.equal(true);
    expect(auth.isProven(bob, "r.io", "team-a/app")).to.equal(false);
    expect(auth.isProven(alice, "r.io", "team-b/app")).to.equal(false);
    expect(auth.isProven(alice, "other.io", "team-a/app")).to.equal(false);
    expect(auth.isProven(ANONYMOUS, "r.io", "team-a/app")).to.equal(false);
    now = 60_000;
    expect(auth.isProven(alice, "r.io", "team-a/app")).to.equal(false);
  });

  it("derives credential ids from a hash, never the secret", () => {
    const header = `Basic ${Buffer.from("alice:secret-pw").toString("base64")}`;
    const c = credentialFromHeader(header)!;
    expect(c.id).to.match(/^[0-9a-f]{32}$/);
    expect(c.id).not.to.contain("secret");
    expect(credentialFromHeader("Bearer abc")).to.equal(undefined);
    expect(credentialFromHeader(`Basic ${Buffer.from("nocolon").toString("base64")}`)).to.equal(undefined);
    expect(credentialFromHeader(undefined)).to.equal(ANONYMOUS);
  });
});
