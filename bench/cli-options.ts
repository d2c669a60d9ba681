/** The benchmark scripts' `--flag value` options: a fallback when absent, an error naming a bad number. */

export function optionValue(argv: readonly string[], flag: string, fallback: string): string {
  const at = argv.indexOf(flag);
  return at >= 0 && argv[at + 1] !== undefined ? argv[at + 1]! : fallback;
}

/** A number option above `min` (or at it, when `minIncluded`). */
export function numberOption(
  argv: readonly string[],
  flag: string,
  fallback: string,
  min: number,
  minIncluded = true,
): number {
  const text = optionValue(argv, flag, fallback);
  const n = Number(text);
  if (!Number.isFinite(n) || n < min || (!minIncluded && n === min)) {
    throw new Error(
      `${flag} must be a number ${minIncluded ? ">=" : ">"} ${min}, got ${JSON.stringify(text)}`,
    );
  }
  return n;
}
