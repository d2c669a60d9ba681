/**
 * Limits the API server enforces on any pod that the webhook's patch can push a valid pod over: the
 * annotations' total size (256 KiB, counting keys and values) and the length of a label value (63).
 * A pod the API server would accept as written must never be rejected because of the patch: where the
 * patched pod breaks a limit the original kept, the pod is left alone (skip reason `object-limits`),
 * with the limit and the numbers in the message.
 */
import type { Pod } from "./pod.ts";

/** apimachinery's TotalAnnotationSizeLimitB. */
export const TOTAL_ANNOTATION_BYTES = 256 * 1024;
/** apimachinery's LabelValueMaxLength. */
export const LABEL_VALUE_MAX_LENGTH = 63;

/** What the patched pod breaks that the original did not, or undefined. */
export function objectLimitBroken(original: Pod, patched: Pod): string | undefined {
  const before = annotationBytes(original);
  const after = annotationBytes(patched);
  if (after > TOTAL_ANNOTATION_BYTES && before <= TOTAL_ANNOTATION_BYTES) {
    return (
      `the pod's annotations take ${before} bytes and the injection's would bring them to ${after}, ` +
      `over the API server's limit of ${TOTAL_ANNOTATION_BYTES} bytes`
    );
  }
  const originalLabels = original.metadata?.labels ?? {};
  for (const [key, value] of Object.entries(patched.metadata?.labels ?? {})) {
    if (value.length > LABEL_VALUE_MAX_LENGTH && originalLabels[key] !== value) {
      return (
        `the injection's label ${key} would be ${value.length} characters long, ` +
        `over the API server's limit of ${LABEL_VALUE_MAX_LENGTH} for a label value`
      );
    }
  }
  return undefined;
}

function annotationBytes(pod: Pod): number {
  let total = 0;
  for (const [key, value] of Object.entries(pod.metadata?.annotations ?? {}))
    total += Buffer.byteLength(key) + Buffer.byteLength(value);
  return total;
}
