/**
 * Faults the throttle proxy can inject, and which request each rule applies to.
 *
 *   corrupt   flip the bytes at blob offsets [offset, offset+length) (absolute, so Range responses
 *             are corrupted at the same place); Content-Length is unchanged
 *   stall     send `afterBytes` body bytes, then nothing, keeping the connection open
 *   cut       send `afterBytes` body bytes, then destroy the connection
 *   redirect  answer with `status` (default 307) and Location, without asking the origin; `{path}` in
 *             the location becomes the request's path and query (redirect to a mirror of the blob)
 *   status    answer with `status` and an OCI error body, without asking the origin
 *   delay     wait `ms` before forwarding the request
 *
 * A rule matches a request by blob digest and/or a path substring, for the listed methods
 * (default GET), at most `times` times (default: always).
 */

export type Fault =
  | { kind: "corrupt"; offset?: number; length?: number }
  | { kind: "stall"; afterBytes: number }
  | { kind: "cut"; afterBytes: number }
  | { kind: "redirect"; location: string; status?: 301 | 302 | 303 | 307 | 308 }
  | { kind: "status"; status: number }
  | { kind: "delay"; ms: number };

export interface FaultRule {
  digest?: string;
  pathIncludes?: string;
  methods?: string[];
  times?: number;
  fault: Fault;
}

interface ActiveRule extends FaultRule {
  used: number;
}

const blobPathRe = /^\/v2\/(.+)\/blobs\/(sha256:[a-f0-9]{64})$/;

/** The digest of a `/v2/<name>/blobs/<digest>` path, or null. */
export function blobDigestOf(path: string): string | null {
  return blobPathRe.exec(path.split("?")[0] ?? "")?.[2] ?? null;
}

export class FaultTable {
  #rules: ActiveRule[] = [];

  /** Adds a rule; the returned function removes it. */
  add(rule: FaultRule): () => void {
    const active: ActiveRule = { ...rule, used: 0 };
    this.#rules.push(active);
    return () => {
      this.#rules = this.#rules.filter((r) => r !== active);
    };
  }

  clear(): void {
    this.#rules = [];
  }

  /** The faults for this request, in the order they were added; counts each use. */
  take(method: string, path: string): Fault[] {
    const digest = blobDigestOf(path);
    const out: Fault[] = [];
    for (const rule of this.#rules) {
      if (!(rule.methods ?? ["GET"]).includes(method)) continue;
      if (rule.digest !== undefined && rule.digest !== digest) continue;
      if (rule.pathIncludes !== undefined && !path.includes(rule.pathIncludes)) continue;
      if (rule.used >= (rule.times ?? Infinity)) continue;
      rule.used++;
      out.push(rule.fault);
    }
    return out;
  }
}

/** Flips the bytes of `piece` (at blob offset `at`) that fall inside the corrupt range. */
export function corruptPiece(piece: Buffer, at: number, fault: { offset?: number; length?: number }): Buffer {
  const from = Math.max(fault.offset ?? 0, at);
  const to = Math.min((fault.offset ?? 0) + (fault.length ?? 1), at + piece.length);
  if (from >= to) return piece;
  const copy = Buffer.from(piece);
  for (let i = from; i < to; i++) copy[i - at] = copy[i - at]! ^ 0xff;
  return copy;
}
