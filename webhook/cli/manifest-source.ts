/**
 * Where `acr-p2p inject` reads manifests from, as `kubectl apply -f` does: a file, every .yaml, .yml
 * and .json file of a directory (sorted by name, not recursive), or `-` for stdin. Errors name the file.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";

type Json = Record<string, unknown>;

const MANIFEST_FILE = /\.(ya?ml|json)$/;

/** The documents of `source`, in file order; throws an Error whose message names the file at fault. */
export async function readManifestSource(source: string): Promise<Json[]> {
  if (source === "-") return parseOrName("stdin", await readStdin());
  const info = await stat(source).catch((err: NodeJS.ErrnoException) => {
    throw new Error(`${source}: ${err.code === "ENOENT" ? "no such file or directory" : err.message}`);
  });
  if (!info.isDirectory()) return parseOrName(source, await readFile(source, "utf8"));
  const names = (await readdir(source)).filter((n) => MANIFEST_FILE.test(n)).sort();
  if (names.length === 0) throw new Error(`${source}: no .yaml, .yml or .json files in this directory`);
  const docs: Json[] = [];
  for (const name of names) {
    const file = join(source, name);
    docs.push(...parseOrName(file, await readFile(file, "utf8")));
  }
  return docs;
}

function parseOrName(where: string, text: string): Json[] {
  try {
    return parseManifests(text);
  } catch (err) {
    throw new Error(`${where}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export function parseManifests(text: string): Json[] {
  const out: Json[] = [];
  for (const doc of parseAllDocuments(text)) {
    if ("errors" in doc && doc.errors.length > 0) throw new Error(doc.errors[0]?.message ?? "not YAML");
    const value: unknown = doc.toJS();
    if (value == null) continue;
    if (typeof value !== "object" || Array.isArray(value))
      throw new Error("each document must be a Kubernetes object");
    const obj = value as Json;
    if (obj["kind"] === "List" && Array.isArray(obj["items"])) out.push(...(obj["items"] as Json[]));
    else out.push(obj);
  }
  return out;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
