/**
 * Golden pairs with ACR temporary credentials on (test/fixtures/inject-temp-credentials): each input
 * pod, admitted by admitPod over the in-memory cloud and cluster of temp-fixtures.ts (fixed clock, so
 * the password and expiry are stable), gives its checked-in `.injected.yaml`: the mutated pod followed
 * by the secrets the admission left in the cluster. The webhook's JSON patch applied with
 * fast-json-patch gives the same pod. UPDATE_GOLDEN=1 rewrites the expected files (review the diff).
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { expect } from "chai";
import jsonpatch from "fast-json-patch";
import { admitPod } from "../../../../webhook/admission/admit-pod.ts";
import { formatDocuments, parseManifests } from "../../../../webhook/cli/inject-command.ts";
import { checkPod } from "../../../../webhook/mutation/pod.ts";
import { tempDeps } from "../pull-secrets/temp-fixtures.ts";

const DIR = new URL("../../../fixtures/inject-temp-credentials/", import.meta.url);
const CASES = readdirSync(DIR)
  .filter((f) => f.endsWith(".yaml") && !f.endsWith(".injected.yaml"))
  .sort();

type Json = Record<string, unknown>;

describe("golden inject pairs with ACR temporary credentials", () => {
  it("has the case of a pod without pull secrets", () => {
    expect(CASES).to.include("no-pull-secrets.yaml");
  });

  for (const file of CASES) {
    it(file, async () => {
      const text = readFileSync(new URL(file, DIR), "utf8");
      const [input] = parseManifests(text) as [Json];
      const { deps, kube } = await tempDeps();
      const namespace = (input["metadata"] as { namespace: string }).namespace;
      const result = await admitPod(checkPod(structuredClone(input)), namespace, false, deps);
      if (!result.injected) throw new Error(`not injected: ${result.skip.message}`);
      const written = [...kube.secrets.values()].map((s) => ({ apiVersion: "v1", kind: "Secret", ...s }));
      const documents = [result.pod as Json, ...written];

      const expectedUrl = new URL(file.replace(/\.yaml$/, ".injected.yaml"), DIR);
      if (process.env["UPDATE_GOLDEN"] === "1") {
        const note = `# Generated from ${file} by test/unit/webhook/cli/golden-temp-credentials.test.ts (UPDATE_GOLDEN=1).\n`;
        writeFileSync(expectedUrl, note + formatDocuments(documents, "yaml"));
      }
      const expected = parseManifests(readFileSync(expectedUrl, "utf8"));
      expect(JSON.parse(JSON.stringify(documents))).to.deep.equal(expected);

      const wire = JSON.parse(JSON.stringify(result.patch)) as jsonpatch.Operation[];
      const applied = jsonpatch.applyPatch(structuredClone(input), wire, true, false).newDocument;
      expect(applied).to.deep.equal(expected[0]);
    });
  }
});
