import { expect } from "chai";
import { parseRangeHeader, resolveRange } from "../../../../sidecar/registry/byte-range.ts";
import { OciError } from "../../../../sidecar/registry/oci-error.ts";

describe("byte ranges", () => {
  it("parses the three single-range forms and ignores other units", () => {
    expect(parseRangeHeader(undefined)).to.equal(undefined);
    expect(parseRangeHeader("items=1-2")).to.equal(undefined);
    expect(parseRangeHeader("bytes=5-")).to.deep.equal({ kind: "from", start: 5 });
    expect(parseRangeHeader("bytes=-7")).to.deep.equal({ kind: "suffix", length: 7 });
    expect(parseRangeHeader("bytes=0-0")).to.deep.equal({ kind: "from", start: 0, end: 0 });
  });

  it("ignores what it does not serve: several ranges, malformed or backwards ones", () => {
    for (const h of ["bytes=0-9,20-29", "bytes=x-", "bytes=-", "bytes=9-3", "bytes=1-2-3", "bytes=0x1-"]) {
      expect(parseRangeHeader(h), h).to.equal(undefined);
    }
  });

  it("reads positions past any blob as unsatisfiable (start) or as the end (end, suffix)", () => {
    const huge = "9".repeat(30);
    expect(() => resolveRange(parseRangeHeader(`bytes=${huge}-`)!, 10)).to.throw(OciError);
    expect(resolveRange(parseRangeHeader(`bytes=2-${huge}`)!, 10)).to.deep.equal({ start: 2, end: 9 });
    expect(resolveRange(parseRangeHeader(`bytes=-${huge}`)!, 10)).to.deep.equal({ start: 0, end: 9 });
  });

  it("resolves against the size, clamping the end", () => {
    expect(resolveRange({ kind: "from", start: 5 }, 10)).to.deep.equal({ start: 5, end: 9 });
    expect(resolveRange({ kind: "from", start: 5, end: 100 }, 10)).to.deep.equal({ start: 5, end: 9 });
    expect(resolveRange({ kind: "suffix", length: 3 }, 10)).to.deep.equal({ start: 7, end: 9 });
    expect(resolveRange({ kind: "suffix", length: 30 }, 10)).to.deep.equal({ start: 0, end: 9 });
  });

  it("answers an unsatisfiable range with 416 and Content-Range bytes */size", () => {
    for (const spec of [{ kind: "from", start: 10 } as const, { kind: "suffix", length: 0 } as const]) {
      try {
        resolveRange(spec, 10);
        expect.fail("should throw");
      } catch (err) {
        expect(err).to.be.instanceOf(OciError);
        expect((err as OciError).status).to.equal(416);
        expect((err as OciError).headers["content-range"]).to.equal("bytes */10");
      }
    }
  });
});
