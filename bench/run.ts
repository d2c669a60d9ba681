/**
 * `npm run bench [-- NAME... [options]]`: runs the named benchmarks (all when none is named), each in
 * its own process so one benchmark's heap and sockets cannot skew the next. Each bench/<NAME>.ts prints
 * a table and writes bench/results/<NAME>.json; options after the names (e.g. `--json`) are passed on.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const BENCHMARKS = ["admission", "engine", "sidecar", "p2p", "p2p-bw", "p2p-sim", "startup"] as const;
const here = dirname(fileURLToPath(import.meta.url));

const args = process.argv.slice(2);
// Names come first; everything from the first option on is passed through (options take values:
// `p2p --ns 16` must not read 16 as a benchmark name).
const firstOption = args.findIndex((a) => a.startsWith("-"));
const names = firstOption < 0 ? args : args.slice(0, firstOption);
const options = firstOption < 0 ? [] : args.slice(firstOption);
for (const name of names) {
  if (!(BENCHMARKS as readonly string[]).includes(name)) {
    process.stderr.write(`unknown benchmark ${JSON.stringify(name)}; known: ${BENCHMARKS.join(", ")}\n`);
    process.exit(2);
  }
}

let failures = 0;
for (const name of names.length > 0 ? names : BENCHMARKS) {
  const file = join(here, `${name}.ts`);
  if (!existsSync(file)) {
    process.stderr.write(`benchmark ${name}: ${file} is missing\n`);
    failures++;
    continue;
  }
  if (!options.includes("--json")) process.stdout.write(`\n== bench ${name}\n`);
  const result = spawnSync(process.execPath, [file, ...options], { stdio: "inherit" });
  if (result.status !== 0) failures++;
}
process.exitCode = failures > 0 ? 1 : 0;
