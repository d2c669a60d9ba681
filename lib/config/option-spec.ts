/**
 * How a command's option is declared: its key in the typed config, its environment variable, flag,
 * kind, default, bounds and help. Every command's option table is a list of these; the parsers, the
 * `--help` output and the documentation tables are derived from them.
 */

export type OptionKind = "int" | "number" | "string" | "bool" | "list" | "enum";

/** What each item of a list option must be (lists of other things are taken as written). */
export interface HostListRules {
  /** Every item needs a `:port`. */
  readonly requirePort?: boolean;
  /** Bracketed IPv6 literals are admitted (they cannot be path-encoded into an image reference). */
  readonly allowIPv6?: boolean;
}

export interface OptionSpec {
  /** Key in the typed config object. */
  readonly key: string;
  /** The seed (Helm value) name when the option is a seed parameter. */
  readonly seedName?: string;
  readonly env: string;
  readonly flag: string;
  readonly kind: OptionKind;
  /** Default as the string a user would write; undefined means "not set". */
  readonly default?: string;
  readonly choices?: readonly string[];
  readonly min?: number;
  readonly max?: number;
  /** A list of `host[:port]` items, each checked and lower-cased. */
  readonly hosts?: HostListRules;
  /** A rule the kind and bounds cannot say; returns why the value is refused. */
  readonly check?: (value: OptionValue) => string | undefined;
  readonly help: string;
}

/** An option's typed value: int and number are numbers, list a list of strings, the rest text. */
export type OptionValue = string | number | boolean | readonly string[];

export function option<T extends OptionSpec>(spec: T): T {
  return Object.freeze(spec);
}
