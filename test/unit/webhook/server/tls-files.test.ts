/**
 * Reading the serving certificate's files (the mounted cert Secret): what counts as missing, as a bad
 * pair, the optional CA bundle, and the ServingCertificate states they lead to (no server involved;
 * test/integration/webhook/serving-certificate.test.ts serves them over HTTPS).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { silentLogger } from "../../../../lib/logger.ts";
import { generateCertificateAuthority, issueServingCertificate } from "../../../../lib/tls-certs.ts";
import { ConfigError } from "../../../../lib/config/config-error.ts";
import { ServingCertificate } from "../../../../webhook/server/serving-certificate.ts";
import { readTlsFiles, TlsFilesError } from "../../../../webhook/server/tls-material.ts";
import { testConfig } from "../webhook-fixtures.ts";

describe("serving certificate files", () => {
  let dir: string;
  const ca = generateCertificateAuthority("unit");
  const pair = issueServingCertificate(ca, { hosts: ["127.0.0.1"] });
  const other = issueServingCertificate(ca, { hosts: ["127.0.0.1"] });
  const files = () => ({
    certFile: join(dir, "tls.crt"),
    keyFile: join(dir, "tls.key"),
    caFile: join(dir, "ca.crt"),
  });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "acr-p2p-tls-files-"));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  async function refusal(): Promise<TlsFilesError> {
    try {
      await readTlsFiles(files());
    } catch (err) {
      if (err instanceof TlsFilesError) return err;
      throw err;
    }
    throw new Error("readTlsFiles accepted the files");
  }

  it("calls a missing or empty cert or key TLS_FILES_MISSING, naming the file", async () => {
    let err = await refusal();
    expect(err.code).to.equal("TLS_FILES_MISSING");
    expect(err.message).to.equal(`${join(dir, "tls.crt")} is missing`);
    await writeFile(join(dir, "tls.crt"), pair.certPem);
    await writeFile(join(dir, "tls.key"), "");
    err = await refusal();
    expect(err.code).to.equal("TLS_FILES_MISSING");
    expect(err.message).to.equal(`${join(dir, "tls.key")} is empty`);
  });

  it("calls a key of another certificate TLS_FILES_INVALID", async () => {
    await writeFile(join(dir, "tls.crt"), pair.certPem);
    await writeFile(join(dir, "tls.key"), other.keyPem);
    const err = await refusal();
    expect(err.code).to.equal("TLS_FILES_INVALID");
    expect(err.message).to.match(/not a usable pair/);
  });

  it("reads the pair without the CA file, and the CA bundle when there", async () => {
    await writeFile(join(dir, "tls.crt"), pair.certPem);
    await writeFile(join(dir, "tls.key"), pair.keyPem);
    expect((await readTlsFiles(files())).caPem).to.equal(undefined);
    await writeFile(join(dir, "ca.crt"), ca.certPem);
    expect(await readTlsFiles(files())).to.deep.equal({
      certPem: pair.certPem,
      keyPem: pair.keyPem,
      caPem: ca.certPem,
      hosts: [],
    });
  });

  it("waits with a temporary pair until the files are there, then serves them", async () => {
    const config = testConfig([
      "--tls-cert",
      files().certFile,
      "--tls-key",
      files().keyFile,
      "--tls-ca",
      files().caFile,
    ]);
    const serving = await ServingCertificate.create(config, silentLogger());
    expect(serving.state).to.equal("waiting");
    expect(serving.readiness()).to.deep.equal({
      ready: false,
      detail: `waiting for serving certificate (${files().certFile} is missing)`,
    });
    // The temporary pair covers the Service's names, like a generated one.
    expect(serving.served.hosts).to.include("ack-acr-acceleration-p2p.aliyun-acr-acceleration.svc");
    await serving.check();
    expect(serving.state).to.equal("waiting");
    await writeFile(join(dir, "tls.crt"), pair.certPem);
    await writeFile(join(dir, "tls.key"), pair.keyPem);
    await writeFile(join(dir, "ca.crt"), ca.certPem);
    await serving.check();
    expect(serving.state).to.equal("files");
    expect(serving.served.certPem).to.equal(pair.certPem);
    expect(serving.caPem()).to.equal(ca.certPem);
    expect(serving.readiness().ready).to.equal(true);
  });

  it("is ready with a generated pair when no files are configured", async () => {
    const serving = await ServingCertificate.create(testConfig(), silentLogger());
    expect(serving.state).to.equal("generated");
    expect(serving.readiness().ready).to.equal(true);
    expect(serving.caPem()).to.equal(undefined);
  });

  it("refuses --tls-ca without the pair, naming ACR_P2P_TLS_CA_FILE", () => {
    expect(() => testConfig(["--tls-ca", "/x/ca.crt"]))
      .to.throw(ConfigError)
      .with.property("message")
      .that.matches(/ACR_P2P_TLS_CA_FILE/);
  });
});
