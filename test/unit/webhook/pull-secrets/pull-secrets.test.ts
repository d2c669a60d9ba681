/** Pull-secret reading and matching (the kubelet's rules) and derived-secret planning. */
import { expect } from "chai";
import {
  hostMatches,
  readPullSecret,
  DockerConfigError,
} from "../../../../webhook/pull-secrets/docker-config.ts";
import { planDerivedSecrets } from "../../../../webhook/pull-secrets/derived-secrets.ts";

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64");
const configJson = (auths: Record<string, unknown>) => ({
  metadata: { name: "src" },
  type: "kubernetes.io/dockerconfigjson",
  data: { ".dockerconfigjson": b64({ auths }) },
});

describe("pull secrets: reading", () => {
  it("reads dockerconfigjson keys with schemes, paths and Docker Hub's legacy key", () => {
    const entries = readPullSecret(
      configJson({
        "https://Registry.Example.com": { auth: "YTpi", email: "x@y" },
        "registry.local:5000/team/": { username: "u", password: "p" },
        "https://index.docker.io/v1/": { auth: "aHViOmh1Yg==" },
        "*.cr.aliyuncs.com": { auth: "Zzpn" },
        "empty.io": {},
      }),
    );
    expect(entries.map((e) => [e.host, e.path])).to.deep.equal([
      ["registry.example.com", ""],
      ["registry.local:5000", "team/"],
      ["docker.io", ""],
      ["*.cr.aliyuncs.com", ""],
    ]);
    expect(entries[0]?.entry).to.deep.equal({ auth: "YTpi" });
  });

  it("reads the legacy dockercfg type and ignores other secret types", () => {
    const legacy = {
      metadata: { name: "old" },
      type: "kubernetes.io/dockercfg",
      data: { ".dockercfg": b64({ "r.io": { auth: "YTpi" } }) },
    };
    expect(readPullSecret(legacy).map((e) => e.host)).to.deep.equal(["r.io"]);
    expect(readPullSecret({ metadata: { name: "o" }, type: "Opaque", data: {} })).to.deep.equal([]);
  });

  it("names the secret when its content is unreadable", () => {
    const broken = {
      metadata: { name: "broken" },
      type: "kubernetes.io/dockerconfigjson",
      data: { ".dockerconfigjson": "!!!" },
    };
    expect(() => readPullSecret(broken)).to.throw(DockerConfigError, /broken/);
  });

  const matches: [string, string, boolean][] = [
    ["registry.example.com", "registry.example.com", true],
    ["registry.example.com", "registry.example.com.cn", false],
    ["registry.local", "registry.local:5000", false],
    ["registry.local:5000", "registry.local:5000", true],
    ["*.cr.aliyuncs.com", "my-vpc.cr.aliyuncs.com", true],
    ["*.cr.aliyuncs.com", "a.b.cr.aliyuncs.com", false],
    ["*.aliyuncs.com", "my-vpc.cr.aliyuncs.com", false],
  ];
  for (const [key, host, expected] of matches) {
    it(`key ${key} ${expected ? "applies" : "does not apply"} to ${host}`, () => {
      expect(hostMatches(key, host)).to.equal(expected);
    });
  }
});

describe("pull secrets: derived secrets", () => {
  const sources = (auth: string) => [
    {
      name: "src",
      entries: readPullSecret(configJson({ "registry.local:5000": { auth }, "other.io": { auth } })),
    },
  ];

  it("keys entries by the sidecar front and the encoded host, with the trailing slash", () => {
    const [d] = planDerivedSecrets(sources("YTpi"), ["registry.local:5000"], 65001);
    const json = JSON.parse(Buffer.from(d?.secret.data?.[".dockerconfigjson"] ?? "", "base64").toString());
    expect(json).to.deep.equal({ auths: { "127.0.0.1:65001/registry.local_5000/": { auth: "YTpi" } } });
    expect(d?.secret.metadata.labels).to.deep.equal({ "app.kubernetes.io/managed-by": "acr-p2p" });
  });

  it("ends each key with a slash: the kubelet matches keys as plain prefixes of the image reference", () => {
    // Seen on the node tier's kubelet (v1.34, test/node): a key `127.0.0.1:PORT/<host>` without the
    // slash also matched images of `127.0.0.1:PORT/<host>ile/...`, so one registry's credentials went
    // to another whose encoded name starts with it.
    const [d] = planDerivedSecrets(sources("YTpi"), ["registry.local:5000"], 65001);
    const json = JSON.parse(
      Buffer.from(d?.secret.data?.[".dockerconfigjson"] ?? "", "base64").toString(),
    ) as {
      auths: Record<string, unknown>;
    };
    const [key] = Object.keys(json.auths);
    const own = "127.0.0.1:65001/registry.local_5000/team/app:1";
    const other = "127.0.0.1:65001/registry.local_50001/team/app:1";
    expect(own.startsWith(key!)).to.equal(true);
    expect(other.startsWith(key!)).to.equal(false);
    expect(other.startsWith(key!.slice(0, -1)), "the same key without its slash").to.equal(true);
  });

  it("plans nothing for hosts the source has no credentials for", () => {
    expect(planDerivedSecrets(sources("YTpi"), ["registry.example.com"], 65001)).to.deep.equal([]);
  });

  it("is stable for the same content and gets a new name when the source rotates", () => {
    const a = planDerivedSecrets(sources("YTpi"), ["registry.local:5000"], 65001)[0]?.name;
    const again = planDerivedSecrets(sources("YTpi"), ["registry.local:5000"], 65001)[0]?.name;
    const rotated = planDerivedSecrets(sources("YTpj"), ["registry.local:5000"], 65001)[0]?.name;
    expect(a).to.equal(again);
    expect(rotated).to.not.equal(a);
    expect(rotated).to.match(/^acr-p2p-[0-9a-f]{16}$/);
  });
});
