/**
 * The option tables of the READMEs, generated from the declarations. Each sits between two markers:
 *
 *   <!-- options: NAME (generated from the declarations: npm run docs) -->
 *   ...
 *   <!-- /options -->
 *
 * `npm run docs` rewrites them; test/unit/docs/option-tables.test.ts fails when one is stale.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as prettier from "prettier";
import { SIDECAR_OPTIONS, sidecarOption, type SidecarOptionSpec } from "../../contract/sidecar-options.ts";
import type { OptionSpec } from "../../lib/config/option-spec.ts";
import { renderOptionsTable } from "../../lib/config/options-table.ts";
import { CERTGEN_OPTIONS } from "../../webhook/certgen/certgen-config.ts";
import { INJECT_OPTIONS } from "../../webhook/cli/inject-command.ts";
import { COPIED_SIDECAR_OPTIONS, WEBHOOK_OPTIONS } from "../../webhook/config/webhook-options.ts";

export const ROOT = join(import.meta.dirname, "../..");

export interface OptionTable {
  /** The file, from the repository's root. */
  readonly file: string;
  readonly name: string;
  readonly render: () => string;
}

const SCOPE_TEXT: Record<SidecarOptionSpec["scope"], string> = {
  copied: "copied",
  overridable: "copied, a pod may override",
  perPod: "per pod",
  sidecarOnly: "sidecar only",
};

/** The sidecar's whole table, with where an injected pod's value comes from. */
export function renderSidecarTable(specs: readonly SidecarOptionSpec[]): string {
  return renderOptionsTable(specs, [
    { header: "seed", cell: (s) => (s.seedName === undefined ? "" : `\`${s.seedName}\``) },
    {
      header: "in a pod",
      cell: (s) => SCOPE_TEXT[s.scope] + (s.downward === undefined ? "" : ` (\`${s.downward}\`)`),
    },
  ]);
}

const sharedEnv = new Set([...WEBHOOK_OPTIONS, ...COPIED_SIDECAR_OPTIONS].map((o: OptionSpec) => o.env));

export const OPTION_TABLES: readonly OptionTable[] = [
  { file: "contract/README.md", name: "sidecar", render: () => renderSidecarTable(SIDECAR_OPTIONS) },
  { file: "webhook/README.md", name: "controller", render: () => renderOptionsTable(WEBHOOK_OPTIONS) },
  {
    file: "webhook/README.md",
    name: "copied sidecar options",
    // The sidecar's own help, without the `Sidecar:` that --help puts before it.
    render: () =>
      renderOptionsTable(COPIED_SIDECAR_OPTIONS.map((o) => ({ ...o, help: sidecarOption(o.key).help }))),
  },
  {
    file: "webhook/README.md",
    name: "inject",
    render: () => renderOptionsTable(INJECT_OPTIONS.filter((o) => !sharedEnv.has(o.env))),
  },
  { file: "webhook/README.md", name: "certgen", render: () => renderOptionsTable(CERTGEN_OPTIONS) },
];

const begin = (name: string) => `<!-- options: ${name} (generated from the declarations: npm run docs) -->`;
const END = "<!-- /options -->";

/** `text` with each named table between its markers replaced by a fresh rendering. */
export function replaceTables(file: string, text: string, tables: readonly OptionTable[]): string {
  let out = text;
  for (const table of tables) {
    const start = out.indexOf(begin(table.name));
    const end = out.indexOf(END, start);
    if (start < 0 || end < 0) throw new Error(`${file}: no markers for the option table "${table.name}"`);
    out = `${out.slice(0, start)}${begin(table.name)}\n\n${table.render()}\n\n${out.slice(end)}`;
  }
  return out;
}

/** What `file` should hold: its tables regenerated, formatted as `npm run format` would. */
export async function generatedText(file: string): Promise<string> {
  const path = join(ROOT, file);
  const text = replaceTables(
    file,
    readFileSync(path, "utf8"),
    OPTION_TABLES.filter((t) => t.file === file),
  );
  const options = await prettier.resolveConfig(path);
  return prettier.format(text, { ...options, filepath: path });
}

export const DOCUMENTED_FILES = [...new Set(OPTION_TABLES.map((t) => t.file))];
