import { expect } from "chai";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  OCI_ERROR_STATUS,
  OciError,
  renderOciError,
  unauthorized,
} from "../../../../sidecar/registry/oci-error.ts";
import { toOciError } from "../../../../sidecar/registry/to-oci-error.ts";
import { UpstreamError } from "../../../../sidecar/upstream/upstream-error.ts";

describe("OCI errors", () => {
  let server: Server;
  let errorToRender: OciError;
  before(async () => {
    server = createServer((req, res) => renderOciError(res, errorToRender, req.method ?? "GET"));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  });
  after(() => new Promise<void>((r) => server.close(() => r())));
  const url = () => `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

  it("renders {errors:[{code,message,detail}]} with the table's status and extra headers", async () => {
    errorToRender = unauthorized("authentication required");
    const res = await fetch(url());
    expect(res.status).to.equal(401);
    expect(res.headers.get("www-authenticate")).to.equal('Basic realm="acr-p2p"');
    expect(await res.json()).to.deep.equal({
      errors: [{ code: "UNAUTHORIZED", message: "authentication required" }],
    });

    errorToRender = new OciError("BLOB_UNKNOWN", "nope", { detail: { digest: "x" } });
    const head = await fetch(url(), { method: "HEAD" });
    expect(head.status).to.equal(404);
    expect(await head.text()).to.equal("");
  });

  it("maps every code to one status, and unknown errors to 500", () => {
    expect(OCI_ERROR_STATUS.RANGE_INVALID).to.equal(416);
    expect(toOciError(new Error("boom"), "blob").status).to.equal(500);
    expect(toOciError(new Error("boom"), "blob").message).not.to.contain("boom");
    expect(toOciError(new UpstreamError("UPSTREAM_UNAUTHORIZED", "x"), "blob").status).to.equal(401);
    expect(toOciError(new UpstreamError("UPSTREAM_NOT_FOUND", "x"), "manifest").code).to.equal(
      "MANIFEST_UNKNOWN",
    );
    expect(toOciError(new UpstreamError("UPSTREAM_NOT_FOUND", "x"), "blob").code).to.equal("BLOB_UNKNOWN");
    expect(toOciError(new UpstreamError("TARGET_REFUSED", "x"), "blob").code).to.equal("UPSTREAM_REFUSED");
    expect(toOciError(new UpstreamError("UPSTREAM_STATUS", "x", { status: 429 }), "blob").code).to.equal(
      "TOOMANYREQUESTS",
    );
  });
});
