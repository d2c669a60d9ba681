import { expect } from "chai";
import { encodeHostForPath } from "../../../../contract/registry-host.ts";
import { linkOnFront } from "../../../../sidecar/registry/listing-handler.ts";

describe("listing pagination links", () => {
  const host = "registry.example.com:5000";
  const encoded = encodeHostForPath(host);

  it("moves the registry's next link under this front's /v2/<encoded host>/", () => {
    expect(linkOnFront('</v2/team/app/tags/list?n=2&last=b>; rel="next"', host)).to.equal(
      `</v2/${encoded}/team/app/tags/list?n=2&last=b>; rel="next"`,
    );
    expect(linkOnFront(`</v2/team/app/referrers/sha256:${"a".repeat(64)}?n=1>; rel="next"`, host)).to.equal(
      `</v2/${encoded}/team/app/referrers/sha256:${"a".repeat(64)}?n=1>; rel="next"`,
    );
  });

  it("rewrites an absolute link on the registry's own host too", () => {
    expect(linkOnFront(`<https://${host}/v2/team/app/tags/list?n=2&last=b>; rel="next"`, host)).to.equal(
      `</v2/${encoded}/team/app/tags/list?n=2&last=b>; rel="next"`,
    );
  });

  it("drops a link that points anywhere but a registry-relative /v2/ path", () => {
    expect(linkOnFront('<https://elsewhere.example/v2/x/tags/list>; rel="next"', host)).to.equal(undefined);
    expect(linkOnFront('</other/path>; rel="next"', host)).to.equal(undefined);
    expect(linkOnFront("garbage", host)).to.equal(undefined);
  });
});
