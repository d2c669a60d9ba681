#!/usr/bin/env node
/** The project's CLI: every subcommand (the controller image's entry point). */
import { dispatch } from "../lib/cli/dispatch.ts";
import { SIDECAR_SUBCOMMAND } from "../sidecar/cli/sidecar-subcommand.ts";

dispatch(
  {
    webhook: {
      summary: "run the controller: admission webhook (and peer directory)",
      load: () => import("../webhook/cli/webhook-command.ts"),
    },
    inject: {
      summary: "print a Pod / workload as the webhook would mutate it",
      load: () => import("../webhook/cli/inject-command.ts"),
    },
    certgen: {
      summary: "create the webhook's CA and serving cert Secret and patch caBundle",
      load: () => import("../webhook/cli/certgen-command.ts"),
    },
    cleanup: {
      summary: "delete the webhook configuration and the secrets acr-p2p made (helm uninstall hook)",
      load: () => import("../webhook/cli/cleanup-command.ts"),
    },
    sidecar: SIDECAR_SUBCOMMAND,
  },
  process.argv.slice(2),
);
