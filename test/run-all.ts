/**
 * `npm test`: the linter, then every test tier in turn (a failing tier does not hide the next ones),
 * then one closing line with the totals: `N passed, N failed`. Exits non-zero if anything failed.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const TIERS = ["unit", "integration", "cluster", "node"] as const;

function npmRun(script: string, env: NodeJS.ProcessEnv = {}): number {
  const result = spawnSync("npm", ["run", "--silent", script], {
    stdio: "inherit",
    env: { ...process.env, ...env },
  });
  return result.status ?? 1;
}

const selected = process.argv
  .slice(2)
  .filter((t): t is (typeof TIERS)[number] => (TIERS as readonly string[]).includes(t));
const tiers = selected.length > 0 ? selected : TIERS;
const dir = mkdtempSync(join(tmpdir(), "acr-p2p-tests-"));
const summaryFile = join(dir, "summary.jsonl");
let failedSteps = 0;

if (npmRun("lint") !== 0) {
  process.stdout.write("lint: failed\n");
  failedSteps++;
}
for (const tier of tiers) {
  if (npmRun(`test:${tier}`, { ACR_P2P_TEST_TIER: tier, ACR_P2P_TEST_SUMMARY: summaryFile }) !== 0)
    failedSteps++;
}

let passed = 0;
let failed = 0;
let text = "";
try {
  text = readFileSync(summaryFile, "utf8");
} catch {
  // no tier got as far as reporting
}
const reported = new Set<string>();
for (const line of text.split("\n").filter(Boolean)) {
  const record = JSON.parse(line) as { tier: string; passed: number; failed: number };
  reported.add(record.tier);
  passed += record.passed;
  failed += record.failed;
}
for (const tier of tiers) {
  if (!reported.has(tier)) {
    process.stdout.write(`${tier}: did not run to the end\n`);
    failed++;
  }
}
rmSync(dir, { recursive: true, force: true });
process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
process.exitCode = failed > 0 || failedSteps > 0 ? 1 : 0;
