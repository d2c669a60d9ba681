import { expect } from "chai";
import { Quarantine } from "../../../../sidecar/peer/quarantine.ts";

describe("peer quarantine", () => {
  it("keeps a failed peer out for a while, longer for repeat offenders, up to the cap", () => {
    let t = 0;
    const q = new Quarantine({ baseMs: 1000, maxMs: 4000, now: () => t });
    q.add("p", "PEER_TIMEOUT");
    expect(q.has("p")).to.equal(true);
    expect(q.has("other")).to.equal(false);
    t = 1000;
    expect(q.has("p")).to.equal(false);
    q.add("p", "PEER_TIMEOUT"); // second strike: 2 s
    t = 2500;
    expect(q.has("p")).to.equal(true);
    t = 3000;
    expect(q.has("p")).to.equal(false);
    q.add("p", "DIGEST_MISMATCH", 4); // capped at 4 s
    expect(q.list()).to.deep.equal([{ peer: "p", reason: "DIGEST_MISMATCH", remainingMs: 4000 }]);
  });

  it("forgives a peer that serves well after its quarantine ended", () => {
    let t = 0;
    const q = new Quarantine({ baseMs: 1000, maxMs: 60_000, now: () => t });
    q.add("p", "x");
    q.add("p", "x");
    q.forgive("p"); // still quarantined: not forgiven
    expect(q.has("p")).to.equal(true);
    t = 2000;
    q.forgive("p");
    q.add("p", "x"); // strikes reset: back to the base period
    t = 3001;
    expect(q.has("p")).to.equal(false);
  });
});
