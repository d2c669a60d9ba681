/** webhook/README.md documents every option of the webhook, inject and certgen (env and flag). */
import { readFileSync } from "node:fs";
import { expect } from "chai";
import { CERTGEN_OPTIONS } from "../../../webhook/certgen/certgen-config.ts";
import { INJECT_OPTIONS } from "../../../webhook/cli/inject-command.ts";
import { ALL_WEBHOOK_OPTIONS } from "../../../webhook/config/webhook-config.ts";
import { SKIP_REASONS } from "../../../webhook/mutation/skip.ts";

describe("webhook/README.md", () => {
  const readme = readFileSync(new URL("../../../webhook/README.md", import.meta.url), "utf8");

  const shared = new Set(ALL_WEBHOOK_OPTIONS.map((o) => o.env));
  const redefined = new Set([...INJECT_OPTIONS, ...CERTGEN_OPTIONS].filter((o) => shared.has(o.env)));

  it("lists every option with its env variable, flag and default", () => {
    for (const o of [...ALL_WEBHOOK_OPTIONS, ...INJECT_OPTIONS, ...CERTGEN_OPTIONS]) {
      const row = readme.split("\n").find((l) => new RegExp(`^\\| \`${o.env}\` +\\| \`${o.flag}\``).test(l));
      expect(row, `${o.env} ${o.flag}`).to.not.equal(undefined);
      // inject and certgen reuse some webhook options with other defaults, stated in the prose.
      if (o.default !== undefined && !redefined.has(o)) expect(row, o.env).to.include(`\`${o.default}\``);
    }
  });

  it("names every skip reason", () => {
    for (const reason of SKIP_REASONS) expect(readme).to.include(`\`${reason}\``);
  });
});
