/**
 * OwnerBlocks over whole blobs held in memory, keyed by (host, repo): the in-memory implementation
 * beside the engine-backed one, for tests of the peer protocol and for serving fixed content.
 */
import { blockLength, blockOffset } from "./peer-protocol.ts";
import type { PeerBlockRequest } from "./peer-protocol.ts";
import type { OwnerBlocks } from "./peer-server.ts";

export class MemoryOwnerBlocks implements OwnerBlocks {
  readonly #blobs = new Map<string, Uint8Array>();
  /** Requests answered, for tests that count them. */
  served = 0;

  add(host: string, repo: string, digest: string, bytes: Uint8Array): void {
    this.#blobs.set(`${host}/${repo}@${digest}`, bytes);
  }

  async get(req: PeerBlockRequest): Promise<Uint8Array | undefined> {
    const blob = this.#blobs.get(`${req.host}/${req.repo}@${req.digest}`);
    if (blob === undefined || blob.byteLength !== req.blobSize) return undefined;
    this.served++;
    const offset = blockOffset(req);
    return blob.subarray(offset, offset + blockLength(req));
  }
}
