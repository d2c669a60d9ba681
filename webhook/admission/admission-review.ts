/**
 * The AdmissionReview v1 envelope: checked into a typed request at the edge, and the one place
 * answers are encoded. A body that is not an AdmissionReview (no uid to answer to) is an
 * AdmissionInputError with a stable code and a 4xx status; a review with a uid always gets a 200 answer.
 */
import { z } from "zod";
import { formatPath } from "../mutation/pod.ts";
import type { PatchOperation } from "../mutation/pod-editor.ts";
import { CodedError } from "../../lib/coded-error.ts";

export const ADMISSION_API_VERSION = "admission.k8s.io/v1";

export type AdmissionInputCode =
  | "BODY_TOO_LARGE"
  | "UNSUPPORTED_MEDIA_TYPE"
  | "BODY_NOT_JSON"
  | "BODY_UNREADABLE"
  | "NOT_ADMISSION_REVIEW"
  | "UNSUPPORTED_VERSION"
  | "REQUEST_INVALID";

/** Each input error code's HTTP status, declared once. */
export const INPUT_ERROR_STATUS: Readonly<Record<AdmissionInputCode, number>> = {
  BODY_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  BODY_NOT_JSON: 400,
  BODY_UNREADABLE: 400,
  NOT_ADMISSION_REVIEW: 400,
  UNSUPPORTED_VERSION: 400,
  REQUEST_INVALID: 400,
};

export class AdmissionInputError extends CodedError<AdmissionInputCode> {
  constructor(code: AdmissionInputCode, message: string) {
    super(code, message);
    this.name = "AdmissionInputError";
  }
  get status(): number {
    return INPUT_ERROR_STATUS[this.code];
  }
}

const groupVersionKind = z.looseObject({ group: z.string(), version: z.string(), kind: z.string() });

const requestSchema = z.looseObject({
  uid: z.string().min(1).max(256),
  kind: groupVersionKind,
  resource: z.looseObject({ group: z.string(), version: z.string(), resource: z.string() }).nullish(),
  subResource: z.string().nullish(),
  operation: z.string(),
  namespace: z.string().nullish(),
  name: z.string().nullish(),
  dryRun: z.boolean().nullish(),
  object: z.unknown().optional(),
});

export type AdmissionRequest = z.infer<typeof requestSchema>;

/** Parses the body text into the review's request. */
export function decodeAdmissionReview(text: string): AdmissionRequest {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new AdmissionInputError(
      "BODY_NOT_JSON",
      `body is not JSON: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new AdmissionInputError("NOT_ADMISSION_REVIEW", "body is not a JSON object");
  }
  const review = body as Record<string, unknown>;
  if (review["kind"] !== "AdmissionReview") {
    throw new AdmissionInputError(
      "NOT_ADMISSION_REVIEW",
      `kind is ${JSON.stringify(review["kind"])}, expected "AdmissionReview"`,
    );
  }
  if (review["apiVersion"] !== ADMISSION_API_VERSION) {
    throw new AdmissionInputError(
      "UNSUPPORTED_VERSION",
      `apiVersion is ${JSON.stringify(review["apiVersion"])}, only ${ADMISSION_API_VERSION} is served (admissionReviewVersions: [v1])`,
    );
  }
  const parsed = requestSchema.safeParse(review["request"]);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = formatPath("request", issue?.path ?? []);
    throw new AdmissionInputError(
      "REQUEST_INVALID",
      `${where}: ${(issue?.message ?? "invalid").replace(/^Invalid input: /, "")}`,
    );
  }
  return parsed.data;
}

export interface AdmissionAnswer {
  readonly patch?: readonly PatchOperation[];
  /** Shown by kubectl; sanitised and bounded here. */
  readonly warnings?: readonly string[];
  /** Why nothing was patched (status.message; not consulted by the apiserver on allowed answers). */
  readonly message?: string;
  /** Keys without a prefix: the apiserver prefixes them with the webhook's name. */
  readonly auditAnnotations?: Readonly<Record<string, string>>;
}

const MAX_WARNINGS = 8;
const MAX_WARNING_LENGTH = 240;

/** Always `allowed: true`: this webhook mutates, it never rejects a pod. */
export function encodeAdmissionResponse(uid: string, answer: AdmissionAnswer): Record<string, unknown> {
  const response: Record<string, unknown> = { uid, allowed: true };
  if (answer.patch && answer.patch.length > 0) {
    response["patchType"] = "JSONPatch";
    response["patch"] = Buffer.from(JSON.stringify(answer.patch), "utf8").toString("base64");
  }
  const warnings = (answer.warnings ?? []).slice(0, MAX_WARNINGS).map(sanitizeWarning);
  if (warnings.length > 0) response["warnings"] = warnings;
  if (answer.message !== undefined) response["status"] = { code: 200, message: answer.message };
  if (answer.auditAnnotations && Object.keys(answer.auditAnnotations).length > 0) {
    response["auditAnnotations"] = answer.auditAnnotations;
  }
  return { apiVersion: ADMISSION_API_VERSION, kind: "AdmissionReview", response };
}

/** The body of a 4xx answer to something that is not an AdmissionReview. */
export function encodeInputError(err: AdmissionInputError): Record<string, unknown> {
  return { error: { code: err.code, message: err.message } };
}

/** Warnings are shown in terminals: printable ASCII-safe text, one line, bounded. */
function sanitizeWarning(text: string): string {
  // C0 control characters, DEL and C1 control characters become spaces.
  const clean = `acr-p2p: ${text}`.replace(/[\u0000-\u001f\u007f-\u009f]+/g, " ");
  return clean.length > MAX_WARNING_LENGTH ? `${clean.slice(0, MAX_WARNING_LENGTH - 3)}...` : clean;
}
