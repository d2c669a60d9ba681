/**
 * The ECS metadata service (plain HTTP, as the real one), in hardened mode: every read needs a token.
 *
 * - PUT /latest/api/token with `X-aliyun-ecs-metadata-token-ttl-seconds` (1..21600) returns a token;
 *   a PUT carrying X-Forwarded-For is refused (the real service does this to stop proxied SSRF).
 * - GET /latest/meta-data/... needs a valid, unexpired `X-aliyun-ecs-metadata-token` (else 401).
 *   Served: region-id, vpc-id, zone-id, instance-id, ram/security-credentials/ (the role name) and
 *   ram/security-credentials/<role> (a session of the instance's RAM role:
 *   {AccessKeyId, AccessKeySecret, SecurityToken, Expiration, LastUpdated, Code: "Success"}),
 *   rotated when less than half of its lifetime is left.
 *
 * It must be reached at 100.100.100.200:80 (hard-coded in @alicloud/credentials), so tests run it
 * inside a network namespace of their own (netns.ts) where that address is on the loopback device.
 */
import { randomBytes } from "node:crypto";
import {
  startEmulatorServer,
  type EmulatorRequest,
  type EmulatorResponse,
  type EmulatorServer,
} from "./emulator-server.ts";
import { isoSeconds, type FakeCloud, type RamRole, type StsSession } from "./fake-cloud.ts";

export interface MetadataCall {
  readonly method: string;
  readonly path: string;
  readonly status: number;
}

export interface MetadataEmulator {
  readonly server: EmulatorServer;
  readonly calls: MetadataCall[];
  close(): Promise<void>;
}

export interface MetadataOptions {
  readonly region: string;
  readonly vpcId: string;
  readonly zoneId: string;
  /** The worker RAM role attached to the instance; its name is the last part of the ARN. */
  readonly role: RamRole;
  /** Lifetime of the role sessions handed out. */
  readonly sessionSeconds?: number;
  readonly host?: string;
  readonly port?: number;
}

export async function startMetadataEmulator(
  cloud: FakeCloud,
  options: MetadataOptions,
): Promise<MetadataEmulator> {
  const calls: MetadataCall[] = [];
  const tokens = new Map<string, number>();
  const roleName = options.role.arn.split("/").pop()!;
  const lifetimeMs = (options.sessionSeconds ?? 6 * 3600) * 1000;
  let session: StsSession | undefined;

  const answer = (req: EmulatorRequest): EmulatorResponse => {
    if (req.method === "PUT" && req.path === "/latest/api/token") {
      if (req.headers["x-forwarded-for"]) return { status: 403, text: "Forbidden" };
      const ttl = Number(req.headers["x-aliyun-ecs-metadata-token-ttl-seconds"]);
      if (!Number.isInteger(ttl) || ttl < 1 || ttl > 21600) return { status: 400, text: "invalid ttl" };
      const token = randomBytes(32).toString("base64url");
      tokens.set(token, Date.now() + ttl * 1000);
      return { status: 200, text: token };
    }
    if (req.method !== "GET" || !req.path.startsWith("/latest/meta-data/"))
      return { status: 404, text: "Not Found" };
    const token = req.headers["x-aliyun-ecs-metadata-token"];
    const expiry = typeof token === "string" ? tokens.get(token) : undefined;
    if (expiry === undefined || Date.now() >= expiry) return { status: 401, text: "Unauthorized" };
    const path = req.path.slice("/latest/meta-data/".length);
    const simple: Record<string, string> = {
      "region-id": options.region,
      "vpc-id": options.vpcId,
      "zone-id": options.zoneId,
      "instance-id": "i-acrp2ptest",
      "ram/security-credentials/": roleName,
    };
    if (path in simple) return { status: 200, text: simple[path]! };
    if (path === `ram/security-credentials/${roleName}`) {
      if (!session || session.expirationMs - Date.now() < lifetimeMs / 2) {
        session = cloud.issueSession(options.role, lifetimeMs / 1000, "ecs");
      }
      return {
        status: 200,
        json: {
          AccessKeyId: session.accessKeyId,
          AccessKeySecret: session.accessKeySecret,
          SecurityToken: session.securityToken,
          Expiration: isoSeconds(session.expirationMs),
          LastUpdated: isoSeconds(Date.now()),
          Code: "Success",
        },
      };
    }
    return { status: 404, text: "Not Found" };
  };

  const server = await startEmulatorServer(
    (req) => {
      const res = answer(req);
      calls.push({ method: req.method, path: req.path, status: res.status });
      return res;
    },
    { host: options.host ?? "100.100.100.200", port: options.port ?? 80 },
  );
  return { server, calls, close: () => server.close() };
}
