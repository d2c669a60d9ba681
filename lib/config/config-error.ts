/** A bad configuration value. The message always names the option (its key, env variable and flag). */
import type { OptionSpec } from "./option-spec.ts";
import { CodedError } from "../coded-error.ts";

export class ConfigError extends CodedError<"CONFIG_INVALID"> {
  readonly option: string;
  constructor(option: string, message: string) {
    super("CONFIG_INVALID", message);
    this.name = "ConfigError";
    this.option = option;
  }

  static forSpec(spec: OptionSpec, reason: string): ConfigError {
    return new ConfigError(spec.key, `${describeOption(spec)}: ${reason}`);
  }
}

/** `blocksize (ACR_P2P_BLOCKSIZE / --blocksize)`: how a user finds the option wherever they set it. */
export function describeOption(spec: OptionSpec): string {
  const name = spec.seedName ?? spec.key;
  return `${name} (${spec.env} / ${spec.flag})`;
}
