/**
 * Golden pairs (test/fixtures/inject): each input manifest, mutated as the webhook would, equals its
 * checked-in `.injected.yaml`; and applying the webhook's JSON patch to the input pod with a real
 * JSON-Patch library (fast-json-patch) gives the same pod. UPDATE_GOLDEN=1 rewrites the expected files
 * (review the diff before committing).
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { expect } from "chai";
import jsonpatch from "fast-json-patch";
import { loadSidecarConfig } from "../../../../sidecar/config/sidecar-config.ts";
import {
  formatDocuments,
  injectDocuments,
  parseInjectArgs,
  parseManifests,
} from "../../../../webhook/cli/inject-command.ts";
import { podView } from "../../../../webhook/cli/workloads.ts";
import { SIDECAR_CONTAINER_NAME } from "../../../../webhook/mutation/names.ts";
import { BASE_ARGS } from "../webhook-fixtures.ts";

const DIR = new URL("../../../fixtures/inject/", import.meta.url);
const CASES = readdirSync(DIR)
  .filter((f) => f.endsWith(".yaml") && !f.endsWith(".injected.yaml"))
  .sort();

type Json = Record<string, unknown>;

function header(text: string, key: string): string | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`# ${key}:`));
  return line?.slice(`# ${key}:`.length).trim();
}

describe("golden inject pairs (test/fixtures/inject)", () => {
  it("covers the cases issue 2 lists", () => {
    for (const name of [
      "plain",
      "init-containers",
      "digests",
      "several-registries",
      "host-with-port",
      "already-injected",
      "opted-out",
      "mixed-not-pinned",
      "port-collision",
      "existing-plain-http",
      "pull-secrets",
      "deployment-template",
    ]) {
      expect(CASES, name).to.include(`${name}.yaml`);
    }
  });

  for (const file of CASES) {
    it(file, async () => {
      const text = readFileSync(new URL(file, DIR), "utf8");
      const extra = (header(text, "args") ?? "").split(/\s+/).filter((a) => a !== "");
      const args = parseInjectArgs([...BASE_ARGS, ...extra], {});
      if (args.help) throw new Error("unexpected --help");
      const input = parseManifests(text);
      const outcome = await injectDocuments(
        structuredClone(input),
        args.config,
        args.registries,
        args.version,
      );

      const expectedUrl = new URL(file.replace(/\.yaml$/, ".injected.yaml"), DIR);
      if (process.env["UPDATE_GOLDEN"] === "1") {
        const note = `# Generated from ${file} by test/unit/webhook/cli/golden-inject.test.ts (UPDATE_GOLDEN=1).\n`;
        writeFileSync(expectedUrl, note + formatDocuments(outcome.documents, "yaml"));
      }
      const expected = parseManifests(readFileSync(expectedUrl, "utf8"));
      expect(outcome.documents).to.deep.equal(expected);

      const expect_ = header(text, "expect");
      const injected = outcome.patches.size > 0;
      if (expect_ === "injected") expect(injected, outcome.messages.join("\n")).to.equal(true);
      else {
        expect(injected).to.equal(false);
        expect(outcome.messages.join("\n")).to.include(expect_);
        expect(outcome.documents).to.deep.equal(input);
      }

      for (const [index, patch] of outcome.patches) {
        const before = podView(structuredClone(input[index] as Json))?.pod;
        const after = podView(structuredClone(expected[index] as Json))?.pod;
        // What goes over the wire is JSON; apply that, validating every operation.
        const wire = JSON.parse(JSON.stringify(patch)) as jsonpatch.Operation[];
        const applied = jsonpatch.applyPatch(before, wire, true, false).newDocument;
        expect(applied).to.deep.equal(after);
        checkSidecarEnv(after as Json);
      }
    });
  }
});

/** The sidecar's own parser accepts the env the webhook rendered (downward API values filled in). */
function checkSidecarEnv(pod: Json): void {
  const spec = pod["spec"] as { initContainers: { name: string; env: { name: string; value?: string }[] }[] };
  const sidecar = spec.initContainers[0];
  expect(sidecar?.name).to.equal(SIDECAR_CONTAINER_NAME);
  const env: Record<string, string> = {};
  for (const e of sidecar?.env ?? [])
    env[e.name] = e.value ?? (e.name === "ACR_P2P_POD_IP" ? "10.0.0.7" : "from-downward-api");
  expect(() => loadSidecarConfig([], env)).not.to.throw();
}
