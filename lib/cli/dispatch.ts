/**
 * Runs one subcommand of a CLI entry point. Each subcommand lives beside the code it runs and exports
 * `main(argv): Promise<number>` (the exit code); only the entry points and those mains read argv/env.
 * The entry points differ only in the subcommands they offer: the sidecar image's bundle is built from
 * one that offers `sidecar` alone, so it carries none of the controller's code.
 */

export interface Subcommand {
  readonly summary: string;
  readonly load: () => Promise<{ main(argv: string[]): Promise<number> }>;
}

function usage(subcommands: Readonly<Record<string, Subcommand>>): string {
  const lines = Object.entries(subcommands).map(([name, s]) => `  ${name.padEnd(10)} ${s.summary}`);
  return `usage: acr-p2p <command> [options]\n\ncommands:\n${lines.join("\n")}\n\nRun 'acr-p2p <command> --help' for a command's options.\n`;
}

/** Every entry point offers `version`. */
const VERSION: Subcommand = {
  summary: "print the release, its git revision and the Node version",
  load: () => import("./version-command.ts"),
};

async function run(offered: Readonly<Record<string, Subcommand>>, argv: string[]): Promise<number> {
  const subcommands: Readonly<Record<string, Subcommand>> = { ...offered, version: VERSION };
  const [name, ...rest] = argv;
  // Asked for: stdout, exit 0. A usage error (no command): stderr, exit 2, as other CLIs do.
  if (name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(usage(subcommands));
    return 0;
  }
  if (name === undefined) {
    process.stderr.write(usage(subcommands));
    return 2;
  }
  if (name === "--version") return (await VERSION.load()).main([]);
  const subcommand = subcommands[name];
  if (!subcommand) {
    process.stderr.write(`acr-p2p: unknown command ${JSON.stringify(name)}\n\n${usage(subcommands)}`);
    return 2;
  }
  const module = await subcommand.load();
  return module.main(rest);
}

/** Runs the subcommand argv names and sets the exit code; an error thrown by it becomes one line and 1. */
export function dispatch(subcommands: Readonly<Record<string, Subcommand>>, argv: string[]): void {
  run(subcommands, argv).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`acr-p2p: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
