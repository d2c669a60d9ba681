/** webhook/README.md documents every option of the webhook, inject, certgen and cleanup (env and flag). */
import { readFileSync } from "node:fs";
import { expect } from "chai";
import { CERTGEN_OPTIONS } from "../../../webhook/certgen/certgen-config.ts";
import { CLEANUP_OPTIONS } from "../../../webhook/cleanup/cleanup-config.ts";
import { INJECT_OPTIONS } from "../../../webhook/cli/inject-command.ts";
import { ALL_WEBHOOK_OPTIONS } from "../../../webhook/config/webhook-config.ts";
import { SKIP_REASONS } from "../../../webhook/mutation/skip.ts";

describe("webhook/README.md", () => {
  const readme = readFileSync(new URL("../../../webhook/README.md", import.meta.url), "utf8");

  const shared = new Set(ALL_WEBHOOK_OPTIONS.map((o) => o.env));
  const commands = [...INJECT_OPTIONS, ...CERTGEN_OPTIONS, ...CLEANUP_OPTIONS];
  const redefined = new Set(commands.filter((o) => shared.has(o.env)));

  it("lists every option with its env variable, flag and default", () => {
    for (const o of [...ALL_WEBHOOK_OPTIONS, ...commands]) {
      const row = readme.split("\n").find((l) => new RegExp(`^\\| \`${o.env}\` +\\| \`${o.flag}\``).test(l));
      expect(row, `${o.env} ${o.flag}`).to.not.equal(undefined);
      // inject, certgen and cleanup reuse some webhook options with other defaults, stated in the prose.
      if (o.default !== undefined && !redefined.has(o)) expect(row, o.env).to.include(`\`${o.default}\``);
    }
  });

  it("names every skip reason", () => {
    for (const reason of SKIP_REASONS) expect(readme).to.include(`\`${reason}\``);
  });
});
