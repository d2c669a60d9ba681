/**
 * The error side shared by the RPC-style emulators (STS, CR): a fault carries the API's error code and
 * HTTP status, and every failed call is answered with the documented {RequestId, HostId, Code, Message}
 * shape. Anything unexpected a handler throws becomes a 500 InternalError, as the services answer.
 */
import type { EmulatorResponse } from "./emulator-server.ts";
import { SignatureCheckError } from "./signatures.ts";

export class ApiFault extends Error {
  readonly code: string;
  readonly status: number;
  constructor(code: string, message: string, status = 400) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

export function unknownAction(action: string): ApiFault {
  return new ApiFault("InvalidAction.NotFound", `Specified api ${action} is not found`, 404);
}

export function invalidVersion(): ApiFault {
  return new ApiFault("InvalidVersion", "Specified parameter Version is not valid.");
}

/** The answer to a call that threw `err`, and the API code it carries (for the emulator's call log). */
export function faultAnswer(
  err: unknown,
  requestId: string,
  hostId: string,
): { code: string; response: EmulatorResponse } {
  const fault =
    err instanceof ApiFault || err instanceof SignatureCheckError
      ? err
      : new ApiFault("InternalError", String(err), 500);
  const code = fault instanceof ApiFault ? fault.code : fault.apiCode;
  return {
    code,
    response: {
      status: fault.status,
      json: { RequestId: requestId, HostId: hostId, Code: code, Message: fault.message },
    },
  };
}
