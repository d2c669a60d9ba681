/**
 * A minimal pull client, as a runtime pulls through its sidecar: the manifest, then the config and the
 * layers (three at a time, like containerd's default), each blob's sha256 checked as it streams.
 * A blob that fails (the sidecar withheld a bad blob's last bytes, a connection broke) is retried, as
 * runtimes do; a blob whose bytes complete with the wrong digest is what must never happen, and is
 * counted separately.
 */
import { createHash } from "node:crypto";
import { request } from "undici";

export interface PullTarget {
  /** http://ip:port of the sidecar's registry front. */
  readonly frontUrl: string;
  /** `/v2/<encoded host>` */
  readonly apiPrefix: string;
  readonly repo: string;
  readonly tag: string;
  /** `Basic ...` */
  readonly authorization: string;
}

export interface PullResult {
  readonly ms: number;
  readonly blobBytes: number;
  /** Blob attempts that failed before completing (the runtime would retry them). */
  readonly failedAttempts: number;
  /** Blob bodies that completed with a wrong digest: must stay 0. */
  readonly corruptBlobs: number;
}

const ACCEPT =
  "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

async function fetchBlob(t: PullTarget, digest: string, size: number): Promise<"ok" | "corrupt"> {
  const res = await request(`${t.frontUrl}${t.apiPrefix}/${t.repo}/blobs/${digest}`, {
    headers: { authorization: t.authorization },
    headersTimeout: 60_000,
    bodyTimeout: 60_000,
  });
  if (res.statusCode !== 200) {
    await res.body.dump();
    throw new Error(`blob ${digest}: ${res.statusCode}`);
  }
  const hash = createHash("sha256");
  let got = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    hash.update(chunk);
    got += chunk.byteLength;
  }
  if (got !== size) throw new Error(`blob ${digest}: ${got} of ${size} bytes`);
  return `sha256:${hash.digest("hex")}` === digest ? "ok" : "corrupt";
}

export async function pullImage(
  t: PullTarget,
  opts: { attempts?: number; parallel?: number } = {},
): Promise<PullResult> {
  const started = performance.now();
  const res = await request(`${t.frontUrl}${t.apiPrefix}/${t.repo}/manifests/${t.tag}`, {
    headers: { authorization: t.authorization, accept: ACCEPT },
  });
  if (res.statusCode !== 200) throw new Error(`manifest: ${res.statusCode} ${await res.body.text()}`);
  const manifest = (await res.body.json()) as {
    config: { digest: string; size: number };
    layers: { digest: string; size: number }[];
  };
  const blobs = [manifest.config, ...manifest.layers];
  let failedAttempts = 0;
  let corruptBlobs = 0;
  let blobBytes = 0;
  const queue = [...blobs];
  const worker = async (): Promise<void> => {
    for (let blob = queue.shift(); blob !== undefined; blob = queue.shift()) {
      for (let attempt = 1; ; attempt++) {
        try {
          const outcome = await fetchBlob(t, blob.digest, blob.size);
          if (outcome === "corrupt") corruptBlobs++;
          blobBytes += blob.size;
          break;
        } catch (err) {
          failedAttempts++;
          if (attempt >= (opts.attempts ?? 3)) {
            throw new Error(`blob ${blob.digest}: ${attempt} attempts failed`, { cause: err });
          }
          await new Promise((r) => setTimeout(r, 500 * attempt));
        }
      }
    }
  };
  await Promise.all(Array.from({ length: opts.parallel ?? 3 }, worker));
  return { ms: performance.now() - started, blobBytes, failedAttempts, corruptBlobs };
}
