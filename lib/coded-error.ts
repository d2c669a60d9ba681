/**
 * The base of the project's errors: a stable `code` that logs, metrics, responses and tests match on
 * (the message is for people and may change), and `isAbort()`, true for an error that only says the
 * work was called off (its caller went away, a deadline passed, the process is stopping), which is
 * never a fault to count, log as a failure or blame on a peer or registry. An error says so with the
 * code "ABORTED"; a class whose codes name aborts otherwise overrides `isAbort()`.
 */
export class CodedError<Code extends string = string> extends Error {
  readonly code: Code;

  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.code = code;
  }

  isAbort(): boolean {
    return this.code === "ABORTED";
  }
}

/**
 * Whether `err` only says the work was called off, in any of the forms it arrives in: the project's
 * errors (`isAbort()`), the platform's AbortError (an AbortSignal's default reason, fetch and streams),
 * Node's ABORT_ERR and undici's UND_ERR_ABORTED.
 */
export function isAbort(err: unknown): boolean {
  if (err instanceof CodedError) return err.isAbort();
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  return err.name === "AbortError" || code === "ABORT_ERR" || code === "UND_ERR_ABORTED";
}
