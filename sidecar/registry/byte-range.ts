/**
 * The Range header of a blob GET, parsed at the edge into a typed value and resolved against the blob
 * size once that is known. Only one `bytes=` range is served; a malformed or unsatisfiable one is a 416
 * RANGE_INVALID (other units are ignored, as RFC 9110 allows).
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

export function parseRangeHeader(header: string | undefined): RangeSpec | undefined {
  if (header === undefined) return undefined;
  const text = header.trim();
  if (!text.toLowerCase().startsWith("bytes=")) return undefined;
  const m = /^(\d*)-(\d*)$/.exec(text.slice(6).trim());
  if (!m || (m[1] === "" && m[2] === ""))
    throw rangeInvalid(`unsupported or malformed range ${JSON.stringify(header)}`);
  const [, a = "", b = ""] = m;
  if (a === "") return { kind: "suffix", length: safe(b, header) };
  const start = safe(a, header);
  if (b === "") return { kind: "from", start };
  const end = safe(b, header);
  if (end < start) throw rangeInvalid(`range ${JSON.stringify(header)} ends before it starts`);
  return { kind: "from", start, end };
}

export function resolveRange(spec: RangeSpec, size: number): ResolvedRange {
  if (spec.kind === "suffix") {
    if (spec.length === 0 || size === 0) throw unsatisfiable(size);
    return { start: Math.max(0, size - spec.length), end: size - 1 };
  }
  if (spec.start >= size) throw unsatisfiable(size);
  return { start: spec.start, end: Math.min(spec.end ?? size - 1, size - 1) };
}

function safe(digits: string, header: string): number {
  const n = Number(digits);
  if (!Number.isSafeInteger(n)) throw rangeInvalid(`range ${JSON.stringify(header)} is out of bounds`);
  return n;
}

function rangeInvalid(message: string): OciError {
  return new OciError("RANGE_INVALID", message);
}

function unsatisfiable(size: number): OciError {
  return new OciError("RANGE_INVALID", `range not satisfiable for a blob of ${size} bytes`, {
    headers: { "content-range": `bytes */${size}` },
    detail: { size },
  });
}
