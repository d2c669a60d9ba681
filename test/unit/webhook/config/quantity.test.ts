/** Kubernetes quantities as the webhook reads and writes them. */
import { expect } from "chai";
import { formatBytes, parseByteQuantity, parseQuantity } from "../../../../webhook/config/quantity.ts";

describe("quantities", () => {
  const bytes: [string, number | undefined][] = [
    ["512Mi", 512 * 2 ** 20],
    ["1Gi", 2 ** 30],
    ["1.5Gi", 1.5 * 2 ** 30],
    ["1G", 1e9],
    ["100", 100],
    ["1e3", 1000],
    ["0.5", undefined],
    ["lots", undefined],
    ["-1Gi", undefined],
    ["1GiB", undefined],
    ["", undefined],
  ];
  for (const [text, value] of bytes) {
    it(`${JSON.stringify(text)} is ${value ?? "not"} bytes`, () => {
      expect(parseByteQuantity(text)).to.equal(value);
    });
  }

  it("reads CPU quantities", () => {
    expect(parseQuantity("50m")).to.equal(0.05);
    expect(parseQuantity("2")).to.equal(2);
  });

  it("writes bytes in the largest exact binary unit", () => {
    expect(formatBytes(672 * 2 ** 20)).to.equal("672Mi");
    expect(formatBytes(2 ** 30)).to.equal("1Gi");
    expect(formatBytes(1000)).to.equal("1000");
    expect(formatBytes(1536 * 2 ** 20)).to.equal("1536Mi");
  });
});
