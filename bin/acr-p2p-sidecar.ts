#!/usr/bin/env node
/**
 * The sidecar image's entry point: the CLI with `sidecar` alone, so its bundle holds the sidecar's
 * code and nothing of the controller's. Injected pods run it with `args: [sidecar]`, like the full CLI.
 */
import { dispatch } from "../lib/cli/dispatch.ts";
import { SIDECAR_SUBCOMMAND } from "../sidecar/cli/sidecar-subcommand.ts";

dispatch({ sidecar: SIDECAR_SUBCOMMAND }, process.argv.slice(2));
