/**
 * A skipped pod says why on itself: `kubectl describe pod` shows the annotation, where the admission
 * warning reached only whoever created the pod (for a Deployment's pods, the ReplicaSet controller).
 * Only for pods that asked for acceleration (a skip that warns), and never for a pod already too large
 * for its annotations.
 */
import type { Pod } from "./pod.ts";
import { PodEditor, type PatchOperation } from "./pod-editor.ts";
import { SKIPPED_ANNOTATION } from "./names.ts";
import type { Skip } from "./skip.ts";

/** Long enough for every message the webhook writes; a bound, as the message may quote user input. */
const MAX_VALUE_LENGTH = 1024;

export function skipAnnotationPatch(pod: Pod, skip: Skip): readonly PatchOperation[] {
  if (!skip.warn || skip.reason === "object-limits") return [];
  const value = `${skip.reason}: ${skip.message}`;
  const editor = new PodEditor(pod);
  editor.setAnnotation(
    SKIPPED_ANNOTATION,
    value.length > MAX_VALUE_LENGTH ? `${value.slice(0, MAX_VALUE_LENGTH - 3)}...` : value,
  );
  return editor.patch;
}
