/** `npm run docs`: rewrites the READMEs' option tables from the declarations (hack/docs/option-tables.ts). */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DOCUMENTED_FILES, ROOT, generatedText } from "./option-tables.ts";

for (const file of DOCUMENTED_FILES) {
  const path = join(ROOT, file);
  const text = await generatedText(file);
  if (text === readFileSync(path, "utf8")) continue;
  writeFileSync(path, text);
  process.stdout.write(`${file}: option tables rewritten\n`);
}
