import { expect } from "chai";
import {
  HostAllowlist,
  isInternalAddress,
  TargetPolicy,
} from "../../../../sidecar/upstream/address-policy.ts";
import { UpstreamError } from "../../../../sidecar/upstream/upstream-error.ts";

async function refusal(p: Promise<unknown>): Promise<UpstreamError> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(UpstreamError);
    return err as UpstreamError;
  }
  throw new Error("expected a refusal");
}

describe("address policy", () => {
  it("classifies internal addresses", () => {
    for (const a of [
      "127.0.0.1",
      "127.5.6.7",
      "10.1.2.3",
      "172.16.0.1",
      "172.31.255.255",
      "192.168.1.1",
      "169.254.169.254",
      "100.100.100.200",
      "100.64.0.1",
      "0.0.0.0",
      "::1",
      "::",
      "fd00::1",
      "fe80::1",
      "::ffff:127.0.0.1",
      "::ffff:10.0.0.1",
      "not-an-ip",
    ]) {
      expect(isInternalAddress(a), a).to.equal(true);
    }
    for (const a of ["8.8.8.8", "172.32.0.1", "100.128.0.1", "2001:4860:4860::8888", "::ffff:8.8.8.8"]) {
      expect(isInternalAddress(a), a).to.equal(false);
    }
  });

  it("matches allowlist entries with and without a port", () => {
    const list = new HostAllowlist(["127.0.0.1:5000", "trusted.example.com"]);
    expect(list.allows(new URL("http://127.0.0.1:5000/x"))).to.equal(true);
    expect(list.allows(new URL("http://127.0.0.1:5001/x"))).to.equal(false);
    expect(list.allows(new URL("https://trusted.example.com:8443/x"))).to.equal(true);
    expect(list.allows(new URL("https://other.example.com/x"))).to.equal(false);
    expect(new HostAllowlist(["a.example.com:443"]).allows(new URL("https://a.example.com/x"))).to.equal(
      true,
    );
  });

  it("refuses plain http, internal literals and names resolving inside, before connecting", async () => {
    const resolved: string[] = [];
    const policy = new TargetPolicy(new HostAllowlist(["127.0.0.1:5000"]), async (name) => {
      resolved.push(name);
      if (name === "inside.example.com")
        return [
          { address: "8.8.8.8", family: 4 },
          { address: "10.0.0.5", family: 4 },
        ];
      return [{ address: "93.184.216.34", family: 4 }];
    });
    await policy.check(new URL("http://127.0.0.1:5000/token"), "token realm");
    await policy.check(new URL("https://storage.example.com/blob"), "redirect");
    for (const url of [
      "http://127.0.0.1:5001/x",
      "http://storage.example.com/blob",
      "https://127.0.0.1:5001/x",
      "https://169.254.169.254/latest",
      "https://100.100.100.200/latest/meta-data",
      "https://[::1]:8080/",
      "https://[::ffff:7f00:1]/",
      "https://inside.example.com/x",
      "https://user:pw@storage.example.com/x",
    ]) {
      const err = await refusal(policy.check(new URL(url), "redirect"));
      expect(err.code, url).to.equal("TARGET_REFUSED");
    }
    // Literals are refused without even asking DNS.
    expect(resolved).to.deep.equal(["storage.example.com", "inside.example.com"]);
  });

  it("makes the connect-time lookup fail for internal answers (no DNS rebinding)", async () => {
    let answer = "93.184.216.34";
    const policy = new TargetPolicy(new HostAllowlist([]), async () => [{ address: answer, family: 4 }]);
    const lookup = (all: boolean) =>
      new Promise<unknown>((resolve, reject) =>
        policy.guardedLookup("rebind.example.com", { all }, (err, address) =>
          err ? reject(err) : resolve(address),
        ),
      );
    expect(await lookup(true)).to.deep.equal([{ address: "93.184.216.34", family: 4 }]);
    expect(await lookup(false)).to.equal("93.184.216.34");
    answer = "127.0.0.1";
    expect((await refusal(lookup(true))).code).to.equal("TARGET_REFUSED");
  });
});
