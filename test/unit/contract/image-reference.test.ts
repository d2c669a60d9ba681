/**
 * The reference grammar (distribution/reference, as the kubelet and containerd parse) and the rewrite
 * through the sidecar's front, on a table of known cases.
 */
import { expect } from "chai";
import {
  formatReference,
  isValidDigest,
  parseNormalizedReference,
  ReferenceError,
  restoreFromFront,
  rewriteThroughFront,
} from "../../../contract/image-reference.ts";

const SHA = "a".repeat(64);
const FRONT = "127.0.0.1:65001";

describe("image references: parsing", () => {
  const valid: [string, string, string, string?, string?][] = [
    ["nginx", "docker.io", "library/nginx"],
    ["nginx:1.27", "docker.io", "library/nginx", "1.27"],
    ["library/nginx", "docker.io", "library/nginx"],
    ["index.docker.io/nginx", "docker.io", "library/nginx"],
    ["docker.io/bitnami/redis:7", "docker.io", "bitnami/redis", "7"],
    ["localhost/app", "localhost", "app"],
    ["localhost:5000/app:v1", "localhost:5000", "app", "v1"],
    ["Registry.Local:5000/team/app", "Registry.Local:5000", "team/app"],
    ["Foo/bar", "Foo", "bar"],
    ["registry:5000", "docker.io", "library/registry", "5000"],
    ["10.0.0.1:5000/a/b/c:v", "10.0.0.1:5000", "a/b/c", "v"],
    ["[::1]:5000/app", "[::1]:5000", "app"],
    ["r.io/a__b/c-d--e/f.g:V_1.0-rc", "r.io", "a__b/c-d--e/f.g", "V_1.0-rc"],
    [`r.io/app@sha256:${SHA}`, "r.io", "app", undefined, `sha256:${SHA}`],
    [`r.io/app:v1@sha256:${SHA}`, "r.io", "app", "v1", `sha256:${SHA}`],
  ];
  for (const [input, domain, path, tag, digest] of valid) {
    it(`parses ${input}`, () => {
      const ref = parseNormalizedReference(input);
      expect(ref).to.deep.equal({ domain, path, ...(tag && { tag }), ...(digest && { digest }) });
    });
  }

  const invalid: [string, string][] = [
    ["", "empty"],
    ["Nginx", "lower case"],
    ["r.io/Team/app", "lower case"],
    ["r.io/app:", "malformed tag"],
    ["r.io/app:-x", "malformed tag"],
    [`r.io/app:${"t".repeat(129)}`, "malformed tag"],
    ["r.io//app", "malformed repository path component"],
    ["r.io/app/", "malformed repository path component"],
    ["r.io/a..b", "malformed repository path component"],
    ["-r.io/app", "malformed registry host"],
    ["r.io:port/app", "malformed registry host"],
    ["r.io/app@sha256:abc", "malformed digest"],
    [`r.io/app@sha256:${"A".repeat(64)}`, "64 lower-case hex"],
    [`r.io/app@sha256:${"a".repeat(63)}`, "64 lower-case hex"],
    [`r.io/app@md5:${"a".repeat(32)}`, "unsupported digest algorithm"],
    [SHA, "image ID"],
    [`r.io/${"a".repeat(260)}`, "longer than 255"],
    ["r.io/app with space", "malformed"],
  ];
  for (const [input, reason] of invalid) {
    it(`rejects ${JSON.stringify(input.length > 60 ? `${input.slice(0, 60)}...` : input)} (${reason})`, () => {
      expect(() => parseNormalizedReference(input))
        .to.throw(ReferenceError)
        .with.property("message")
        .that.includes(reason);
    });
  }

  it("keeps the sidecar's digest check", () => {
    expect(isValidDigest(`sha256:${SHA}`)).to.equal(true);
    expect(isValidDigest(`sha512:${"b".repeat(128)}`)).to.equal(true);
    expect(isValidDigest("sha256:xyz")).to.equal(false);
  });
});

describe("image references: rewrite through the sidecar front", () => {
  const cases: [string, string][] = [
    ["nginx", `${FRONT}/docker.io/library/nginx`],
    ["registry.example.com/team/app:1.0", `${FRONT}/registry.example.com/team/app:1.0`],
    ["Registry.Local:5000/lab/app:v2", `${FRONT}/registry.local_5000/lab/app:v2`],
    [`r.io/app:v1@sha256:${SHA}`, `${FRONT}/r.io/app:v1@sha256:${SHA}`],
    [`r.io/app@sha256:${SHA}`, `${FRONT}/r.io/app@sha256:${SHA}`],
  ];
  for (const [input, output] of cases) {
    it(`${input} -> ${output}`, () => {
      const rewritten = formatReference(rewriteThroughFront(parseNormalizedReference(input), FRONT));
      expect(rewritten).to.equal(output);
      const back = restoreFromFront(parseNormalizedReference(rewritten), FRONT);
      const original = parseNormalizedReference(input);
      expect(back).to.deep.equal({ ...original, domain: original.domain.toLowerCase() });
    });
  }

  it("refuses hosts that cannot be a path component, naming why", () => {
    expect(() => rewriteThroughFront(parseNormalizedReference("[::1]:5000/app"), FRONT)).to.throw(/IPv6/);
    expect(() => rewriteThroughFront(parseNormalizedReference("r.io:05000/app"), FRONT)).to.throw(
      /path component/,
    );
    expect(() => rewriteThroughFront(parseNormalizedReference("r.io:70000/app"), FRONT)).to.throw(
      /path component/,
    );
  });

  it("refuses a rewrite that would pass 255 characters", () => {
    const ref = parseNormalizedReference(`registry.example.com/${"a".repeat(230)}`);
    expect(() => rewriteThroughFront(ref, FRONT)).to.throw(ReferenceError, /longer than 255/);
  });

  it("restores only references that point at the front", () => {
    expect(restoreFromFront(parseNormalizedReference("r.io/app"), FRONT)).to.equal(undefined);
    expect(restoreFromFront(parseNormalizedReference(`${FRONT}/app`), FRONT)).to.equal(undefined);
    expect(restoreFromFront(parseNormalizedReference(`${FRONT}/a__b/app`), FRONT)).to.equal(undefined);
  });
});
