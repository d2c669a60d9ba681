/**
 * The Range header of a blob GET, parsed at the edge into a typed value and resolved against the blob
 * size once that is known. One `bytes=` range is served; anything else (several ranges, other units,
 * a malformed one) is ignored and the whole blob answered with 200, as RFC 9110 allows: 416
 * RANGE_INVALID is for a range the blob cannot satisfy, nothing else.
 */
import { OciError } from "./oci-error.ts";

export type RangeSpec =
  | { readonly kind: "from"; readonly start: number; readonly end?: number }
  | { readonly kind: "suffix"; readonly length: number };

/** Inclusive byte positions, as in Content-Range. */
export interface ResolvedRange {
  readonly start: number;
  readonly end: number;
}

const SINGLE_RANGE = /^bytes=\s*(\d*)-(\d*)\s*$/i;

export function parseRangeHeader(header: string | undefined): RangeSpec | undefined {
  const m = header === undefined ? null : SINGLE_RANGE.exec(header.trim());
  if (!m) return undefined;
  const [, a = "", b = ""] = m;
  if (a === "" && b === "") return undefined;
  // Positions past what a blob can hold are unsatisfiable (start) or mean "to the end" (end, suffix).
  if (a === "") return { kind: "suffix", length: bounded(b) };
  const start = bounded(a);
  if (b === "") return { kind: "from", start };
  const end = bounded(b);
  return end < start ? undefined : { kind: "from", start, end };
}

export function resolveRange(spec: RangeSpec, size: number): ResolvedRange {
  if (spec.kind === "suffix") {
    if (spec.length === 0 || size === 0) throw unsatisfiable(size);
    return { start: Math.max(0, size - spec.length), end: size - 1 };
  }
  if (spec.start >= size) throw unsatisfiable(size);
  return { start: spec.start, end: Math.min(spec.end ?? size - 1, size - 1) };
}

function bounded(digits: string): number {
  return Math.min(Number(digits), Number.MAX_SAFE_INTEGER);
}

function unsatisfiable(size: number): OciError {
  return new OciError("RANGE_INVALID", `range not satisfiable for a blob of ${size} bytes`, {
    headers: { "content-range": `bytes */${size}` },
    detail: { size },
  });
}
