/**
 * Per-pod overrides by annotation: the memory cache size, the sidecar's memory limit and opting out
 * of peer sharing. Each is validated; a bad one is an OverrideError naming the annotation, and the pod
 * is then left alone (a silently ignored override would surprise more than no injection).
 */
import type { MutationConfig } from "../config/webhook-config.ts";
import { CACHE_SIZE_ANNOTATION, MEMORY_LIMIT_ANNOTATION, PEER_SHARING_ANNOTATION } from "./names.ts";
import { formatBytes, parseByteQuantity } from "../config/quantity.ts";
import { CodedError } from "../../lib/coded-error.ts";

export interface SidecarSizing {
  readonly cacheBytes: number;
  readonly memoryLimitBytes: number;
  readonly peerSharing: boolean;
}

export class OverrideError extends CodedError<"OVERRIDE_INVALID"> {
  readonly annotation: string;
  constructor(annotation: string, reason: string) {
    super("OVERRIDE_INVALID", `annotation ${annotation}: ${reason}`);
    this.name = "OverrideError";
    this.annotation = annotation;
  }
}

const MIN_CACHE_BYTES = 16 * 2 ** 20;
const MAX_CACHE_BYTES = 64 * 2 ** 30;
/** Below this much room beside the cache a Node process cannot run. */
const MIN_HEADROOM_BYTES = 64 * 2 ** 20;

/** The sidecar's sizing for this pod: configured defaults, then the pod's overrides. */
export function sidecarSizing(
  annotations: Readonly<Record<string, string>>,
  config: MutationConfig,
): SidecarSizing {
  const { sidecar, resources } = config;
  const cacheText = annotations[CACHE_SIZE_ANNOTATION];
  let cacheBytes = sidecar.cacheBytes;
  if (cacheText !== undefined) {
    const parsed = parseByteQuantity(cacheText);
    if (parsed === undefined)
      throw new OverrideError(
        CACHE_SIZE_ANNOTATION,
        `${JSON.stringify(cacheText)} is not a byte quantity (e.g. 512Mi, 1Gi)`,
      );
    if (parsed < MIN_CACHE_BYTES || parsed > MAX_CACHE_BYTES) {
      throw new OverrideError(
        CACHE_SIZE_ANNOTATION,
        `${cacheText} is outside ${formatBytes(MIN_CACHE_BYTES)}..${formatBytes(MAX_CACHE_BYTES)}`,
      );
    }
    cacheBytes = parsed;
  }
  // In disk mode the blocks live in an emptyDir, so memory holds only the runtime and blocks in flight.
  const inMemory = sidecar.cacheMode === "memory" ? cacheBytes : 0;
  let memoryLimitBytes = inMemory + resources.memoryMarginBytes;
  const limitText = annotations[MEMORY_LIMIT_ANNOTATION];
  if (limitText !== undefined) {
    const parsed = parseByteQuantity(limitText);
    if (parsed === undefined)
      throw new OverrideError(
        MEMORY_LIMIT_ANNOTATION,
        `${JSON.stringify(limitText)} is not a byte quantity (e.g. 768Mi)`,
      );
    const minimum = inMemory + MIN_HEADROOM_BYTES;
    if (parsed < minimum) {
      throw new OverrideError(
        MEMORY_LIMIT_ANNOTATION,
        `${limitText} is below the cache (${formatBytes(inMemory)}) plus ${formatBytes(MIN_HEADROOM_BYTES)} for the runtime`,
      );
    }
    memoryLimitBytes = parsed;
  }
  if (memoryLimitBytes < resources.memoryRequestBytes) {
    throw new OverrideError(
      limitText !== undefined ? MEMORY_LIMIT_ANNOTATION : CACHE_SIZE_ANNOTATION,
      `the sidecar's memory limit ${formatBytes(memoryLimitBytes)} would be below its request ${formatBytes(resources.memoryRequestBytes)}`,
    );
  }
  let peerSharing = sidecar.peerSharing;
  const sharingText = annotations[PEER_SHARING_ANNOTATION];
  if (sharingText !== undefined) {
    if (sharingText !== "true" && sharingText !== "false") {
      throw new OverrideError(
        PEER_SHARING_ANNOTATION,
        `expected "true" or "false", got ${JSON.stringify(sharingText)}`,
      );
    }
    peerSharing = sharingText === "true";
  }
  return { cacheBytes, memoryLimitBytes, peerSharing };
}
