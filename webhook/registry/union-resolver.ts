/**
 * Several RegistryResolvers as one: the configured static hosts plus the ACR instances' hosts. Ready
 * when all are ready; the detail lists each. The union is rebuilt only when a part hands out a new
 * set (both implementations return the same Set object until their hosts change), so the per-admission
 * call stays cheap.
 */
import type { RegistryResolver, ResolverReadiness } from "./registry-resolver.ts";

export class UnionRegistryResolver implements RegistryResolver {
  readonly #parts: readonly RegistryResolver[];
  #sources: readonly ReadonlySet<string>[] = [];
  #union: ReadonlySet<string> = new Set();

  constructor(parts: readonly RegistryResolver[]) {
    this.#parts = parts;
  }

  acceleratedHosts(): ReadonlySet<string> {
    const sources = this.#parts.map((p) => p.acceleratedHosts());
    if (sources.length !== this.#sources.length || sources.some((s, i) => s !== this.#sources[i])) {
      this.#sources = sources;
      this.#union = new Set(sources.flatMap((s) => [...s]));
    }
    return this.#union;
  }

  readiness(): ResolverReadiness {
    const all = this.#parts.map((p) => p.readiness());
    return { ready: all.every((r) => r.ready), detail: all.map((r) => r.detail).join("; ") };
  }
}
