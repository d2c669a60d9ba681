/**
 * A throwaway origin for hand testing (hack/registry-dev.sh): token server + docker-registry +
 * throttle proxy, with one 3-layer image and one amd64/arm64 index pushed; prints where everything
 * is as one JSON line and runs until SIGINT/SIGTERM.
 *
 *   node test/support/origin/dev-origin.ts [--size-mib N] [--rate-mbps R]
 */
import { parseArgs } from "node:util";
import { startOrigin } from "./origin-stack.ts";
import { splitLayers } from "../images/layers.ts";
import { LINUX_AMD64, LINUX_ARM64, pushImage, pushIndex } from "../images/push.ts";

const { values } = parseArgs({
  options: { "size-mib": { type: "string", default: "16" }, "rate-mbps": { type: "string", default: "0" } },
});
const sizeBytes = Number(values["size-mib"]) * 1024 * 1024;
const rate = Number(values["rate-mbps"]) * 1e6;
if (!(sizeBytes > 0) || !(rate >= 0)) throw new Error("--size-mib must be > 0 and --rate-mbps >= 0");

const origin = await startOrigin({ bytesPerSec: rate || null });
const pusher = origin.pushClient();
const image = await pushImage(pusher, {
  repo: "team-a/app",
  tag: "v1",
  layers: splitLayers(sizeBytes, 3, "dev-app"),
});
const index = await pushIndex(pusher, {
  repo: "team-a/multi",
  tag: "v1",
  images: [
    { platform: LINUX_AMD64, layers: splitLayers(1 << 20, 2, "dev-multi-amd64") },
    { platform: LINUX_ARM64, layers: splitLayers(1 << 20, 2, "dev-multi-arm64") },
  ],
});
console.log(
  JSON.stringify({
    registry: origin.registry.url,
    proxy: origin.proxy.url,
    realm: origin.tokenServer?.realm,
    users: Object.fromEntries(Object.entries(origin.users).map(([u, e]) => [u, e.password])),
    image: `${origin.proxy.host}/${image.reference}`,
    imageBytes: image.totalBytes,
    index: `${origin.proxy.host}/${index.reference}`,
  }),
);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    console.error(
      `proxy sent ${origin.proxy.bodyBytes()} body bytes in ${origin.proxy.records.length} requests`,
    );
    void origin.stop().then(() => process.exit(0));
  });
}
