/**
 * The pull client of `npm run bench -- p2p-bw`, run inside a peer's network namespace so that it
 * reaches its sidecar over that namespace's loopback (a pod's containerd and its sidecar), not over the
 * capped link: the manifest, then every blob at once, bodies counted and discarded (discard-get.ts).
 *
 *   node bench/bw-pull.ts BASE REPO START_AT_MS
 *
 * Waits until START_AT_MS (epoch ms, so that all clients start together whatever their own start-up
 * took), then prints one JSON line: {"ms": pull time, "bytes": blob bytes}. Exits 1 with the error.
 */
import { discardGet } from "./discard-get.ts";

async function main(): Promise<void> {
  const [base, repo, startAt] = process.argv.slice(2);
  if (!base || !repo || !startAt) throw new Error("usage: bw-pull.ts BASE REPO START_AT_MS");
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, Number(startAt) - Date.now())));
  const t0 = performance.now();
  const res = await fetch(`${base}/${repo}/manifests/v1`, {
    headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
  });
  if (res.status !== 200) throw new Error(`manifest: ${res.status} ${await res.text()}`);
  type Descriptor = { digest: string; size: number };
  const manifest = (await res.json()) as { config: Descriptor; layers: Descriptor[] };
  const sizes = await Promise.all(
    [manifest.config, ...manifest.layers].map(async ({ digest, size }) => {
      const got = await discardGet(`${base}/${repo}/blobs/${digest}`, {});
      if (got.status !== 200 || got.bytes !== size) {
        throw new Error(`GET blob ${digest}: status ${got.status}, ${got.bytes} of ${size} bytes`);
      }
      return size;
    }),
  );
  const bytes = sizes.reduce((a, b) => a + b, 0);
  process.stdout.write(`${JSON.stringify({ ms: performance.now() - t0, bytes })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
