import { expect } from "chai";
import { AbortedError, BlockError } from "../../../sidecar/blocks/errors.ts";
import { PeerError } from "../../../sidecar/peer/peer-error.ts";
import { UpstreamError } from "../../../sidecar/upstream/upstream-error.ts";
import { CodedError, isAbort } from "../../../lib/coded-error.ts";

describe("isAbort", () => {
  it("knows a called-off operation in every form it arrives in", () => {
    expect(isAbort(new CodedError("ABORTED", "gone"))).to.equal(true);
    expect(isAbort(new UpstreamError("ABORTED", "aborted"))).to.equal(true);
    expect(isAbort(new AbortedError())).to.equal(true);
    expect(isAbort(new PeerError("PEER_ABORTED", "block request aborted", "10.0.0.2:65002"))).to.equal(true);
    expect(isAbort(AbortSignal.abort().reason)).to.equal(true);
    expect(isAbort(Object.assign(new Error("x"), { code: "ABORT_ERR" }))).to.equal(true);
    expect(isAbort(Object.assign(new Error("x"), { code: "UND_ERR_ABORTED" }))).to.equal(true);
  });

  it("is false for failures, which are counted and blamed", () => {
    expect(isAbort(new UpstreamError("UPSTREAM_UNREACHABLE", "connection refused"))).to.equal(false);
    expect(isAbort(new BlockError("BLOCK_CORRUPT", "bad bytes"))).to.equal(false);
    expect(isAbort(new PeerError("PEER_TIMEOUT", "no progress", "10.0.0.2:65002"))).to.equal(false);
    expect(isAbort(new Error("ABORTED"))).to.equal(false);
    expect(isAbort("ABORTED")).to.equal(false);
  });
});
