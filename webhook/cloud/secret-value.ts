/**
 * A secret string that cannot leak by accident: JSON, util.inspect and template strings all print
 * `[redacted]`. Only `reveal()` gives the value, at the one place that hands it to the SDK.
 */
import { inspect } from "node:util";

export class SecretValue {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toJSON(): string {
    return "[redacted]";
  }

  toString(): string {
    return "[redacted]";
  }

  [inspect.custom](): string {
    return "[redacted]";
  }
}
