/**
 * Collects each option's raw text from the command line and the environment, using only the option
 * table: flags win over env, env over defaults. List options repeat as flags (`--upstream-host a
 * --upstream-host b`) or are comma-separated in env and flags.
 */
import type { OptionSpec } from "./option-spec.ts";
import { ConfigError } from "./config-error.ts";

export interface RawOptions {
  /** Raw text per option key; lists are already split. Absent means "not set, no default". */
  readonly values: ReadonlyMap<string, string | readonly string[]>;
  /** Keys the user set explicitly (flag or env), as opposed to defaults. */
  readonly explicit: ReadonlySet<string>;
  readonly help: boolean;
  /** Arguments that are not options (`-` included), in order; only when the command takes them. */
  readonly positionals: readonly string[];
}

/** A command's options: `{help: true}` when --help was asked (nothing else is validated then). */
export interface ParsedArgs<T> {
  readonly help: boolean;
  readonly config?: T;
}

/** Collects the raw options and, unless --help was asked, builds the typed config from them. */
export function parseArgs<T>(
  specs: readonly OptionSpec[],
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  build: (raw: RawOptions) => T,
): ParsedArgs<T> {
  const raw = collectRawOptions(specs, argv, env);
  return raw.help ? { help: true } : { help: false, config: build(raw) };
}

export function collectRawOptions(
  specs: readonly OptionSpec[],
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  opts: { positionals?: boolean } = {},
): RawOptions {
  const byFlag = new Map(specs.map((s) => [s.flag, s]));
  const fromFlags = new Map<string, string[]>();
  const positionals: string[] = [];
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--help" || arg === "-h") {
      help = true;
      continue;
    }
    if (opts.positionals && (arg === "-" || !arg.startsWith("-"))) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const flag = eq >= 0 ? arg.slice(0, eq) : arg;
    const spec = byFlag.get(flag);
    if (!spec) throw new ConfigError(flag, `unknown option ${JSON.stringify(arg)} (see --help)`);
    let value: string;
    if (eq >= 0) value = arg.slice(eq + 1);
    else if (spec.kind === "bool" && !isBoolText(argv[i + 1])) value = "true";
    else {
      const next = argv[i + 1];
      if (next === undefined) throw ConfigError.forSpec(spec, "missing value");
      value = next;
      i++;
    }
    const list = fromFlags.get(spec.key) ?? [];
    list.push(value);
    fromFlags.set(spec.key, list);
  }

  const values = new Map<string, string | readonly string[]>();
  const explicit = new Set<string>();
  for (const spec of specs) {
    const flagged = fromFlags.get(spec.key);
    const envText = env[spec.env];
    if (spec.kind === "list") {
      const items = flagged ?? (envText !== undefined ? [envText] : undefined);
      if (items !== undefined) {
        values.set(spec.key, splitList(items));
        explicit.add(spec.key);
      } else if (spec.default !== undefined) values.set(spec.key, splitList([spec.default]));
      continue;
    }
    if (flagged && flagged.length > 1) throw ConfigError.forSpec(spec, "given more than once");
    const text = flagged?.[0] ?? envText;
    if (text !== undefined && text !== "") {
      values.set(spec.key, text);
      explicit.add(spec.key);
    } else if (spec.default !== undefined) values.set(spec.key, spec.default);
  }
  return { values, explicit, help, positionals };
}

function splitList(items: readonly string[]): string[] {
  return items
    .flatMap((item) => item.split(","))
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function isBoolText(text: string | undefined): boolean {
  return text === "true" || text === "false";
}
