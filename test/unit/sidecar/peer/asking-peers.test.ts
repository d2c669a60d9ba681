/**
 * The blocks peers are asking this sidecar for (sidecar/peer/asking-peers.ts): matched by address,
 * whatever the spelling of the socket's address, and gone once the last request for a block ends.
 */
import { expect } from "chai";
import { AskingPeers } from "../../../../sidecar/peer/asking-peers.ts";

const DIGEST = "sha256:" + "ab".repeat(32);

describe("asking peers", () => {
  it("a peer is asking for a block between add and the call that ends it, by address whatever its port", () => {
    const asking = new AskingPeers();
    const done = asking.add(DIGEST, 3, "10.0.0.7");
    expect(asking.has(DIGEST, 3, "10.0.0.7:65002")).to.equal(true);
    expect(asking.has(DIGEST, 4, "10.0.0.7:65002"), "another block").to.equal(false);
    expect(asking.has(DIGEST, 3, "10.0.0.8:65002"), "another peer").to.equal(false);
    done();
    expect(asking.has(DIGEST, 3, "10.0.0.7:65002")).to.equal(false);
    expect(asking.size).to.equal(0);
  });

  it("two requests for one block from one peer: asking until both end; ending one twice counts once", () => {
    const asking = new AskingPeers();
    const first = asking.add(DIGEST, 0, "10.0.0.7");
    const second = asking.add(DIGEST, 0, "10.0.0.7");
    first();
    first();
    expect(asking.has(DIGEST, 0, "10.0.0.7:65002")).to.equal(true);
    second();
    expect(asking.has(DIGEST, 0, "10.0.0.7:65002")).to.equal(false);
    expect(asking.size).to.equal(0);
  });

  it("an IPv4 socket address in IPv6-mapped form and a bracketed IPv6 peer id match their peers", () => {
    const asking = new AskingPeers();
    asking.add(DIGEST, 1, "::ffff:10.0.0.7");
    asking.add(DIGEST, 1, "FD00::1");
    expect(asking.has(DIGEST, 1, "10.0.0.7:65002")).to.equal(true);
    expect(asking.has(DIGEST, 1, "[fd00::1]:65002")).to.equal(true);
  });

  it("a request whose socket has no address (closed already) records nothing", () => {
    const asking = new AskingPeers();
    asking.add(DIGEST, 1, undefined)();
    expect(asking.size).to.equal(0);
  });
});
