/**
 * Mocha's spec reporter plus one plain closing line, `<tier>: N passed, N failed`, that CI reads, and
 * a JSON record of the counts (ACR_P2P_TEST_SUMMARY=<file>) that test/run-all.ts adds up.
 */
import Mocha from "mocha";
import { appendFileSync } from "node:fs";

const { Spec } = Mocha.reporters;
const { EVENT_RUN_END } = Mocha.Runner.constants;

export default class SummaryReporter extends Spec {
  constructor(runner: Mocha.Runner, options?: Mocha.MochaOptions) {
    super(runner, options);
    runner.once(EVENT_RUN_END, () => {
      const stats = runner.stats ?? { passes: 0, failures: 0, pending: 0 };
      const tier = process.env.ACR_P2P_TEST_TIER ?? "tests";
      process.stdout.write(`${tier}: ${stats.passes} passed, ${stats.failures} failed\n`);
      const file = process.env.ACR_P2P_TEST_SUMMARY;
      if (file) {
        const record = { tier, passed: stats.passes, failed: stats.failures, pending: stats.pending };
        appendFileSync(file, JSON.stringify(record) + "\n");
      }
    });
  }
}
