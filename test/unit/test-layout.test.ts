/**
 * Unit tests mirror the product: a test of `webhook/registry/acr-hosts.ts` lives in
 * `test/unit/webhook/registry/`, so the tests of a folder are found, moved and deleted with it. Only
 * checks of the whole project (import boundaries, the metrics doc) sit in test/unit/ itself. The
 * integration, cluster and node tiers are organised by the process or scenario they run.
 */
import { expect } from "chai";
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
const UNIT = join(ROOT, "test/unit");

function folders(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap((entry) => {
      const path = join(dir, entry.name);
      return [relative(UNIT, path), ...folders(path)];
    });
}

describe("unit test layout", () => {
  const testFolders = folders(UNIT);

  it("has folders to check (the check below is not vacuous)", () => {
    expect(testFolders).to.include.members(["sidecar/blocks", "webhook/registry", "contract"]);
  });

  it("keeps every unit test in the folder of the product code it tests", () => {
    const orphans = testFolders.filter((folder) => {
      const product = join(ROOT, folder);
      return !existsSync(product) || !statSync(product).isDirectory();
    });
    expect(orphans, "test/unit/<folder> with no product folder of that name").to.deep.equal([]);
  });
});
