#!/usr/bin/env node
/**
 * The one CLI of the project. Each subcommand lives beside the code it runs and exports
 * `main(argv): Promise<number>` (the exit code); only this file and those entry points read argv/env.
 */

interface Subcommand {
  readonly summary: string;
  readonly load: () => Promise<{ main(argv: string[]): Promise<number> }>;
}

const SUBCOMMANDS: Record<string, Subcommand> = {
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
  sidecar: {
    summary: "run the P2P pull-through registry sidecar",
    load: () => import("../sidecar/cli/sidecar-command.ts"),
  },
};

function usage(): string {
  const lines = Object.entries(SUBCOMMANDS).map(([name, s]) => `  ${name.padEnd(10)} ${s.summary}`);
  return `usage: acr-p2p <command> [options]\n\ncommands:\n${lines.join("\n")}\n\nRun 'acr-p2p <command> --help' for a command's options.\n`;
}

async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  const subcommand = SUBCOMMANDS[name];
  if (!subcommand) {
    process.stderr.write(`acr-p2p: unknown command ${JSON.stringify(name)}\n\n${usage()}`);
    return 2;
  }
  const module = await subcommand.load();
  return module.main(rest);
}

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`acr-p2p: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
