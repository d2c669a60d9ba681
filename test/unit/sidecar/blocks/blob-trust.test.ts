import { expect } from "chai";
import { BlobTrust, type VerifiedBlob } from "../../../../sidecar/blocks/blob-trust.ts";

/** A verified record of `blocks` blocks: 16 bytes of tag each, plus the 64 bytes a record is weighed at. */
function record(digest: string, blocks: number): VerifiedBlob {
  return { digest, size: blocks * 1024, blockSize: 1024, blockTags: Buffer.alloc(blocks * 16) };
}

describe("blob trust tables", () => {
  it("forgets the least recently used verified blob past its bytes, and never keeps one heavier than all", () => {
    const trust = new BlobTrust({ verifiedBytes: 3 * (16 + 64) });
    for (const digest of ["a", "b", "c"]) trust.markVerified(record(digest, 1));
    expect(trust.verified("a", 1024, 1024)).to.not.equal(undefined); // a is now the most recent
    trust.markVerified(record("d", 1));
    expect(["a", "b", "c", "d"].filter((d) => trust.verified(d, 1024, 1024))).to.deep.equal(["a", "c", "d"]);
    trust.markVerified(record("huge", 100));
    expect(trust.verified("huge", 100 * 1024, 1024)).to.equal(undefined);
    expect(trust.counts.verified).to.equal(3);
  });

  it("bounds the suspects, and a blob verified again is no longer one", () => {
    const trust = new BlobTrust({ maxSuspects: 2 });
    for (const digest of ["a", "b", "c"]) trust.markSuspect(digest);
    expect(["a", "b", "c"].filter((d) => trust.isSuspect(d))).to.deep.equal(["b", "c"]);
    trust.markVerified(record("b", 1));
    expect(trust.isSuspect("b")).to.equal(false);
    expect(trust.verified("b", 1024, 1024)?.digest).to.equal("b");
  });

  it("answers only for the geometry a blob was verified with", () => {
    const trust = new BlobTrust();
    trust.markVerified(record("a", 4));
    expect(trust.verified("a", 4 * 1024, 512)).to.equal(undefined);
    expect(trust.verified("a", 4 * 1024 + 1, 1024)).to.equal(undefined);
  });
});
