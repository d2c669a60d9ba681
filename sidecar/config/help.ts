/** `acr-p2p sidecar --help`: every option of the sidecar's table. */
import { SIDECAR_OPTIONS } from "../../contract/sidecar-options.ts";
import type { OptionSpec } from "../../lib/config/option-spec.ts";
import { renderOptionsHelp } from "../../lib/config/options-help.ts";

const HEADER = [
  "usage: acr-p2p sidecar [options]",
  "",
  "Runs the P2P pull-through registry sidecar. Every option can be given as a flag or as its",
  "environment variable (flags win). List options repeat the flag or take a comma-separated list.",
];

export function renderSidecarHelp(specs: readonly OptionSpec[] = SIDECAR_OPTIONS): string {
  return renderOptionsHelp(HEADER, specs);
}
