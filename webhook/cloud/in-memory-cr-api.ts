/**
 * CrApi held in memory: instances and their endpoints set by the caller, plus a switch to make every
 * call fail. For tests of the resolver and the temporary-credential logic (the signed, over-the-wire
 * path is tested against the CR emulator in test/support/cloud).
 */
import { AcrInstanceNotFoundError, type CloudError } from "./cloud-errors.ts";
import type { AcrAuthorizationToken, CrApi, InstanceEndpoint, InstanceVpcEndpoint } from "./cr-api.ts";
import { SecretValue } from "./secret-value.ts";

export interface InMemoryInstance {
  endpoints: InstanceEndpoint[];
  vpcEndpoint: InstanceVpcEndpoint;
}

export class InMemoryCrApi implements CrApi {
  readonly instances = new Map<string, InMemoryInstance>();
  readonly calls: string[] = [];
  /** When set, every call throws it. */
  failure: CloudError | undefined;
  region = "cn-test";
  tokenLifetimeMs = 3600_000;
  now: () => number = () => Date.now();
  #tokens = 0;

  /** An instance with one internet domain and one VPC domain linked to `vpcId`. */
  addInstance(id: string, name: string, vpcId: string): void {
    this.instances.set(id, {
      endpoints: [
        {
          endpointType: "internet",
          enable: true,
          status: "RUNNING",
          domains: [{ domain: `${name}-registry.${this.region}.cr.aliyuncs.com`, type: "SYSTEM" }],
          linkedVpcIds: [],
        },
      ],
      vpcEndpoint: {
        enable: true,
        domains: [`${name}-registry-vpc.${this.region}.cr.aliyuncs.com`],
        linkedVpcs: [{ vpcId, status: "RUNNING" }],
      },
    });
  }

  #get(action: string, id: string): InMemoryInstance {
    this.calls.push(`${action} ${id}`);
    if (this.failure) throw this.failure;
    const instance = this.instances.get(id);
    if (!instance) throw new AcrInstanceNotFoundError(id, this.region);
    return instance;
  }

  async listInstanceEndpoint(id: string): Promise<readonly InstanceEndpoint[]> {
    return this.#get("ListInstanceEndpoint", id).endpoints;
  }

  async getInstanceVpcEndpoint(id: string): Promise<InstanceVpcEndpoint> {
    return this.#get("GetInstanceVpcEndpoint", id).vpcEndpoint;
  }

  async getAuthorizationToken(id: string): Promise<AcrAuthorizationToken> {
    this.#get("GetAuthorizationToken", id);
    this.#tokens++;
    return {
      username: "cr_temp_user",
      password: new SecretValue(`temp-password-${id}-${this.#tokens}`),
      expireAtMs: this.now() + this.tokenLifetimeMs,
    };
  }
}
