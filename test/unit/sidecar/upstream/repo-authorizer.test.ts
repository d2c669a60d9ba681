import { expect } from "chai";
import { RepoAuthorizer } from "../../../../sidecar/upstream/repo-authorizer.ts";
import { credentialFromHeader, ANONYMOUS } from "../../../../sidecar/upstream/client-credential.ts";

describe("RepoAuthorizer", () => {
  it("keeps a proof per (credential, host, repository) until it expires", () => {
    let now = 1_000;
    const auth = new RepoAuthorizer(100, () => now);
    const alice = credentialFromHeader(`Basic ${Buffer.from("alice:pw").toString("base64")}`)!;
    const bob = credentialFromHeader(`Basic ${Buffer.from("bob:pw").toString("base64")}`)!;
    auth.record(alice, "r.io", "team-a/app", 61_000);
    expect(auth.isProven(alice, "r.io", "team-a/app")).to.equal(true);
    expect(auth.isProven(bob, "r.io", "team-a/app")).to.equal(false);
    expect(auth.isProven(alice, "r.io", "team-b/app")).to.equal(false);
    expect(auth.isProven(alice, "other.io", "team-a/app")).to.equal(false);
    expect(auth.isProven(ANONYMOUS, "r.io", "team-a/app")).to.equal(false);
    now = 61_000;
    expect(auth.isProven(alice, "r.io", "team-a/app")).to.equal(true);
    now = 61_001;
    expect(auth.isProven(alice, "r.io", "team-a/app")).to.equal(false);
    auth.record(alice, "r.io", "team-a/app", now);
    expect(auth.isProven(alice, "r.io", "team-a/app"), "a proof already expired is not kept").to.equal(false);
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
