/**
 * One client-node 2.x call, bounded and with its failure turned into a KubeApiError: client-node
 * throws ApiException with the HTTP status in `.code` and the Status object in `.body`; anything else
 * (refused, reset, TLS) means the apiserver was not reached.
 */
import { ApiException } from "@kubernetes/client-node";
import { KubeApiError } from "./kube-api.ts";

export async function callKube<T>(what: string, timeoutMs: number, run: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new KubeApiError("TIMEOUT", `${what}: no answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([run(), timeout]);
  } catch (err) {
    if (err instanceof KubeApiError) throw err;
    if (err instanceof ApiException) {
      const status = statusObject(err.body);
      throw new KubeApiError(
        codeFor(err.code, status.reason),
        `${what}: HTTP ${err.code}: ${status.message}`,
        {
          status: err.code,
          cause: err,
        },
      );
    }
    throw new KubeApiError("UNAVAILABLE", `${what}: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  } finally {
    clearTimeout(timer);
  }
}

/** Like callKube, but a 404 is `undefined`. */
export async function readKube<T>(
  what: string,
  timeoutMs: number,
  run: () => Promise<T>,
): Promise<T | undefined> {
  try {
    return await callKube(what, timeoutMs, run);
  } catch (err) {
    if (err instanceof KubeApiError && err.code === "NOT_FOUND") return undefined;
    throw err;
  }
}

function codeFor(status: number, reason: string | undefined): KubeApiError["code"] {
  if (status === 404) return "NOT_FOUND";
  if (status === 409) return reason === "Conflict" ? "CONFLICT" : "ALREADY_EXISTS";
  if (status === 401 || status === 403) return "FORBIDDEN";
  if (status === 422 || status === 400) return "INVALID";
  if (status === 429 || status >= 500) return "UNAVAILABLE";
  return "API_ERROR";
}

function statusObject(body: unknown): { message: string; reason: string | undefined } {
  let value: unknown = body;
  if (typeof body === "string") {
    try {
      value = JSON.parse(body);
    } catch {
      return { message: body.slice(0, 300), reason: undefined };
    }
  }
  const v = (value ?? {}) as { message?: unknown; reason?: unknown };
  return {
    message: typeof v.message === "string" ? v.message : "no message",
    reason: typeof v.reason === "string" ? v.reason : undefined,
  };
}
