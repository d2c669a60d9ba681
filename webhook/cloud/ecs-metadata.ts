/**
 * The cluster's region and VPC from the ECS metadata service, for the seed's defaults ("region: the
 * region of the cluster", "vpcId: the VPC of the cluster"). Same address and token flow as
 * @alicloud/credentials' worker-role provider: PUT /latest/api/token with a TTL header, then GETs with
 * `X-aliyun-ecs-metadata-token`. The address is fixed (as in the library); tests serve it from a
 * network namespace of their own.
 */
import { request } from "undici";
import { CloudConfigError, CloudError } from "./cloud-errors.ts";
import type { CloudConfig } from "./cloud-config.ts";
import { optionLabel } from "./cloud-options.ts";

export const METADATA_BASE_URL = "http://100.100.100.200";
const TOKEN_TTL_SECONDS = "21600";
const TIMEOUT_MS = 2000;

export class EcsMetadataClient {
  readonly #base: string;

  constructor(baseUrl: string = METADATA_BASE_URL) {
    this.#base = baseUrl;
  }

  async #token(): Promise<string> {
    const res = await request(`${this.#base}/latest/api/token`, {
      method: "PUT",
      headers: { "x-aliyun-ecs-metadata-token-ttl-seconds": TOKEN_TTL_SECONDS },
      headersTimeout: TIMEOUT_MS,
      bodyTimeout: TIMEOUT_MS,
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`PUT /latest/api/token: HTTP ${res.statusCode}`);
    return text.trim();
  }

  /** GET /latest/meta-data/<path>, e.g. `region-id`, `vpc-id`. */
  async get(path: string): Promise<string> {
    try {
      const token = await this.#token();
      const res = await request(`${this.#base}/latest/meta-data/${path}`, {
        headers: { "x-aliyun-ecs-metadata-token": token },
        headersTimeout: TIMEOUT_MS,
        bodyTimeout: TIMEOUT_MS,
      });
      const text = (await res.body.text()).trim();
      if (res.statusCode !== 200) throw new Error(`GET ${path}: HTTP ${res.statusCode}`);
      return text;
    } catch (err) {
      throw new CloudError(
        "METADATA_UNAVAILABLE",
        `ECS metadata ${path}: ${err instanceof Error ? err.message : err}`,
        {
          cause: err,
        },
      );
    }
  }
}

export interface Placement {
  readonly region: string;
  readonly vpcId: string;
}

/** region and vpcId: from the config when set, else from the metadata service, else a config error. */
export async function resolvePlacement(config: CloudConfig, metadata: EcsMetadataClient): Promise<Placement> {
  const lookup = async (key: "region" | "vpcId", path: string): Promise<string> => {
    try {
      return await metadata.get(path);
    } catch (err) {
      throw new CloudConfigError(
        key,
        `${optionLabel(key)}: not set, and the ECS metadata service (${METADATA_BASE_URL}) did not give the ` +
          `cluster's value (${err instanceof Error ? err.message : err}); set it`,
      );
    }
  };
  const region = config.region ?? (await lookup("region", "region-id"));
  const vpcId = config.vpcId ?? (await lookup("vpcId", "vpc-id"));
  return { region, vpcId };
}
