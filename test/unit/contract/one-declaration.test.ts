/**
 * One declaration per sidecar option: a new option declared in a fixture table reaches `--help`, the
 * controller's options and checks, the env of an injected pod and the documentation tables, with no
 * other change. And the READMEs' generated tables are current.
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SIDECAR_OPTIONS, type SidecarOptionSpec } from "../../../contract/sidecar-options.ts";
import {
  DOCUMENTED_FILES,
  OPTION_TABLES,
  ROOT,
  generatedText,
  renderSidecarTable,
  replaceTables,
} from "../../../hack/docs/option-tables.ts";
import { ConfigError } from "../../../lib/config/config-error.ts";
import { renderOptionsTable } from "../../../lib/config/options-table.ts";
import { collectRawOptions } from "../../../lib/config/raw-options.ts";
import { renderSidecarHelp } from "../../../sidecar/config/help.ts";
import { admitPod } from "../../../webhook/admission/admit-pod.ts";
import { buildSidecarSettings } from "../../../webhook/config/sidecar-settings.ts";
import { copiedSidecarOptions, WEBHOOK_OPTIONS } from "../../../webhook/config/webhook-options.ts";
import { CERTGEN_OPTIONS } from "../../../webhook/certgen/certgen-config.ts";
import { checkPod } from "../../../webhook/mutation/pod.ts";
import { sidecarEnv, type EnvVar } from "../../../webhook/mutation/sidecar-container.ts";
import { pod, testConfig, testDeps } from "../webhook/webhook-fixtures.ts";

const COPIED_FIXTURE: SidecarOptionSpec = Object.freeze({
  key: "fixtureWindow",
  env: "ACR_P2P_FIXTURE_WINDOW",
  flag: "--fixture-window",
  kind: "int",
  default: "8",
  min: 1,
  max: 64,
  scope: "copied",
  help: "A copied option declared by the test.",
});
const DOWNWARD_FIXTURE: SidecarOptionSpec = Object.freeze({
  key: "fixtureNode",
  env: "ACR_P2P_FIXTURE_NODE",
  flag: "--fixture-node",
  kind: "string",
  scope: "perPod",
  downward: "spec.nodeName",
  help: "A per-pod option from the downward API, declared by the test.",
});
const SIDECAR_ONLY_FIXTURE: SidecarOptionSpec = Object.freeze({
  key: "fixtureLab",
  env: "ACR_P2P_FIXTURE_LAB",
  flag: "--fixture-lab",
  kind: "bool",
  default: "false",
  scope: "sidecarOnly",
  help: "A sidecar-only option declared by the test.",
});
const TABLE = [...SIDECAR_OPTIONS, COPIED_FIXTURE, DOWNWARD_FIXTURE, SIDECAR_ONLY_FIXTURE];

/** The sidecar env of a pod injected by a controller started with `args`, all from TABLE. */
async function renderedEnv(args: readonly string[]): Promise<EnvVar[]> {
  const config = testConfig();
  const raw = collectRawOptions(copiedSidecarOptions(TABLE), args, {});
  const mutation = { ...config.mutation, sidecar: buildSidecarSettings(raw, TABLE) };
  const admitted = await admitPod(checkPod(pod()), "apps", false, testDeps(config));
  if (!admitted.injected) throw new Error(`not injected: ${admitted.skip.reason}`);
  return sidecarEnv(mutation, admitted.plan, undefined, TABLE);
}

const named = (env: readonly EnvVar[], name: string) => env.find((e) => e.name === name);

describe("one declaration per sidecar option", () => {
  it("a copied option reaches --help, the controller's flags, the pod's env and the docs", async () => {
    const help = renderSidecarHelp(TABLE);
    expect(help).to.contain("--fixture-window <int>").and.contain("env ACR_P2P_FIXTURE_WINDOW; default: 8");

    const controllerFlags = copiedSidecarOptions(TABLE).map((o) => o.flag);
    expect(controllerFlags).to.include("--sidecar-fixture-window");

    expect(named(await renderedEnv([]), "ACR_P2P_FIXTURE_WINDOW")).to.deep.equal({
      name: "ACR_P2P_FIXTURE_WINDOW",
      value: "8",
    });
    const set = await renderedEnv(["--sidecar-fixture-window", "16"]);
    expect(named(set, "ACR_P2P_FIXTURE_WINDOW")).to.deep.equal({
      name: "ACR_P2P_FIXTURE_WINDOW",
      value: "16",
    });

    expect(renderOptionsTable(copiedSidecarOptions(TABLE))).to.match(
      /\| `ACR_P2P_FIXTURE_WINDOW` \| `--sidecar-fixture-window` \| `8` \|/,
    );
    expect(renderSidecarTable(TABLE)).to.match(
      /\| `ACR_P2P_FIXTURE_WINDOW` \| `--fixture-window` \| `8` \|  \| copied \| A copied option/,
    );
  });

  it("the controller refuses a copied option's bad value at start, naming the option", () => {
    const raw = collectRawOptions(copiedSidecarOptions(TABLE), ["--sidecar-fixture-window", "65"], {});
    expect(() => buildSidecarSettings(raw, TABLE))
      .to.throw(ConfigError)
      .with.property("message")
      .that.contains("ACR_P2P_FIXTURE_WINDOW / --sidecar-fixture-window")
      .and.contains("65 is above the maximum 64");
  });

  it("a per-pod option with a downward field is rendered from it; a sidecar-only one is not rendered", async () => {
    const env = await renderedEnv([]);
    expect(named(env, "ACR_P2P_FIXTURE_NODE")).to.deep.equal({
      name: "ACR_P2P_FIXTURE_NODE",
      valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } },
    });
    expect(named(env, "ACR_P2P_FIXTURE_LAB")).to.equal(undefined);
    expect(copiedSidecarOptions(TABLE).map((o) => o.key)).to.not.include.members([
      "fixtureNode",
      "fixtureLab",
    ]);
    expect(renderSidecarHelp(TABLE)).to.contain("--fixture-lab [true|false]");
    expect(renderSidecarTable(TABLE)).to.contain("per pod (`spec.nodeName`)").and.contain("sidecar only");
  });

  it("every option of the real table is rendered into a pod as its scope says", async () => {
    const env = (await renderedEnv([])).map((e) => e.name);
    for (const spec of SIDECAR_OPTIONS) {
      // Disk mode only; the memory cap is rendered in bytes, as optionBlockSize.
      if (spec.key === "cacheDir" || spec.key === "memoryCacheCapacityGB") continue;
      const unset = spec.default === undefined && spec.scope === "copied";
      if (spec.scope === "sidecarOnly" || unset) expect(env, spec.env).to.not.include(spec.env);
      else expect(env, spec.env).to.include(spec.env);
    }
  });
});

describe("one meaning per env variable", () => {
  it("the controller's own options and the sidecar's share no env variable (copied ones are the sidecar's)", () => {
    const sidecarEnv = new Set(SIDECAR_OPTIONS.map((o) => o.env));
    const shared = [...WEBHOOK_OPTIONS, ...CERTGEN_OPTIONS]
      .map((o) => o.env)
      .filter((e) => sidecarEnv.has(e));
    expect(shared).to.deep.equal([]);
  });
});

describe("generated option tables", () => {
  for (const file of DOCUMENTED_FILES) {
    it(`${file} holds the current tables (npm run docs rewrites them)`, async () => {
      const text = readFileSync(join(ROOT, file), "utf8");
      expect(await generatedText(file)).to.equal(text, `${file} is stale: run npm run docs`);
    });
  }

  it("notices a stale table (the check itself)", () => {
    const file = "webhook/README.md";
    const text = readFileSync(join(ROOT, file), "utf8");
    const stale = text.replace("Log level.", "Log level (stale).");
    expect(stale).to.not.equal(text);
    const tables = OPTION_TABLES.filter((t) => t.file === file);
    expect(replaceTables(file, stale, tables)).to.not.contain("(stale)");
  });

  it("names the table whose markers are missing", () => {
    expect(() => replaceTables("x.md", "no markers", OPTION_TABLES.slice(0, 1))).to.throw(
      'x.md: no markers for the option table "sidecar"',
    );
  });
});
