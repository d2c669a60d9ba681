/**
 * `npm run demo` flags: pods, image size, the origin's bandwidth, where the report goes, --keep.
 * Sizes take IEC or SI units (128MiB, 1GiB, 100MB); the rate takes bytes per second (50MB/s, 20MiB/s,
 * 0 for unlimited). A bad value is a usage error that names the flag and shows an example.
 */
import { parseArgs } from "node:util";

export interface DemoOptions {
  readonly pods: number;
  readonly sizeBytes: number;
  /** Bytes per second the origin may send in total; null: unlimited. */
  readonly originBytesPerSec: number | null;
  readonly layers: number;
  readonly out: string;
  readonly keep: boolean;
}

export class UsageError extends Error {}

export const USAGE = `usage: npm run demo -- [--pods N] [--size SIZE] [--origin-rate RATE] [--out DIR] [--keep]

Starts a token-auth origin registry behind a byte-counting, rate-limited front, pushes a generated
image, pulls it through N sidecars in one peer group (skopeo, one per pod), then pulls it N times
straight from the origin, and prints what each pod pulled from where.

  --pods N            pods (sidecars), 1..32 (default 4)
  --size SIZE         image size, e.g. 128MiB, 1GiB, 48MiB (default 128MiB)
  --origin-rate RATE  the origin's total bandwidth, e.g. 50MB/s, 20MiB/s; 0 = unlimited (default 50MB/s)
  --layers N          layers of the image, 1..16 (default 4)
  --out DIR           where demo.json and demo.svg go (default .cache/demo)
  --keep              leave everything running and print how to pull by hand (Ctrl-C stops it)
`;

const UNITS: Record<string, number> = {
  "": 1,
  B: 1,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  KIB: 2 ** 10,
  MIB: 2 ** 20,
  GIB: 2 ** 30,
};

export function parseSize(flag: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]i?b|b)?$/i.exec(text.trim());
  const unit = m ? UNITS[(m[2] ?? "").toUpperCase()] : undefined;
  if (!m || unit === undefined)
    throw new UsageError(`${flag} ${JSON.stringify(text)}: expected a size like 128MiB or 1GiB`);
  return Math.round(Number(m[1]) * unit);
}

export function parseRate(flag: string, text: string): number | null {
  const trimmed = text.trim();
  if (trimmed === "0" || trimmed === "unlimited") return null;
  const m = /^(.*?)(\/s)?$/.exec(trimmed)!;
  try {
    return parseSize(flag, m[1]!);
  } catch {
    throw new UsageError(
      `${flag} ${JSON.stringify(text)}: expected a rate like 50MB/s or 20MiB/s, or 0 for unlimited`,
    );
  }
}

function parseCount(flag: string, text: string, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new UsageError(`${flag} ${JSON.stringify(text)}: expected a whole number from 1 to ${max}`);
  return n;
}

/** `{help: true}` for --help; throws UsageError naming the flag for anything else wrong. */
export function parseDemoOptions(argv: string[], defaultOut: string): DemoOptions | { help: true } {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        pods: { type: "string", default: "4" },
        size: { type: "string", default: "128MiB" },
        "origin-rate": { type: "string", default: "50MB/s" },
        layers: { type: "string", default: "4" },
        out: { type: "string", default: defaultOut },
        keep: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  if (values.help) return { help: true };
  const sizeBytes = parseSize("--size", values.size);
  if (sizeBytes < 2 ** 20 || sizeBytes > 8 * 2 ** 30)
    throw new UsageError(`--size ${values.size}: from 1MiB to 8GiB`);
  return {
    pods: parseCount("--pods", values.pods, 32),
    sizeBytes,
    originBytesPerSec: parseRate("--origin-rate", values["origin-rate"]),
    layers: parseCount("--layers", values.layers, 16),
    out: values.out,
    keep: values.keep,
  };
}
