/**
 * The per-block check value of a verified record: a GMAC (AES-256-GCM with the block as associated data
 * and no plaintext) under a key each process draws at random and never sends anywhere.
 *
 * Why not the block's sha256: a blob never verified before is hashed as a whole (that sha256 is what the
 * registry promises), and a second sha256 of every block, only to remember it, doubled the cold path's
 * hashing (about a fifth of a sidecar's CPU, docs/p2p.md). GMAC runs at 9-11 GB/s here against 1.8 GB/s
 * for sha256 (SHA-NI), so the blob's bytes are hashed once.
 *
 * Why it is safe: the tags only ever meet other tags of this process (a later copy of the block, or the
 * authoritative copy during a mismatch recovery). For two different blocks of L 16-byte words, GHASH
 * under a secret random key collides with probability at most (L + 1) / 2^128 (it is a polynomial of
 * degree L + 1 in the key), so a peer who cannot see the key or any tag cannot craft a block that passes
 * for another. That is why one fixed IV is enough: the encrypted IV only masks the tag, and no tag leaves
 * the process for anyone to unmask.
 */
import { createCipheriv, createSecretKey, randomBytes } from "node:crypto";
import type { KeyObject } from "node:crypto";

export const BLOCK_TAG_BYTES = 16;

const IV = Buffer.alloc(12);

export class BlockTagger {
  /** A KeyObject, not a Buffer: a Buffer key is parsed again by every createCipheriv (+60% per block). */
  readonly #key: KeyObject;

  /** `key`: 32 bytes; default random (tests pass one to pin the algorithm). */
  constructor(key: Buffer = randomBytes(32)) {
    if (key.byteLength !== 32) throw new RangeError(`a block tag key is 32 bytes, got ${key.byteLength}`);
    this.#key = createSecretKey(key);
  }

  tag(bytes: Uint8Array): Buffer {
    const gcm = createCipheriv("aes-256-gcm", this.#key, IV);
    gcm.setAAD(bytes);
    gcm.final();
    return gcm.getAuthTag();
  }
}
