/**
 * A command's options as a Markdown table (env, flag, default, meaning), the form the READMEs list them
 * in. The tables there are generated from the declarations (`npm run docs`) and a test keeps them
 * current, so the documentation cannot drift from what the code reads.
 */
import type { OptionSpec } from "./option-spec.ts";

/** An extra column: its header and each option's cell (Markdown). */
export interface ExtraColumn<T extends OptionSpec> {
  readonly header: string;
  readonly cell: (spec: T) => string;
}

export function renderOptionsTable<T extends OptionSpec>(
  specs: readonly T[],
  extra: readonly ExtraColumn<T>[] = [],
): string {
  const header = ["env", "flag", "default", ...extra.map((c) => c.header), "meaning"];
  const rows = specs.map((spec) => [
    `\`${spec.env}\``,
    `\`${spec.flag}\`${spec.kind === "list" ? " (repeatable)" : ""}`,
    spec.default === undefined ? "—" : `\`${spec.default}\``,
    ...extra.map((c) => c.cell(spec)),
    spec.help,
  ]);
  const line = (cells: readonly string[]) => `| ${cells.map(escapeCell).join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

/** A `|` would end the cell; a line break would end the row. */
function escapeCell(text: string): string {
  return text.replaceAll("|", "\\|").replaceAll("\n", " ");
}
