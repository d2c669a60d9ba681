/**
 * The images `npm run images` builds (hack/images/build-images.ts), run as a cluster would run them:
 * imported into Debian's containerd and started with a read-only root file system as the image's user.
 * Builds are offline (the pinned .debs were fetched by `npm run images` in hack/ci-deps.sh).
 */
import { expect } from "chai";
import { chmodSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { encodeHostForPath } from "../../../contract/registry-host.ts";
import { buildImages, type BuiltImage } from "../../../hack/images/build-images.ts";
import { freePort, makeTempDir, runCommand, waitUntil } from "../../support/origin/child-process.ts";
import { startOriginWithImage } from "../../support/origin/origin-with-image.ts";
import { startOrigin, type Origin } from "../../support/origin/origin-stack.ts";
import type { PushedImage } from "../../support/images/push.ts";
import { startContainerd, type Containerd } from "../../support/pull-clients/containerd.ts";
import { skopeoCopy } from "../../support/pull-clients/skopeo.ts";

const MiB = 1024 * 1024;
const BUILD_SCRIPT = fileURLToPath(new URL("../../../hack/images/build-images.ts", import.meta.url));

async function layerEntries(image: BuiltImage): Promise<string[][]> {
  const lists: string[][] = [];
  for (const layer of image.layers) {
    const r = await runCommand("tar", ["-tzf", layer.file]);
    expect(r.code, r.stderr).to.equal(0);
    lists.push(r.stdout.split("\n").filter(Boolean));
  }
  return lists;
}

/** `ctr run -d --read-only --net-host`: options go in env (arguments after the id would replace the entrypoint). */
async function runDetached(
  ctrd: Containerd,
  image: string,
  id: string,
  env: Record<string, string>,
): Promise<() => Promise<void>> {
  const envArgs = Object.entries(env).flatMap(([k, v]) => ["--env", `${k}=${v}`]);
  const run = await ctrd.ctr(["run", "-d", "--read-only", "--net-host", ...envArgs, image, id]);
  expect(run.code, run.stderr).to.equal(0);
  return async () => {
    await ctrd.ctr(["tasks", "kill", "-s", "SIGKILL", id]);
    await waitUntil(
      async () => (await ctrd.ctr(["tasks", "rm", "-f", id])).code === 0,
      10_000,
      () => `task ${id} not removed`,
    );
    await ctrd.ctr(["containers", "rm", id]);
  };
}

describe("images: npm run images", function () {
  this.timeout(300_000);
  let images: Record<string, BuiltImage>;

  before(async () => {
    const built = await buildImages({ out: makeTempDir("images"), offline: true });
    images = Object.fromEntries(built.map((i) => [i.name, i]));
  });

  it("building again from nothing cached gives the same digests", async () => {
    const again = await buildImages({
      out: makeTempDir("images-again"),
      layerCache: makeTempDir("layers"),
      offline: true,
    });
    for (const image of again) {
      expect(image.manifest.digest, image.name).to.equal(images[image.name]!.manifest.digest);
    }
  });

  it("the sidecar image is three layers (Debian base, Node, the bundle) with no node_modules and nothing of the controller", async () => {
    const layers = await layerEntries(images.sidecar!);
    expect(layers).to.have.lengthOf(3);
    const [base, node, app] = layers;
    expect(base).to.include.members(["lib/x86_64-linux-gnu/libc.so.6", "etc/passwd", "tmp/"]);
    expect(base!.filter((e) => e.includes("gconv"))).to.deep.equal([]);
    expect(node).to.include("usr/local/bin/node");
    expect(app).to.have.members(["app/", "app/sidecar.mjs", "app/sidecar.mjs.LEGAL.txt"]);
    expect(layers.flat().filter((e) => /node_modules|controller/.test(e))).to.deep.equal([]);
    const compressed = images.sidecar!.layers.reduce((sum, l) => sum + l.size, 0);
    expect(compressed, "sidecar image compressed").to.be.below(50 * 1e6);
  });

  it("--offline with nothing cached fails naming the missing package, and never runs apt-get", async () => {
    const scratch = makeTempDir("images-offline");
    // An apt-get that only leaves a mark: nothing here may reach the network, with or without the fix.
    const bin = join(scratch, "bin");
    const ran = join(scratch, "apt-get-ran");
    mkdirSync(bin);
    writeFileSync(join(bin, "apt-get"), `#!/bin/sh\ntouch ${ran}\nexit 1\n`);
    chmodSync(join(bin, "apt-get"), 0o755);
    const run = await runCommand(
      process.execPath,
      [BUILD_SCRIPT, "--out", join(scratch, "out"), "--offline"],
      {
        env: {
          ...process.env,
          PATH: `${bin}:${process.env.PATH}`,
          ACR_P2P_CACHE: join(scratch, "empty-cache"),
        },
        timeoutMs: 120_000,
      },
    );
    expect(run.code).to.not.equal(0);
    expect(run.stderr).to.match(/libc6_[^ ]+_amd64\.deb is not cached and downloads are off/);
    expect(existsSync(ran), "apt-get ran").to.equal(false);
  });

  it("--push copies both images to a token-auth registry with skopeo and prints the helm flags with their digests", async () => {
    const registry = await startOrigin();
    try {
      const scratch = makeTempDir("images-push");
      const authFile = join(scratch, "auth.json");
      const host = registry.proxy.host;
      writeFileSync(
        authFile,
        JSON.stringify({ auths: { [host]: { auth: Buffer.from("pusher:pusher-pw").toString("base64") } } }),
      );
      const run = await runCommand(
        process.execPath,
        [
          BUILD_SCRIPT,
          "--out",
          join(scratch, "out"),
          "--offline",
          "--push",
          `${host}/acr-p2p`,
          "--push-insecure",
        ],
        { env: { ...process.env, REGISTRY_AUTH_FILE: authFile }, timeoutMs: 240_000 },
      );
      expect(run.code, run.stderr).to.equal(0);
      for (const name of ["controller", "sidecar"]) {
        const digest = images[name]!.manifest.digest;
        expect(run.stdout).to.contain(
          `--set ${name}.image.repository=${host}/acr-p2p/${name} --set ${name}.image.digest=${digest}`,
        );
        const pulled = await skopeoCopy(
          `${host}/acr-p2p/${name}:${images[name]!.tag}`,
          join(scratch, `pulled-${name}`),
          {
            creds: "pusher:pusher-pw",
          },
        );
        expect(pulled.run.code, pulled.run.stderr).to.equal(0);
        expect(pulled.image!.manifestDigest, name).to.equal(digest);
      }
    } finally {
      await registry.stop();
    }
  });

  describe("under containerd", () => {
    let ctrd: Containerd;
    let origin: Origin;
    let pushed: PushedImage;
    let sidecarImage: string;
    const stops: (() => Promise<void>)[] = [];

    before(async () => {
      ctrd = await startContainerd();
      sidecarImage = await ctrd.importLayout(images.sidecar!.dir, "acr-p2p.test/sidecar");
      ({ origin, image: pushed } = await startOriginWithImage(
        [
          { seed: "image-app-0", size: 3 * MiB },
          { seed: "image-app-1", size: 1 * MiB },
        ],
        { repo: "team-a/app" },
      ));
    });
    after(async () => {
      for (const stop of stops.reverse()) await stop();
      await origin?.stop();
      await ctrd?.stop();
    });

    it("the sidecar image runs read-only as 65532, answers /readyz and serves a skopeo pull from the token-auth origin", async () => {
      const port = await freePort();
      const healthPort = await freePort();
      stops.push(
        await runDetached(ctrd, sidecarImage, "sidecar-1", {
          ACR_P2P_PORT: String(port),
          ACR_P2P_HEALTH_PORT: String(healthPort),
          ACR_P2P_UPSTREAM_HOSTS: origin.proxy.host,
          ACR_P2P_PLAIN_HTTP_UPSTREAMS: origin.proxy.host,
          ACR_P2P_ALLOWED_HOSTS: new URL(origin.tokenServer!.realm).host,
        }),
      );
      await waitUntil(
        async () => {
          try {
            return (await fetch(`http://127.0.0.1:${healthPort}/readyz`)).status === 200;
          } catch {
            return false;
          }
        },
        30_000,
        () => "the sidecar container never answered /readyz",
      );
      const uid = await ctrd.ctr([
        "tasks",
        "exec",
        "--exec-id",
        "uid",
        "sidecar-1",
        "/usr/local/bin/node",
        "-p",
        "process.getuid()",
      ]);
      expect(uid.stdout.trim(), uid.stderr).to.equal("65532");
      const write = await ctrd.ctr([
        "tasks",
        "exec",
        "--exec-id",
        "write",
        "sidecar-1",
        "/usr/local/bin/node",
        "-e",
        'require("fs").writeFileSync("/tmp/x", "")',
      ]);
      // /tmp is 1777: only the read-only root file system refuses this write.
      expect(write.code, "writing to the root file system").to.not.equal(0);
      expect(write.stderr).to.contain("EROFS");

      const res = await skopeoCopy(
        `127.0.0.1:${port}/${encodeHostForPath(origin.proxy.host)}/${pushed.reference}`,
        join(makeTempDir("image-skopeo"), "out"),
        { creds: "alice:alice-pw" },
      );
      expect(res.run.code, res.run.stderr).to.equal(0);
      expect(res.image!.manifestDigest).to.equal(pushed.manifest.digest);
      expect(res.image!.blobs).to.have.members([pushed.config.digest, ...pushed.layers.map((l) => l.digest)]);
    });

    it("the controller image runs read-only as 65532: every subcommand loads (webhook needs an API server, so --help)", async () => {
      const controllerImage = await ctrd.importLayout(images.controller!.dir, "acr-p2p.test/controller");
      const uid = await ctrd.ctr([
        "run",
        "--rm",
        "--read-only",
        controllerImage,
        "controller-uid",
        "/usr/local/bin/node",
        "-p",
        "process.getuid()",
      ]);
      expect(uid.stdout.trim(), uid.stderr).to.equal("65532");
      for (const command of ["webhook", "certgen", "inject"]) {
        const run = await ctrd.ctr([
          "run",
          "--rm",
          "--read-only",
          controllerImage,
          `controller-${command}`,
          "/usr/local/bin/node",
          "/app/controller.mjs",
          command,
          "--help",
        ]);
        expect(run.code, `${command}: ${run.stderr}`).to.equal(0);
        expect(run.stdout, command).to.match(new RegExp(`^usage: acr-p2p ${command}`));
      }
    });
  });
});
