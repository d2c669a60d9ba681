import { expect } from "chai";
import { SIDECAR_OPTIONS } from "../../../../contract/sidecar-options.ts";
import { ConfigError } from "../../../../lib/config/config-error.ts";
import { renderSidecarHelp } from "../../../../sidecar/config/help.ts";
import { DEFAULT_MEMORY_CACHE_BYTES } from "../../../../contract/sidecar-option-rules.ts";
import { loadSidecarConfig, parseSidecarArgs } from "../../../../sidecar/config/sidecar-config.ts";

const BASE_ENV = { ACR_P2P_UPSTREAM_HOSTS: "registry.example.com" };

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error("expected a ConfigError");
}

describe("sidecar config", () => {
  it("applies the table's defaults and derives bytes and milliseconds", () => {
    const c = loadSidecarConfig([], BASE_ENV);
    expect(c.port).to.equal(65001);
    expect(c.healthPort).to.equal(65003);
    expect(c.cacheMode).to.equal("memory");
    expect(c.blockSizeBytes).to.equal(256 * 1024);
    expect(c.memoryCacheBytes).to.equal(DEFAULT_MEMORY_CACHE_BYTES);
    expect(c.connectTimeoutMs).to.equal(5000);
    expect(c.transferTimeoutMs).to.equal(15000);
    expect(c.proxyFsParallels).to.equal(128);
    expect(c.upstreamHosts).to.deep.equal(["registry.example.com"]);
    expect(Object.isFrozen(c)).to.equal(true);
  });

  it("has a field for every option of the table", () => {
    const c = loadSidecarConfig([], BASE_ENV) as unknown as Record<string, unknown>;
    for (const spec of SIDECAR_OPTIONS) expect(c).to.have.property(spec.key);
  });

  it("lets flags win over env, and accepts --flag=value and repeated list flags", () => {
    const c = loadSidecarConfig(
      [
        "--port=7000",
        "--upstream-host",
        "A.example.com:5000",
        "--upstream-host",
        "b.example.com",
        "--peer-sharing",
        "false",
      ],
      { ...BASE_ENV, ACR_P2P_PORT: "6000" },
    );
    expect(c.port).to.equal(7000);
    expect(c.upstreamHosts).to.deep.equal(["a.example.com:5000", "b.example.com"]);
    expect(c.peerSharing).to.equal(false);
  });

  it("splits comma-separated env lists", () => {
    const c = loadSidecarConfig([], {
      ACR_P2P_UPSTREAM_HOSTS: "a.io, b.io:5000",
      ACR_P2P_ALLOWED_HOSTS: "127.0.0.1:9000",
    });
    expect(c.upstreamHosts).to.deep.equal(["a.io", "b.io:5000"]);
    expect(c.allowedHosts).to.deep.equal(["127.0.0.1:9000"]);
  });

  it("rejects a block size that is not a power of two or out of range, naming blocksize", () => {
    for (const v of ["100", "32", "131072", "abc"]) {
      const err = configError(() => loadSidecarConfig([], { ...BASE_ENV, ACR_P2P_BLOCKSIZE: v }));
      expect(err.option).to.equal("blocksizeKiB");
      expect(err.message).to.contain("blocksize").and.contain("ACR_P2P_BLOCKSIZE");
    }
    expect(loadSidecarConfig(["--blocksize", "65536"], BASE_ENV).blockSizeBytes).to.equal(64 * 1024 * 1024);
    expect(loadSidecarConfig(["--blocksize", "64"], BASE_ENV).blockSizeBytes).to.equal(64 * 1024);
  });

  it("takes the memory cap from memoryCacheCapacityGB first, else optionBlockSize", () => {
    expect(
      loadSidecarConfig([], { ...BASE_ENV, ACR_P2P_MEMORY_CACHE_CAPACITY_GB: "0.25" }).memoryCacheBytes,
    ).to.equal(256 * 1024 * 1024);
    expect(
      loadSidecarConfig([], { ...BASE_ENV, ACR_P2P_OPTION_BLOCK_SIZE: "1048576" }).memoryCacheBytes,
    ).to.equal(1048576);
    const same = loadSidecarConfig([], {
      ...BASE_ENV,
      ACR_P2P_MEMORY_CACHE_CAPACITY_GB: "1",
      ACR_P2P_OPTION_BLOCK_SIZE: String(1024 ** 3),
    });
    expect(same.memoryCacheBytes).to.equal(1024 ** 3);
  });

  it("refuses memoryCacheCapacityGB and optionBlockSize that disagree, naming both", () => {
    const err = configError(() =>
      loadSidecarConfig([], {
        ...BASE_ENV,
        ACR_P2P_MEMORY_CACHE_CAPACITY_GB: "1",
        ACR_P2P_OPTION_BLOCK_SIZE: "1048576",
      }),
    );
    expect(err.message).to.contain("memoryCacheCapacityGB").and.contain("optionBlockSize");
  });

  it("requires at least one upstream host and checks host syntax", () => {
    expect(configError(() => loadSidecarConfig([], {})).option).to.equal("upstreamHosts");
    expect(
      configError(() => loadSidecarConfig([], { ACR_P2P_UPSTREAM_HOSTS: "https://x.io" })).option,
    ).to.equal("upstreamHosts");
    const plain = configError(() => loadSidecarConfig(["--plain-http-upstream", "other.io"], BASE_ENV));
    expect(plain.option).to.equal("plainHttpHosts");
  });

  it("names the option for bad numbers, enums, ranges and unknown flags", () => {
    expect(configError(() => loadSidecarConfig(["--connect-timeout", "soon"], BASE_ENV)).message).to.contain(
      "connectTimeout",
    );
    expect(configError(() => loadSidecarConfig(["--cache-mode", "tape"], BASE_ENV)).message).to.contain(
      "p2p.v2.cache.mode",
    );
    expect(configError(() => loadSidecarConfig(["--port", "70000"], BASE_ENV)).message).to.contain(
      "p2p.port",
    );
    expect(configError(() => loadSidecarConfig(["--proxy-fs-parallels", "0"], BASE_ENV)).option).to.equal(
      "proxyFsParallels",
    );
    expect(configError(() => loadSidecarConfig(["--bogus", "1"], BASE_ENV)).message).to.contain("--bogus");
    expect(configError(() => loadSidecarConfig(["--pod-ip", "pod"], BASE_ENV)).option).to.equal("podIP");
    expect(configError(() => loadSidecarConfig(["--health-port", "65002"], BASE_ENV)).option).to.equal(
      "healthPort",
    );
  });

  it("returns help without validating anything else", () => {
    expect(parseSidecarArgs(["--help"], {})).to.deep.equal({ help: true });
  });

  it("documents every option with its env variable and default in --help", () => {
    const help = renderSidecarHelp();
    for (const spec of SIDECAR_OPTIONS) {
      expect(help).to.contain(spec.flag).and.contain(spec.env);
      if (spec.default !== undefined) expect(help).to.contain(`default: ${spec.default}`);
    }
  });
});
