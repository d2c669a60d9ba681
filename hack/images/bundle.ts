/**
 * One self-contained ES module per image: the sidecar's from bin/acr-p2p-sidecar.ts (the sidecar alone),
 * the controller's from bin/acr-p2p.ts (every subcommand). esbuild resolves the TypeScript sources and
 * the production dependencies into one file each, so an image carries no node_modules and Node loads
 * one file instead of hundreds. The metafile says which inputs went into each bundle (a test reads it).
 *
 *   node hack/images/bundle.ts [OUT_DIR]     (default .cache/images/bundles)
 */
import { build, type Metafile, type Plugin } from "esbuild";
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { sourceFacts } from "./source-facts.ts";

const ROOT = resolve(fileURLToPath(import.meta.url), "../../..");

export const BUNDLES = {
  sidecar: "bin/acr-p2p-sidecar.ts",
  controller: "bin/acr-p2p.ts",
} as const;
export type BundleName = keyof typeof BUNDLES;

export interface Bundle {
  readonly name: BundleName;
  /** The bundle's path. */
  readonly file: string;
  /** Every source file that went into it, relative to the repository root (node_modules/... included). */
  readonly inputs: readonly string[];
}

/**
 * An ES module bundle still meets CommonJS dependencies (prom-client, pino) that `require` Node's
 * builtins: give them a real `require`.
 */
const REQUIRE_SHIM =
  'import { createRequire as __acrP2pCreateRequire } from "node:module";\n' +
  "const require = __acrP2pCreateRequire(import.meta.url);";

/**
 * An ES `import { x } from "node:http"` makes Node build the module's whole namespace, reading every
 * export, and http's lazy `WebSocket` export then loads Node's own copy of undici (a 763 KB source,
 * with web streams and more) that the sidecar never uses; `node:crypto` likewise. A `require` reads
 * only the names used. So the bundle takes every builtin through `require`: the sidecar bundle idled
 * at 68 MB instead of 70 and was ready in 130 ms instead of 142 (bench/startup.ts, both on one machine).
 */
const BUILTINS_BY_REQUIRE: Plugin = {
  name: "builtins-by-require",
  setup(build) {
    build.onResolve({ filter: /^node:/ }, (args) =>
      args.kind === "import-statement"
        ? { path: args.path, namespace: "builtin-by-require" }
        : { path: args.path, external: true },
    );
    build.onLoad({ filter: /.*/, namespace: "builtin-by-require" }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: "js",
    }));
  },
};

/**
 * The sidecar bundle takes two packages through entries of its own (sidecar-packages/), because their
 * public entries load what every injected pod would carry for nothing: undici's index builds fetch,
 * WebSocket, EventSource, the cache stores and the mocks, and its HTTP/2 client loads node:http2 and
 * tls; prom-client's index loads the Pushgateway (node:https). Each entry assembles the names the
 * sidecar imports from the package's own files, as the package's entry does (a unit test checks they
 * are the package's own objects). Measured on one machine (/proc/PID/status, 3 s after ready): the
 * sidecar idled at 61.5 MiB instead of 67.0 (undici's entry 3.1, its HTTP/2 client and the Pushgateway
 * together 2.2; hack/README.md).
 * Sources and tests still import the packages' public entries.
 */
export const SIDECAR_PACKAGE_ENTRIES: Readonly<Record<string, string>> = {
  undici: "hack/images/sidecar-packages/undici.cjs",
  "prom-client": "hack/images/sidecar-packages/prom-client.cjs",
};
export const UNDICI_HTTP2_CLIENT = "hack/images/sidecar-packages/undici-client-h2.cjs";

/** Matches exactly the package names SIDECAR_PACKAGE_ENTRIES has an entry for (esbuild takes a Go regexp). */
const SIDECAR_PACKAGE_NAMES = new RegExp(
  `^(${Object.keys(SIDECAR_PACKAGE_ENTRIES)
    .map((pkg) => pkg.replaceAll(".", "\\."))
    .join("|")})$`,
);

const SIDECAR_PACKAGES: Plugin = {
  name: "sidecar-packages",
  setup(build) {
    build.onResolve({ filter: SIDECAR_PACKAGE_NAMES }, (args) => ({
      path: join(ROOT, SIDECAR_PACKAGE_ENTRIES[args.path]!),
    }));
    build.onResolve({ filter: /^\.\/client-h2\.js$/ }, (args) =>
      args.importer.endsWith(join("node_modules", "undici", "lib", "dispatcher", "client.js"))
        ? { path: join(ROOT, UNDICI_HTTP2_CLIENT) }
        : undefined,
    );
  },
};

export async function bundle(name: BundleName, outDir: string): Promise<Bundle> {
  mkdirSync(outDir, { recursive: true });
  // What `acr-p2p version` prints from a bundle.
  const facts = sourceFacts();
  const file = join(outDir, `${name}.mjs`);
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: [BUNDLES[name]],
    outfile: file,
    bundle: true,
    platform: "node",
    target: "node24",
    format: "esm",
    banner: { js: REQUIRE_SHIM },
    plugins: name === "sidecar" ? [SIDECAR_PACKAGES, BUILTINS_BY_REQUIRE] : [BUILTINS_BY_REQUIRE],
    define: {
      "process.env.ACR_P2P_BUILD_VERSION": JSON.stringify(facts.version),
      "process.env.ACR_P2P_BUILD_REVISION": JSON.stringify(facts.revision),
    },
    // Names stay readable in stack traces and logs; whitespace and syntax are squeezed.
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: "linked",
    sourcemap: false,
    metafile: true,
    logLevel: "warning",
  });
  return { name, file, inputs: inputsOf(result.metafile) };
}

function inputsOf(metafile: Metafile): string[] {
  return Object.keys(metafile.inputs).sort();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const outDir = resolve(process.argv[2] ?? join(ROOT, ".cache/images/bundles"));
  for (const name of Object.keys(BUNDLES) as BundleName[]) {
    const made = await bundle(name, outDir);
    process.stdout.write(`${made.file}: ${made.inputs.length} inputs\n`);
  }
}
