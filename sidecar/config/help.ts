/** `acr-p2p sidecar --help`: every option of the table with its flag, env variable, default and help. */
import { SIDECAR_OPTIONS, type OptionSpec } from "../../lib/sidecar-options.ts";

export function renderSidecarHelp(specs: readonly OptionSpec[] = SIDECAR_OPTIONS): string {
  const lines = [
    "usage: acr-p2p sidecar [options]",
    "",
    "Runs the P2P pull-through registry sidecar. Every option can be given as a flag or as its",
    "environment variable (flags win). List options repeat the flag or take a comma-separated list.",
    "",
    "options:",
  ];
  for (const spec of specs) {
    const value =
      spec.kind === "bool" ? "[true|false]" : `<${spec.choices ? spec.choices.join("|") : spec.kind}>`;
    lines.push(`  ${spec.flag} ${value}`);
    lines.push(`      env ${spec.env}${spec.seedName ? `; seed parameter ${spec.seedName}` : ""}`);
    lines.push(`      default: ${spec.default ?? "(not set)"}`);
    lines.push(`      ${spec.help}`);
  }
  lines.push("  --help", "      Print this help.", "");
  return lines.join("\n");
}
