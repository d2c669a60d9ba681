import { expect } from "chai";
import { parseDistributionPath } from "../../../../sidecar/registry/distribution-path.ts";
import { OciError } from "../../../../sidecar/registry/oci-error.ts";

const HOSTS = new Set(["registry.local:5000", "reg.example.com"]);
const DIGEST = `sha256:${"a".repeat(64)}`;

function parse(url: string, method = "GET", rangeHeader?: string) {
  return parseDistributionPath({ method, url, rangeHeader }, HOSTS);
}

function ociCode(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(OciError);
    return (err as OciError).code;
  }
  throw new Error("expected an OciError");
}

describe("parseDistributionPath", () => {
  it("parses the ping", () => {
    expect(parse("/v2/")).to.deep.equal({ kind: "ping" });
    expect(parse("/v2", "HEAD")).to.deep.equal({ kind: "ping" });
  });

  it("parses manifests by tag and by digest, decoding the host", () => {
    expect(parse("/v2/registry.local_5000/team-a/app/manifests/v1.2")).to.deep.equal({
      kind: "manifest",
      host: "registry.local:5000",
      repo: "team-a/app",
      reference: { tag: "v1.2" },
    });
    expect(parse(`/v2/reg.example.com/library/nginx/manifests/${DIGEST}?ns=x`)).to.deep.equal({
      kind: "manifest",
      host: "reg.example.com",
      repo: "library/nginx",
      reference: { digest: DIGEST },
    });
  });

  it("parses blobs with their range", () => {
    expect(parse(`/v2/reg.example.com/a/blobs/${DIGEST}`, "GET", "bytes=10-19")).to.deep.equal({
      kind: "blob",
      host: "reg.example.com",
      repo: "a",
      digest: DIGEST,
      range: { kind: "from", start: 10, end: 19 },
    });
  });

  it("refuses hosts it does not serve (never an open proxy)", () => {
    expect(ociCode(() => parse("/v2/evil.example.com/a/manifests/latest"))).to.equal("DENIED");
    expect(ociCode(() => parse("/v2/registry.local_5001/a/manifests/latest"))).to.equal("DENIED");
    expect(ociCode(() => parse("/v2/Reg.Example.com/a/manifests/latest"))).to.equal("NAME_INVALID");
    expect(ociCode(() => parse("/v2/127.0.0.1:80/a/manifests/latest"))).to.equal("NAME_INVALID");
  });

  it("refuses traversal and malformed repositories", () => {
    for (const url of [
      "/v2/reg.example.com/../x/manifests/latest",
      "/v2/reg.example.com/a/../../b/manifests/latest",
      "/v2/reg.example.com/%2e%2e/a/manifests/latest",
      "/v2/reg.example.com//a/manifests/latest",
      "/v2/reg.example.com/a/./b/manifests/latest",
      "/v2/reg.example.com/A/manifests/latest",
    ]) {
      expect(
        ociCode(() => parse(url)),
        url,
      ).to.equal("NAME_INVALID");
    }
  });

  it("refuses malformed digests and tags", () => {
    expect(ociCode(() => parse("/v2/reg.example.com/a/blobs/sha256:abc"))).to.equal("DIGEST_INVALID");
    expect(ociCode(() => parse(`/v2/reg.example.com/a/blobs/sha256:${"A".repeat(64)}`))).to.equal(
      "DIGEST_INVALID",
    );
    expect(ociCode(() => parse("/v2/reg.example.com/a/blobs/latest"))).to.equal("DIGEST_INVALID");
    expect(ociCode(() => parse(`/v2/reg.example.com/a/blobs/sha512:${"a".repeat(128)}`))).to.equal(
      "DIGEST_INVALID",
    );
    // No manifest can have a malformed name: unknown, as the spec says (MANIFEST_INVALID is for bodies).
    expect(ociCode(() => parse("/v2/reg.example.com/a/manifests/-bad"))).to.equal("MANIFEST_UNKNOWN");
    expect(ociCode(() => parse("/v2/reg.example.com/a/manifests/.INVALID_MANIFEST_NAME"))).to.equal(
      "MANIFEST_UNKNOWN",
    );
  });

  it("refuses writes and other endpoints", () => {
    expect(ociCode(() => parse("/v2/reg.example.com/a/blobs/uploads/", "POST"))).to.equal("UNSUPPORTED");
    expect(ociCode(() => parse("/v2/_catalog"))).to.equal("NAME_INVALID");
    expect(ociCode(() => parse("/metrics"))).to.equal("NAME_UNKNOWN");
  });

  it("ignores ranges it does not serve (several, malformed, backwards): the whole blob is answered", () => {
    const url = `/v2/reg.example.com/a/blobs/${DIGEST}`;
    for (const range of ["bytes=9-3", "bytes=0-1,5-6", "bytes=x-", "bytes=-", "bytes=1-2-3"]) {
      const path = parse(url, "GET", range);
      expect(path.kind === "blob" && path.range, range).to.equal(undefined);
    }
  });

  it("passes tags/list and referrers through with only the spec's query parameters", () => {
    expect(parse("/v2/reg.example.com/a/b/tags/list?n=10&last=v1&evil=1")).to.deep.equal({
      kind: "tags",
      host: "reg.example.com",
      repo: "a/b",
      upstreamPath: "/v2/a/b/tags/list?n=10&last=v1",
    });
    expect(parse(`/v2/reg.example.com/a/referrers/${DIGEST}?artifactType=x%2Fy`)).to.deep.equal({
      kind: "referrers",
      host: "reg.example.com",
      repo: "a",
      upstreamPath: `/v2/a/referrers/${DIGEST}?artifactType=x%2Fy`,
    });
    expect(ociCode(() => parse("/v2/reg.example.com/a/referrers/latest"))).to.equal("DIGEST_INVALID");
    expect(ociCode(() => parse("/v2/reg.example.com/a/tags/other"))).to.equal("UNSUPPORTED");
  });
});
