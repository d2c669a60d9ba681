/** The `sidecar` subcommand, offered by both entry points (the full CLI and the sidecar image's). */
import type { Subcommand } from "../../lib/cli/dispatch.ts";

export const SIDECAR_SUBCOMMAND: Subcommand = {
  summary: "run the P2P pull-through registry sidecar",
  load: () => import("./sidecar-command.ts"),
};
