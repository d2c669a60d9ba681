/** The controller's configuration: env and flags, validated at start with messages naming the option. */
import { expect } from "chai";
import { renderOptionsHelp } from "../../../../lib/config/options-help.ts";
import { ALL_WEBHOOK_OPTIONS, parseWebhookArgs } from "../../../../webhook/config/webhook-config.ts";
import { SIDECAR_IMAGE } from "../webhook-fixtures.ts";

const ENV = {
  ACR_P2P_SIDECAR_IMAGE: SIDECAR_IMAGE,
  ACR_P2P_REGISTRIES: "Registry.Example.com, registry.local:5000",
};

function parse(argv: string[], env: Record<string, string> = ENV) {
  const r = parseWebhookArgs(argv, env);
  if (!r.config) throw new Error("no config");
  return r.config;
}

describe("webhook config", () => {
  it("reads the Helm chart's env, with defaults", () => {
    const c = parse([]);
    expect(c.registries).to.deep.equal(["registry.example.com", "registry.local:5000"]);
    expect(c.mutation.serverless).to.equal(false);
    expect(c.mutation.ownNamespace).to.equal("aliyun-acr-acceleration");
    expect([c.listenHost, c.listenPort]).to.deep.equal(["0.0.0.0", 8443]);
    expect(c.tlsFiles).to.equal(undefined);
    expect(c.mutation.sidecar.cacheBytes).to.equal(512 * 2 ** 20);
    expect(c.mutation.resources.memoryMarginBytes).to.equal(160 * 2 ** 20);
    expect(Object.isFrozen(c) && Object.isFrozen(c.mutation) && Object.isFrozen(c.mutation.sidecar)).to.equal(
      true,
    );
  });

  it("lets flags override the env", () => {
    const c = parse(
      [
        "--registry",
        "a.io",
        "--registry=b.io:5000",
        "--serverless",
        "--listen",
        "127.0.0.1:0",
        "--namespace",
        "p2p-system",
      ],
      {
        ...ENV,
        ACR_P2P_SERVERLESS: "false",
      },
    );
    expect(c.registries).to.deep.equal(["a.io", "b.io:5000"]);
    expect(c.mutation.serverless).to.equal(true);
    expect([c.listenHost, c.listenPort]).to.deep.equal(["127.0.0.1", 0]);
    expect(c.mutation.ownNamespace).to.equal("p2p-system");
  });

  it("listens on a bare port, :port or [v6]:port", () => {
    expect([parse(["--listen", "9443"]).listenHost, parse(["--listen", "9443"]).listenPort]).to.deep.equal([
      "0.0.0.0",
      9443,
    ]);
    expect(parse(["--listen", ":9443"]).listenPort).to.equal(9443);
    expect(parse(["--listen", "[::1]:9443"]).listenHost).to.equal("::1");
  });

  it("takes the sidecar's seed parameters under the sidecar's env names and --sidecar- flags", () => {
    const c = parse(["--sidecar-blocksize", "512"], {
      ...ENV,
      ACR_P2P_MEMORY_CACHE_CAPACITY_GB: "1",
      ACR_P2P_PLAIN_HTTP_UPSTREAMS: "registry.local:5000",
    });
    expect(c.mutation.sidecar.copied["blocksizeKiB"]).to.equal("512");
    expect(c.mutation.sidecar.cacheBytes).to.equal(2 ** 30);
    expect(c.mutation.sidecar.plainHttpHosts).to.deep.equal(["registry.local:5000"]);
  });

  const refusals: [string, string[], Record<string, string>, RegExp][] = [
    [
      "an image pinned by tag only",
      [],
      { ...ENV, ACR_P2P_SIDECAR_IMAGE: "registry.example.com/acr-p2p/sidecar:1.0" },
      /ACR_P2P_SIDECAR_IMAGE.*not pinned by digest/,
    ],
    ["no sidecar image", [], { ACR_P2P_REGISTRIES: "a.io" }, /ACR_P2P_SIDECAR_IMAGE.*required/],
    ["a bad registry", ["--registry", "bad host"], ENV, /ACR_P2P_REGISTRIES.*not a host/],
    ["an IPv6 registry", ["--registry", "[::1]:5000"], ENV, /ACR_P2P_REGISTRIES/],
    ["a bad listen address", ["--listen", "nowhere"], ENV, /ACR_P2P_LISTEN.*host:port/],
    ["a cert without a key", ["--tls-cert", "/tmp/c.pem"], ENV, /--tls-key/],
    [
      "a blocksize not a power of two",
      [],
      { ...ENV, ACR_P2P_BLOCKSIZE: "300" },
      /blocksize \(ACR_P2P_BLOCKSIZE \/ --sidecar-blocksize\).*power of two/,
    ],
    [
      "two disagreeing cache sizes",
      [],
      { ...ENV, ACR_P2P_MEMORY_CACHE_CAPACITY_GB: "1", ACR_P2P_OPTION_BLOCK_SIZE: "1000" },
      /memoryCacheCapacityGB.*optionBlockSize.*disagree/,
    ],
    ["a bad cache mode", ["--sidecar-cache-mode", "ssd"], ENV, /p2p\.v2\.cache\.mode.*memory, disk/],
    [
      "a bad memory margin",
      [],
      { ...ENV, ACR_P2P_SIDECAR_MEMORY_MARGIN: "lots" },
      /ACR_P2P_SIDECAR_MEMORY_MARGIN/,
    ],
    ["a bad namespace", ["--namespace", "Not_A_Label"], ENV, /ACR_P2P_NAMESPACE/],
    ["an unknown flag", ["--regsitry", "a.io"], ENV, /unknown option/],
  ];
  for (const [what, argv, env, message] of refusals) {
    it(`refuses ${what}, naming the option`, () => {
      expect(() => parse(argv, env)).to.throw(message);
    });
  }

  it("--help lists every option with its env variable and default", () => {
    expect(parseWebhookArgs(["--help"], {}).help).to.equal(true);
    const help = renderOptionsHelp(["usage"], ALL_WEBHOOK_OPTIONS);
    for (const o of ALL_WEBHOOK_OPTIONS) {
      expect(help).to.include(o.flag).and.include(`env ${o.env}`);
      if (o.default !== undefined) expect(help).to.include(`default: ${o.default}`);
    }
  });
});
