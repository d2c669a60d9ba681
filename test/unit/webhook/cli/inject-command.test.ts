/**
 * `acr-p2p inject` as a user runs it: the real CLI process on the sample Deployment prints the injected
 * template; JSON output, stdin, skips and bad arguments behave as documented.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { parse, parseAllDocuments } from "yaml";

const ROOT = new URL("../../../../", import.meta.url);
const REGISTRY = "my-registry-vpc.cn-hangzhou.cr.aliyuncs.com";

function cli(args: string[], input?: string) {
  const r = spawnSync(process.execPath, ["bin/acr-p2p.ts", "inject", ...args], {
    cwd: ROOT,
    input,
    encoding: "utf8",
    env: { PATH: process.env["PATH"] ?? "" },
    timeout: 30_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

type Json = Record<string, any>;

describe("acr-p2p inject (CLI)", function () {
  this.timeout(60_000);

  it("prints the sample Deployment with the sidecar injected into its template", () => {
    const r = cli(["-f", "examples/deployment.yaml", "--registry", REGISTRY]);
    expect(r.code, r.stderr).to.equal(0);
    const deployment = parse(r.stdout) as Json;
    expect(deployment["kind"]).to.equal("Deployment");
    const spec = deployment["spec"]["template"]["spec"];
    expect(spec.initContainers.map((c: Json) => c["name"])).to.deep.equal(["acr-p2p-sidecar", "migrate"]);
    expect(spec.initContainers[0].restartPolicy).to.equal("Always");
    expect(spec.initContainers[0].image).to.match(/@sha256:[0-9a-f]{64}$/);
    expect(spec.initContainers[1].image).to.equal(`127.0.0.1:65001/${REGISTRY}/shop/migrate:v3`);
    expect(spec.containers.map((c: Json) => c["image"])).to.deep.equal([
      `127.0.0.1:65001/${REGISTRY}/shop/web:1.4.2`,
      "docker.io/fluent/fluent-bit:3.1",
    ]);
    const annotations = deployment["spec"]["template"]["metadata"]["annotations"];
    expect(annotations["k8s.aliyun.com/plain-http-registry"]).to.equal("127.0.0.1:65001");
    expect(r.stderr).to.include("pull secret acr-credentials does not exist");
  });

  it("reads stdin and prints JSON with -o json", () => {
    const pod = JSON.stringify({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p", labels: { "k8s.aliyun.com/image-accelerate-mode": "p2p" } },
      spec: { containers: [{ name: "a", image: `${REGISTRY}/x/y:1` }] },
    });
    const r = cli(["-f", "-", "-o", "json", "--registry", REGISTRY], pod);
    expect(r.code, r.stderr).to.equal(0);
    const out = JSON.parse(r.stdout) as Json;
    expect(out["spec"]["containers"][0]["image"]).to.equal(`127.0.0.1:65001/${REGISTRY}/x/y:1`);
  });

  it("prints a skipped workload unchanged and says why on stderr", () => {
    const r = cli(["-f", "examples/deployment.yaml", "--registry", REGISTRY, "--serverless=false"]);
    expect(r.code).to.equal(0);
    expect(r.stdout).not.to.include("acr-p2p-sidecar");
    expect(r.stderr).to.include("not injected (not-pinned-to-virtual-nodes)");
  });

  it("refuses a sidecar image without a digest and a missing -f, with exit code 2", () => {
    const unpinned = cli(["-f", "examples/deployment.yaml", "--sidecar-image", "r.io/sidecar:1"]);
    expect(unpinned.code).to.equal(2);
    expect(unpinned.stderr).to.include("ACR_P2P_SIDECAR_IMAGE").and.include("not pinned by digest");
    const nofile = cli([]);
    expect(nofile.code).to.equal(2);
    expect(nofile.stderr).to.include("FILE, DIR or - for stdin");
    const two = cli(["-f", "examples/deployment.yaml", "other.yaml"]);
    expect(two.code).to.equal(2);
    expect(two.stderr).to.include('"examples/deployment.yaml", "other.yaml"');
  });

  it("reads the same manifests from FILE, -f FILE, - (stdin) and a DIR of them: the same output", () => {
    const sample = readFileSync(new URL("examples/deployment.yaml", ROOT), "utf8");
    const namespace = {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: "shop", labels: { "k8s.aliyun.com/image-accelerate-mode": "p2p" } },
    };
    const scratch = mkdtempSync(join(tmpdir(), "acr-p2p-inject-"));
    try {
      const combined = join(scratch, "combined.yaml");
      writeFileSync(combined, `${sample}---\n${JSON.stringify(namespace)}\n`);
      // A directory: its .yaml/.yml/.json files in name order; anything else is not a manifest.
      const dir = join(scratch, "manifests");
      mkdirSync(dir);
      writeFileSync(join(dir, "1-deployment.yaml"), sample);
      writeFileSync(join(dir, "2-namespace.json"), JSON.stringify(namespace));
      writeFileSync(join(dir, "README.txt"), "not a manifest");
      const byFlag = cli(["-f", combined, "--registry", REGISTRY]);
      expect(byFlag.code, byFlag.stderr).to.equal(0);
      expect(byFlag.stdout).to.include("kind: Namespace").and.include("acr-p2p-sidecar");
      for (const args of [[combined], ["-"], [dir]]) {
        const r = cli(
          [...args, "--registry", REGISTRY],
          args[0] === "-" ? readFileSync(combined, "utf8") : undefined,
        );
        expect(r.code, `${args[0]}: ${r.stderr}`).to.equal(0);
        expect(r.stdout, String(args[0])).to.equal(byFlag.stdout);
      }
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it("run as `npx acr-p2p inject FILE`, stdout is YAML with nothing before it (pipes into kubectl apply -f -)", () => {
    const r = spawnSync(
      "npx",
      ["--no-install", "acr-p2p", "inject", "examples/deployment.yaml", "--registry", REGISTRY],
      {
        cwd: ROOT,
        encoding: "utf8",
        timeout: 60_000,
      },
    );
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout.startsWith("apiVersion: ")).to.equal(true);
    const docs = parseAllDocuments(r.stdout).map((d) => d.toJS() as Json);
    expect(docs[0]!["kind"]).to.equal("Deployment");
    expect(JSON.stringify(docs)).to.include("acr-p2p-sidecar");
  });

  it("--help lists its options", () => {
    const r = cli(["--help"]);
    expect(r.code).to.equal(0);
    expect(r.stdout).to.include("--filename").and.include("--registry").and.include("--kube-version");
  });
});
