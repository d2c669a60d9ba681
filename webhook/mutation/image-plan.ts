/**
 * Which images are rewritten, and to what. Every container's image is parsed once here (a reference
 * the runtime would refuse stops the injection with a message naming the container); images of
 * accelerated hosts become `127.0.0.1:<port>/<host>/<repo>[:tag][@digest]`, everything else is left
 * exactly as written.
 */
import {
  formatReference,
  parseNormalizedReference,
  ReferenceError,
  rewriteThroughFront,
} from "../../contract/image-reference.ts";
import { canonicalRegistryHost } from "../registry/registry-resolver.ts";
import { containerSlots, type PodSpec } from "./pod.ts";
import { CodedError } from "../../lib/coded-error.ts";

export interface ImageRewrite {
  readonly container: string;
  readonly init: boolean;
  /** Index in spec.containers or spec.initContainers (before the sidecar is inserted). */
  readonly index: number;
  readonly from: string;
  readonly to: string;
  /** Canonical registry host of the original image. */
  readonly host: string;
}

export interface ImagePlan {
  readonly rewrites: readonly ImageRewrite[];
  /** Canonical hosts of the rewritten images, sorted: what the sidecar serves. */
  readonly hosts: readonly string[];
  /** Accelerated images that cannot be rewritten (left alone), one line each. */
  readonly notes: readonly string[];
}

export class ImageError extends CodedError<"IMAGE_INVALID"> {
  readonly container: string;
  constructor(container: string, reason: string) {
    super("IMAGE_INVALID", `container ${JSON.stringify(container)}: ${reason}`);
    this.name = "ImageError";
    this.container = container;
  }
}

/** The registry front as rewritten images name it. */
export function frontHost(port: number): string {
  return `127.0.0.1:${port}`;
}

export function planImages(spec: PodSpec, accelerated: ReadonlySet<string>, port: number): ImagePlan {
  const front = frontHost(port);
  const rewrites: ImageRewrite[] = [];
  const notes: string[] = [];
  for (const { container, init, index } of containerSlots(spec)) {
    const image = container.image;
    if (image == null || image === "") throw new ImageError(container.name, "no image");
    let ref;
    try {
      ref = parseNormalizedReference(image);
    } catch (err) {
      if (err instanceof ReferenceError)
        throw new ImageError(
          container.name,
          `invalid image reference ${JSON.stringify(image)}: ${err.reason}`,
        );
      throw err;
    }
    const host = canonicalRegistryHost(ref.domain);
    if (host === undefined || !accelerated.has(host)) continue;
    try {
      const to = formatReference(rewriteThroughFront(ref, front));
      rewrites.push({ container: container.name, init, index, from: image, to, host });
    } catch (err) {
      if (!(err instanceof ReferenceError)) throw err;
      notes.push(`container ${JSON.stringify(container.name)} pulls directly: ${err.reason}`);
    }
  }
  const hosts = [...new Set(rewrites.map((r) => r.host))].sort();
  return { rewrites, hosts, notes };
}
