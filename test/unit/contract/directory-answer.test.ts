/** The directory's answer as the sidecar reads it: refused without what it needs, lenient otherwise. */
import { expect } from "chai";
import { MalformedDirectoryAnswer, parseDirectoryAnswer } from "../../../contract/directory-answer.ts";

const KEY = { kid: "k1", publicKeyPem: "-----BEGIN PUBLIC KEY-----\n...\n-----END PUBLIC KEY-----\n" };
const ANSWER = {
  group: "apps",
  zone: "zone-a",
  etag: "e1",
  peers: ["10.0.0.1:65002", "[fd00::1]:65002"],
  starting: 2,
  ticket: "t.sig",
  ticketExpiresAt: 1_800_000_000,
  keys: [KEY],
};

describe("the directory answer (contract/directory-answer.ts)", () => {
  it("reads a whole answer as written", () => {
    expect(parseDirectoryAnswer(structuredClone(ANSWER))).to.deep.equal(ANSWER);
  });

  const refusals: [string, unknown, RegExp][] = [
    ["null", null, /not an object/],
    ["a string", "peers", /not an object/],
    ["no group", { ...ANSWER, group: undefined }, /group is not a string/],
    ["a numeric etag", { ...ANSWER, etag: 7 }, /etag is not a string/],
    ["no ticket", { ...ANSWER, ticket: undefined }, /ticket is not a string/],
    ["a textual expiry", { ...ANSWER, ticketExpiresAt: "soon" }, /ticketExpiresAt is not a number/],
    ["peers as an object", { ...ANSWER, peers: { a: 1 } }, /peers is not a list/],
    ["no keys", { ...ANSWER, keys: undefined }, /keys is not a list/],
  ];
  for (const [what, value, message] of refusals) {
    it(`refuses ${what}, saying which field`, () => {
      expect(() => parseDirectoryAnswer(value))
        .to.throw(MalformedDirectoryAnswer, message)
        .with.property("code", "DIRECTORY_ANSWER_MALFORMED");
    });
  }

  it("drops items of the wrong type and defaults what older directories left out", () => {
    const older = { ...ANSWER, zone: undefined, starting: undefined };
    expect(parseDirectoryAnswer(older)).to.include({ zone: "", starting: 0 });
    const odd = { ...ANSWER, peers: ["10.0.0.1:65002", 5, null], keys: [KEY, { kid: 1 }], starting: -3 };
    const read = parseDirectoryAnswer(odd);
    expect(read.peers).to.deep.equal(["10.0.0.1:65002"]);
    expect(read.keys).to.deep.equal([KEY]);
    expect(read.starting).to.equal(0);
  });
});
