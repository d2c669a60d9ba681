import { expect } from "chai";
import { findChallenge, parseChallenges } from "../../../../sidecar/upstream/www-authenticate.ts";

describe("WWW-Authenticate parsing", () => {
  it("parses a distribution Bearer challenge", () => {
    const [c] = parseChallenges(
      'Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull",error="insufficient_scope"',
    );
    expect(c).to.deep.equal({
      scheme: "bearer",
      params: {
        realm: "https://auth.example.com/token",
        service: "registry.example.com",
        scope: "repository:a/b:pull",
        error: "insufficient_scope",
      },
    });
  });

  it("parses several challenges, unquoted values and escapes", () => {
    const list = parseChallenges(['Basic realm="r\\"x"', "Bearer realm=https://t/x, service=s"]);
    expect(list.map((c) => c.scheme)).to.deep.equal(["basic", "bearer"]);
    expect(findChallenge(list, "Basic")?.params["realm"]).to.equal('r"x');
    expect(findChallenge(list, "bearer")?.params).to.deep.equal({ realm: "https://t/x", service: "s" });
  });

  it("returns nothing for an absent header", () => {
    expect(parseChallenges(undefined)).to.deep.equal([]);
  });
});
