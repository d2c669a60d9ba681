/** `acr-p2p webhook --help` and `acr-p2p inject --help`: every option with its flag, env and default. */
import type { OptionSpec } from "../../lib/sidecar-options.ts";

export function renderOptionsHelp(header: readonly string[], specs: readonly OptionSpec[]): string {
  const lines = [...header, "", "options:"];
  for (const spec of specs) {
    const value =
      spec.kind === "bool" ? "[true|false]" : `<${spec.choices ? spec.choices.join("|") : spec.kind}>`;
    lines.push(`  ${spec.flag} ${value}${spec.kind === "list" ? " (repeatable, or comma-separated)" : ""}`);
    lines.push(
      `      env ${spec.env}${spec.seedName ? `; seed parameter ${spec.seedName}` : ""}; default: ${spec.default ?? "(not set)"}`,
    );
    lines.push(`      ${spec.help}`);
  }
  lines.push("  --help", "      Print this help.", "");
  return lines.join("\n");
}
