/**
 * An anonymous registry that lies about content another registry serves honestly: a configured host
 * gone hostile. For any digest it announces blobs of `blobSize` bytes (ranged GETs answer zeros) and
 * answers a manifest asked for by digest with a body of another digest, while its Docker-Content-Digest
 * header repeats the digest asked for.
 *
 *   startLyingRegistry({blobSize}) -> LyingRegistry
 *   liar.host        127.0.0.1:PORT
 *   liar.manifestBody  the body every manifest request gets
 *   liar.close()
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface LyingRegistry {
  readonly host: string;
  readonly manifestBody: Buffer;
  close(): Promise<void>;
}

const DIGEST = "(sha256:[0-9a-f]{64})";
const BLOB_PATH = new RegExp(`^/v2/.+/blobs/${DIGEST}$`);
const MANIFEST_PATH = new RegExp(`^/v2/.+/manifests/${DIGEST}$`);
const MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json";

export async function startLyingRegistry(opts: { blobSize: number }): Promise<LyingRegistry> {
  const manifestBody = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MANIFEST_TYPE, lie: true }));
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://liar").pathname;
    const manifest = MANIFEST_PATH.exec(path);
    if (manifest) {
      res.writeHead(200, {
        "content-type": MANIFEST_TYPE,
        "docker-content-digest": manifest[1]!,
        "content-length": manifestBody.length,
      });
      res.end(req.method === "HEAD" ? undefined : manifestBody);
      return;
    }
    const blob = BLOB_PATH.exec(path);
    if (!blob) {
      res.writeHead(path === "/v2/" ? 200 : 404, { "content-type": "application/json" }).end("{}");
      return;
    }
    const headers = { "docker-content-digest": blob[1]!, "content-type": "application/octet-stream" };
    if (req.method === "HEAD") {
      res.writeHead(200, { ...headers, "content-length": opts.blobSize }).end();
      return;
    }
    const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? "");
    const start = range ? Number(range[1]) : 0;
    const end = range ? Math.min(Number(range[2]), opts.blobSize - 1) : opts.blobSize - 1;
    res.writeHead(range ? 206 : 200, {
      ...headers,
      "content-length": end - start + 1,
      ...(range ? { "content-range": `bytes ${start}-${end}/${opts.blobSize}` } : {}),
    });
    res.end(Buffer.alloc(end - start + 1));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    manifestBody,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
