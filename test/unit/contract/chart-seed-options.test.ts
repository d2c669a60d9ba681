/**
 * The chart's seed parameters agree with the sidecar's declarations: each seed option the controller
 * copies has its value in values.yaml with the declared default, a schema in values.schema.json with
 * the declared bounds or choices, and its env in the controller's ConfigMap, read from that value.
 * (test/cluster/chart.test.ts renders the chart and checks its env both ways against the tables.)
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { SIDECAR_OPTIONS, isCopied, type SidecarOptionSpec } from "../../../contract/sidecar-options.ts";

const CHART = join(import.meta.dirname, "../../../manifests/ack-acr-acceleration-p2p");
const values = parse(readFileSync(join(CHART, "values.yaml"), "utf8")) as Record<string, unknown>;
const schema = JSON.parse(readFileSync(join(CHART, "values.schema.json"), "utf8")) as Schema;
const configMap = readFileSync(join(CHART, "templates/configmap.yaml"), "utf8");

interface Schema {
  readonly type?: string | readonly string[];
  readonly $ref?: string;
  readonly properties?: Record<string, Schema>;
  readonly definitions?: Record<string, Schema>;
  readonly anyOf?: readonly Schema[];
  readonly enum?: readonly unknown[];
  readonly minimum?: number;
  readonly exclusiveMinimum?: number;
  readonly maximum?: number;
}

function resolve(s: Schema): Schema {
  if (s.$ref === undefined) return s;
  const name = s.$ref.replace("#/definitions/", "");
  const found = schema.definitions?.[name];
  if (found === undefined) throw new Error(`no definition ${name}`);
  return found;
}

function schemaAt(path: string): Schema | undefined {
  let at: Schema | undefined = schema;
  for (const part of path.split(".")) at = at && resolve(at).properties?.[part];
  return at && resolve(at);
}

function valueAt(path: string): unknown {
  let at: unknown = values;
  for (const part of path.split(".")) at = (at as Record<string, unknown> | undefined)?.[part];
  return at;
}

/** The branch of the schema that holds the value as the declaration's kind (not the text form). */
function typedBranch(s: Schema): Schema {
  const isTyped = (b: Schema) => [b.type].flat().some((t) => t !== "string" && t !== "null");
  if (s.anyOf === undefined || s.enum !== undefined) return s;
  return s.anyOf.map(resolve).find(isTyped) ?? s;
}

const SEED_OPTIONS = SIDECAR_OPTIONS.filter(
  (o): o is SidecarOptionSpec & { seedName: string } => o.seedName !== undefined && isCopied(o),
);

describe("the chart's seed parameters against the sidecar's declarations", () => {
  it("covers every seed option (the checks below are not vacuous)", () => {
    expect(SEED_OPTIONS.map((o) => o.seedName)).to.include.members([
      "p2p.port",
      "p2p.v2.cache.mode",
      "blocksize",
      "memoryCacheCapacityGB",
      "proxyFsParallels",
      "transferTimeout",
    ]);
  });

  for (const spec of SEED_OPTIONS) {
    it(`${spec.seedName}: values.yaml default, schema bounds and the ConfigMap's env`, () => {
      const value = valueAt(spec.seedName);
      if (spec.default === undefined) expect(value, "values.yaml").to.equal(null);
      else expect(String(value), "values.yaml").to.equal(spec.default);

      const s = schemaAt(spec.seedName);
      expect(s, "values.schema.json").to.not.equal(undefined);
      const branch = typedBranch(s!);
      if (spec.choices !== undefined) expect(branch.enum, "schema enum").to.deep.equal(spec.choices);
      const numbers = (branch.enum ?? []).filter((e): e is number => typeof e === "number");
      if (spec.min !== undefined) {
        const min = numbers.length > 0 ? Math.min(...numbers) : (branch.minimum ?? branch.exclusiveMinimum);
        expect(min, "schema minimum").to.equal(spec.min);
      }
      if (spec.max !== undefined) {
        const max = numbers.length > 0 ? Math.max(...numbers) : branch.maximum;
        expect(max, "schema maximum").to.equal(spec.max);
      }

      const line = new RegExp(
        `^\\s*${spec.env}: \\{\\{ \\$v\\.${spec.seedName.replaceAll(".", "\\.")}\\b`,
        "m",
      );
      expect(configMap, `configmap.yaml sets ${spec.env} from .Values.${spec.seedName}`).to.match(line);
    });
  }
});
