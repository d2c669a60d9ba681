/**
 * Edits a copy of a pod and records the same edit as an RFC 6902 operation, so the webhook answers
 * with a small patch (never a re-serialised pod) and `acr-p2p inject` prints the edited copy. The two
 * are built independently: the tests apply the patch with a JSON-Patch library and compare.
 */
import type { Pod } from "./pod.ts";

export type PatchOperation =
  | { readonly op: "add"; readonly path: string; readonly value: unknown }
  | { readonly op: "replace"; readonly path: string; readonly value: unknown };

/** RFC 6901: `~` -> `~0`, `/` -> `~1`. */
export function pointerToken(key: string): string {
  return key.replaceAll("~", "~0").replaceAll("/", "~1");
}

type Json = Record<string, unknown>;
type ContainerList = "containers" | "initContainers";

export class PodEditor {
  readonly pod: Pod;
  readonly #ops: PatchOperation[] = [];

  constructor(original: Pod) {
    this.pod = structuredClone(original);
  }

  get patch(): readonly PatchOperation[] {
    return this.#ops;
  }

  setImage(list: ContainerList, index: number, image: string): void {
    const container = this.pod.spec[list]?.[index];
    if (!container) throw new Error(`no ${list}[${index}]`);
    container.image = image;
    this.#ops.push({ op: "replace", path: `/spec/${list}/${index}/image`, value: image });
  }

  /** Puts `container` first among the init containers. */
  prependInitContainer(container: Json): void {
    const spec = this.pod.spec as Json;
    const existing = this.pod.spec.initContainers;
    if (existing == null) {
      spec["initContainers"] = [structuredClone(container)];
      this.#ops.push({ op: "add", path: "/spec/initContainers", value: [container] });
    } else {
      existing.unshift(structuredClone(container) as (typeof existing)[number]);
      this.#ops.push({ op: "add", path: "/spec/initContainers/0", value: container });
    }
  }

  /** Appends to a list of the pod spec (imagePullSecrets, volumes), creating it when absent. */
  appendToSpecList(field: "imagePullSecrets" | "volumes", items: readonly Json[]): void {
    if (items.length === 0) return;
    const spec = this.pod.spec as Json;
    const existing = spec[field] as Json[] | null | undefined;
    if (existing == null) {
      spec[field] = structuredClone([...items]);
      this.#ops.push({ op: "add", path: `/spec/${field}`, value: [...items] });
      return;
    }
    for (const item of items) {
      existing.push(structuredClone(item));
      this.#ops.push({ op: "add", path: `/spec/${field}/-`, value: item });
    }
  }

  setLabel(key: string, value: string): void {
    this.#setMetadataEntry("labels", key, value);
  }

  setAnnotation(key: string, value: string): void {
    this.#setMetadataEntry("annotations", key, value);
  }

  #setMetadataEntry(field: "labels" | "annotations", key: string, value: string): void {
    const pod = this.pod as Json;
    if (pod["metadata"] == null) {
      pod["metadata"] = {};
      this.#ops.push({ op: "add", path: "/metadata", value: {} });
    }
    const metadata = pod["metadata"] as Json;
    const map = metadata[field] as Record<string, string> | null | undefined;
    if (map == null) {
      metadata[field] = { [key]: value };
      this.#ops.push({ op: "add", path: `/metadata/${field}`, value: { [key]: value } });
      return;
    }
    // `add` on an existing member replaces it (RFC 6902 4.1), so one op serves both cases.
    map[key] = value;
    this.#ops.push({ op: "add", path: `/metadata/${field}/${pointerToken(key)}`, value });
  }
}
