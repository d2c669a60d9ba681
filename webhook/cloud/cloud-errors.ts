/**
 * Errors of the cloud layer. Code branches on `code`, never on message text. Messages name the seed
 * parameter (and its environment variable) a user would have to change, so a bad install is fixed
 * from the log line alone.
 */
import { CodedError } from "../../lib/coded-error.ts";

export type CloudErrorCode =
  /** A configuration value is invalid or missing; `parameter` names it. */
  | "CLOUD_CONFIG_INVALID"
  /** An ACR instance ID in acrInstances does not exist (in that region, for these credentials). */
  | "ACR_INSTANCE_NOT_FOUND"
  /** The CR OpenAPI answered with an error (auth, permission, throttling, server). */
  | "CR_API_ERROR"
  /** The CR OpenAPI could not be reached or answered something unreadable. */
  | "CR_API_UNAVAILABLE"
  /** The ECS metadata service did not answer (region / VPC lookup). */
  | "METADATA_UNAVAILABLE"
  /** Getting cloud credentials failed (STS, metadata, token file). */
  | "CREDENTIALS_UNAVAILABLE";

export class CloudError extends CodedError<CloudErrorCode> {
  constructor(code: CloudErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = "CloudError";
  }
}

export class CloudConfigError extends CloudError {
  /** The seed parameter name (e.g. `rrsa.expireDuration`), or the environment variable if it has none. */
  readonly parameter: string;

  /** `message` must start with the parameter's label (see cloud-options.ts `optionLabel`). */
  constructor(parameter: string, message: string) {
    super("CLOUD_CONFIG_INVALID", message);
    this.name = "CloudConfigError";
    this.parameter = parameter;
  }
}

export class AcrInstanceNotFoundError extends CloudError {
  readonly instanceId: string;

  constructor(instanceId: string, region: string) {
    super(
      "ACR_INSTANCE_NOT_FOUND",
      `acrInstances: ACR instance ${instanceId} was not found in region ${region} ` +
        "(check the instance ID, the region parameter, and that the credentials belong to the instance's account)",
    );
    this.name = "AcrInstanceNotFoundError";
    this.instanceId = instanceId;
  }
}

/** The CR API's own error code (e.g. `Forbidden.RAM`), kept for metrics and readiness. */
export class CrApiError extends CloudError {
  readonly action: string;
  readonly apiCode: string;

  constructor(
    code: "CR_API_ERROR" | "CR_API_UNAVAILABLE",
    action: string,
    apiCode: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, `${action}: ${message}`, options);
    this.name = "CrApiError";
    this.action = action;
    this.apiCode = apiCode;
  }
}
