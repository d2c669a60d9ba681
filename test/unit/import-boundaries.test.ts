/**
 * The shape of the code, checked from its imports: the block engine is used through its index, no two
 * product folders or files import each other (directly or round a longer circle), and the webhook and the
 * sidecar share only contract/ and lib/.
 */
import { expect } from "chai";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
const PRODUCT = ["bin", "contract", "lib", "sidecar", "webhook"];
/** `import ... from "./x.ts"` and `export ... from "./x.ts"`, static or dynamic. */
const RELATIVE_IMPORT = /(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g;

interface Import {
  readonly from: string;
  readonly to: string;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

function importsOf(file: string): Import[] {
  const text = readFileSync(join(ROOT, file), "utf8");
  return [...text.matchAll(RELATIVE_IMPORT)].map((m) => ({
    from: file,
    to: normalize(join(dirname(file), m[1] as string)),
  }));
}

const imports = PRODUCT.flatMap(sourceFiles).flatMap(importsOf);

/** Folder -> the folders it imports from (itself left out). */
function folderGraph(): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const { from, to } of imports) {
    const [a, b] = [dirname(from), dirname(to)];
    if (a === b) continue;
    if (!graph.has(a)) graph.set(a, new Set());
    graph.get(a)!.add(b);
  }
  return graph;
}

/**
 * One circle of files, as "a -> b -> a", or undefined: a depth-first walk that meets a file still on its
 * path has closed a circle (type-only imports count: they tie the two files' meaning together too).
 */
function fileCycle(graph: Map<string, Set<string>>): string | undefined {
  const done = new Set<string>();
  const path: string[] = [];
  const visit = (file: string): string | undefined => {
    const at = path.indexOf(file);
    if (at >= 0) return [...path.slice(at), file].join(" -> ");
    if (done.has(file)) return undefined;
    path.push(file);
    for (const next of graph.get(file) ?? []) {
      const found = visit(next);
      if (found) return found;
    }
    path.pop();
    done.add(file);
    return undefined;
  };
  for (const file of graph.keys()) {
    const found = visit(file);
    if (found) return found;
  }
  return undefined;
}

function fileGraph(): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const { from, to } of imports) {
    if (!graph.has(from)) graph.set(from, new Set());
    graph.get(from)!.add(to);
  }
  return graph;
}

/**
 * Every circle of folders, each once, as "a -> b -> a": walked from each folder through folders that
 * sort after it only, so a circle is found from its first folder and from no other.
 */
function folderCycles(graph: Map<string, Set<string>>): string[] {
  const cycles: string[] = [];
  const walk = (start: string, at: string, path: string[]): void => {
    for (const next of graph.get(at) ?? []) {
      if (next === start) cycles.push([...path, start].join(" -> "));
      else if (next > start && !path.includes(next)) walk(start, next, [...path, next]);
    }
  };
  for (const folder of graph.keys()) walk(folder, folder, [folder]);
  return cycles.sort();
}

describe("import boundaries", () => {
  it("reads the imports of every product file (the check below is not vacuous)", () => {
    expect(imports.length).to.be.above(300);
    expect(imports.some((i) => i.to === "sidecar/blocks/index.ts")).to.equal(true);
  });

  it("uses the block engine through sidecar/blocks/index.ts only", () => {
    const past = imports
      .filter((i) => i.to.startsWith("sidecar/blocks/") && i.to !== "sidecar/blocks/index.ts")
      .filter((i) => !i.from.startsWith("sidecar/blocks/"))
      .map((i) => `${i.from} -> ${i.to}`);
    expect(past).to.deep.equal([]);
  });

  it("has no circle of folders", () => {
    expect(folderCycles(folderGraph())).to.deep.equal([]);
  });

  it("has no circle of files", () => {
    expect(fileCycle(fileGraph())).to.equal(undefined);
  });

  it("finds a circle where there is one (the check itself)", () => {
    const graph = new Map([
      ["a", new Set(["b"])],
      ["b", new Set(["c"])],
      ["c", new Set(["a"])],
      ["d", new Set(["a"])],
    ]);
    expect(folderCycles(graph)).to.deep.equal(["a -> b -> c -> a"]);
    expect(fileCycle(graph)).to.equal("a -> b -> c -> a");
    expect(
      fileCycle(
        new Map([
          ["a", new Set(["b"])],
          ["b", new Set<string>()],
        ]),
      ),
    ).to.equal(undefined);
  });

  it("keeps the webhook and the sidecar out of each other", () => {
    const across = imports
      .filter(
        (i) =>
          (i.from.startsWith("webhook/") && i.to.startsWith("sidecar/")) ||
          (i.from.startsWith("sidecar/") && i.to.startsWith("webhook/")),
      )
      .map((i) => `${i.from} -> ${i.to}`);
    expect(across).to.deep.equal([]);
  });

  it("keeps contract/ and lib/ free of both processes", () => {
    const shared = imports
      .filter((i) => /^(contract|lib)\//.test(i.from) && /^(sidecar|webhook|bin)\//.test(i.to))
      .map((i) => `${i.from} -> ${i.to}`);
    expect(shared).to.deep.equal([]);
  });
});
