/** `acr-p2p <command> --help`: every option of a command's table with its flag, env and default. */
import type { OptionSpec } from "./option-spec.ts";

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
