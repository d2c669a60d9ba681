/**
 * Kubernetes resource quantities, the subset the webhook reads and writes: decimal or binary suffixes
 * and milli (`50m`, `0.5`, `1.5Gi`, `512M`). Byte sizes must come out whole; a quantity with an
 * exponent (`1e9`) is accepted as the API accepts it.
 */

const QUANTITY_RE =
  /^([+]?[0-9]+(?:\.[0-9]*)?|[+]?\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$/;

const MULTIPLIER: Readonly<Record<string, number>> = {
  "": 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** The quantity's value in base units (cores, bytes), or undefined when it is not a quantity. */
export function parseQuantity(text: string): number | undefined {
  const m = QUANTITY_RE.exec(text.trim());
  if (!m) return undefined;
  const number = Number(m[1]);
  const suffix = m[2] ?? "";
  const factor = /^[eE]/.test(suffix) ? 10 ** Number(suffix.slice(1)) : MULTIPLIER[suffix];
  if (factor === undefined) return undefined;
  const value = number * factor;
  return Number.isFinite(value) ? value : undefined;
}

/** A byte size: a quantity that is a whole number of bytes (within 2^53). */
export function parseByteQuantity(text: string): number | undefined {
  const value = parseQuantity(text);
  if (value === undefined || !Number.isSafeInteger(value)) return undefined;
  return value;
}

/** Bytes in the largest binary unit that divides them exactly: `672Mi`, `1Gi`, `1000`. */
export function formatBytes(bytes: number): string {
  for (const unit of ["Ei", "Pi", "Ti", "Gi", "Mi", "Ki"] as const) {
    const size = MULTIPLIER[unit] as number;
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return String(bytes);
}
