/** Turns one option's raw text into a typed value, checking the table's kind, range and choices. */
import type { OptionSpec, OptionValue } from "./option-spec.ts";
import type { RawOptions } from "./raw-options.ts";
import { ConfigError } from "./config-error.ts";

export function parseInt(spec: OptionSpec, text: string): number {
  if (!/^-?\d+$/.test(text.trim()))
    throw ConfigError.forSpec(spec, `not an integer: ${JSON.stringify(text)}`);
  const value = Number(text.trim());
  if (!Number.isSafeInteger(value)) throw ConfigError.forSpec(spec, `out of range: ${text}`);
  return checkRange(spec, value);
}

export function parseNumber(spec: OptionSpec, text: string): number {
  const value = Number(text.trim());
  if (text.trim() === "" || !Number.isFinite(value)) {
    throw ConfigError.forSpec(spec, `not a number: ${JSON.stringify(text)}`);
  }
  return checkRange(spec, value);
}

export function parseBool(spec: OptionSpec, text: string): boolean {
  const t = text.trim().toLowerCase();
  if (t === "true" || t === "1") return true;
  if (t === "false" || t === "0") return false;
  throw ConfigError.forSpec(spec, `expected true or false, got ${JSON.stringify(text)}`);
}

export function parseChoice<T extends string>(spec: OptionSpec, text: string): T {
  const choices = spec.choices ?? [];
  if (!choices.includes(text)) {
    throw ConfigError.forSpec(spec, `expected one of ${choices.join(", ")}, got ${JSON.stringify(text)}`);
  }
  return text as T;
}

function checkRange(spec: OptionSpec, value: number): number {
  if (spec.min !== undefined && value < spec.min) {
    throw ConfigError.forSpec(spec, `${value} is below the minimum ${spec.min}`);
  }
  if (spec.max !== undefined && value > spec.max) {
    throw ConfigError.forSpec(spec, `${value} is above the maximum ${spec.max}`);
  }
  return value;
}

const HOST_RE =
  /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\])(?::(\d{1,5}))?$/;

/** `host[:port]`, lower-cased; `allowIPv6` admits bracketed literals (they cannot be path-encoded). */
export function parseHostPort(
  spec: OptionSpec,
  text: string,
  opts: { requirePort?: boolean; allowIPv6?: boolean } = {},
): string {
  const host = text.trim().toLowerCase();
  const m = HOST_RE.exec(host);
  if (!m) throw ConfigError.forSpec(spec, `not a host[:port]: ${JSON.stringify(text)}`);
  if (host.startsWith("[") && !opts.allowIPv6) {
    throw ConfigError.forSpec(spec, `IPv6 literal ${text} is not supported here`);
  }
  const port = m[1];
  if (port === undefined && opts.requirePort) throw ConfigError.forSpec(spec, `${text} needs a :port`);
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) {
    throw ConfigError.forSpec(spec, `bad port in ${JSON.stringify(text)}`);
  }
  return host;
}

/**
 * One option's raw text (a list's items) as its typed value, checked against everything its
 * declaration says: kind, bounds, choices, host rules and its own check.
 */
export function parseOptionValue(spec: OptionSpec, raw: string | readonly string[]): OptionValue {
  const value = typedValue(spec, raw);
  const refused = spec.check?.(value);
  if (refused !== undefined) throw ConfigError.forSpec(spec, refused);
  return value;
}

function typedValue(spec: OptionSpec, raw: string | readonly string[]): OptionValue {
  if (spec.kind === "list") {
    const items = typeof raw === "string" ? [raw] : raw;
    const rules = spec.hosts;
    if (rules === undefined) return Object.freeze([...items]);
    return Object.freeze([...new Set(items.map((item) => parseHostPort(spec, item, rules)))]);
  }
  const text = typeof raw === "string" ? raw : raw.join(",");
  switch (spec.kind) {
    case "int":
      return parseInt(spec, text);
    case "number":
      return parseNumber(spec, text);
    case "bool":
      return parseBool(spec, text);
    case "enum":
      return parseChoice(spec, text);
    case "string":
      return text;
  }
}

/** Each option's typed value by key, for the options that have one (set, or a default). */
export function parseOptionValues(
  specs: readonly OptionSpec[],
  raw: RawOptions,
): ReadonlyMap<string, OptionValue> {
  const values = new Map<string, OptionValue>();
  for (const spec of specs) {
    const text = raw.values.get(spec.key);
    if (text !== undefined) values.set(spec.key, parseOptionValue(spec, text));
  }
  return values;
}

/** A typed value as the text that parses back to it (a list comma-separated). */
export function formatOptionValue(value: OptionValue): string {
  return typeof value === "object" ? value.join(",") : String(value);
}
