/**
 * The Container Registry OpenAPI (2018-12-01) on loopback TLS: ListInstanceEndpoint,
 * GetInstanceVpcEndpoint and GetAuthorizationToken, as @alicloud/openapi-core's generic call sends
 * them (RPC style over signature v3: action and version in `x-acs-action` / `x-acs-version`,
 * parameters in the query, ACS3-HMAC-SHA256 in `Authorization`, verified in signatures.ts).
 *
 * Checked like the real service: signature, date and nonce; a session's security token (present,
 * matching, unexpired); the RAM permission `cr:<Action>`; the instance exists in this region and in
 * the caller's account (another account's instance is invisible: that is what makes the
 * cross-account role necessary). Answers have the documented shapes; "no such instance" is
 * `IsSuccess: false, Code: INSTANCE_NOT_EXIST`; auth errors are 4xx {RequestId, HostId, Code, Message}.
 *
 * `fault` makes every call answer an error (e.g. 503 ServiceUnavailable); `server.down` resets
 * connections. Temporary passwords are remembered so a token-auth origin can check them
 * (`checkTempLogin`).
 */
import { randomBytes, randomUUID } from "node:crypto";
import { ApiFault, faultAnswer, invalidVersion, unknownAction } from "./api-fault.ts";
import {
  startEmulatorServer,
  type EmulatorRequest,
  type EmulatorResponse,
  type EmulatorServer,
} from "./emulator-server.ts";
import { callerAccount, callerActions, type AcrInstance, type Caller, type FakeCloud } from "./fake-cloud.ts";
import { NonceLedger, verifyAcs3 } from "./signatures.ts";
import type { TestCa } from "./test-ca.ts";

export interface CrCall {
  readonly action: string;
  readonly ok: boolean;
  readonly code?: string;
  readonly accessKeyId?: string;
  readonly instanceId?: string;
}

export interface TempLogin {
  readonly instanceId: string;
  readonly username: string;
  readonly password: string;
  readonly expireAtMs: number;
}

export interface CrEmulator {
  readonly endpoint: string;
  readonly region: string;
  readonly server: EmulatorServer;
  readonly calls: CrCall[];
  readonly tempLogins: TempLogin[];
  /** When set, every call answers this error. */
  fault: { status: number; code: string } | undefined;
  /** Lifetime of passwords issued to RAM users (sessions get their own expiry). */
  tempPasswordSeconds: number;
  /** Called with every password issued (a test origin's token server can learn it from here). */
  onTempLogin: ((login: TempLogin) => void) | undefined;
  /** True when the login is a password this emulator issued for `instanceId` and it has not expired. */
  checkTempLogin(instanceId: string, username: string, password: string): boolean;
  close(): Promise<void>;
}

export function internetDomain(i: AcrInstance): string {
  return i.internetDomainOverride ?? `${i.name}-registry.${i.region}.cr.aliyuncs.com`;
}

export function vpcDomain(i: AcrInstance): string {
  return `${i.name}-registry-vpc.${i.region}.cr.aliyuncs.com`;
}

export async function startCrEmulator(
  cloud: FakeCloud,
  ca: TestCa,
  region: string,
  host = "127.0.0.1",
): Promise<CrEmulator> {
  const calls: CrCall[] = [];
  const tempLogins: TempLogin[] = [];
  const nonces = new NonceLedger();
  const state: {
    fault: { status: number; code: string } | undefined;
    tempPasswordSeconds: number;
    onTempLogin: ((login: TempLogin) => void) | undefined;
  } = {
    fault: undefined,
    tempPasswordSeconds: 3600,
    onTempLogin: undefined,
  };

  const instanceFor = (caller: Caller, instanceId: string): AcrInstance | undefined => {
    const instance = cloud.instances.get(instanceId);
    if (!instance || instance.region !== region || instance.accountId !== callerAccount(caller))
      return undefined;
    return instance;
  };

  const actions: Record<string, (caller: Caller, instance: AcrInstance) => Record<string, unknown>> = {
    ListInstanceEndpoint: (_caller, i) => ({
      Endpoints: [
        {
          EndpointType: "internet",
          Enable: i.internetEnabled,
          Status: i.internetEnabled ? "RUNNING" : "STOPPED",
          AclEnable: false,
          AclEntries: [],
          Domains: [{ Domain: internetDomain(i), Type: "SYSTEM" }],
        },
        {
          EndpointType: "vpc",
          Enable: i.linkedVpcIds.length > 0,
          Status: "RUNNING",
          Domains: [{ Domain: vpcDomain(i), Type: "SYSTEM" }],
          LinkedVpcs: i.linkedVpcIds.map((VpcId) => ({ VpcId })),
        },
      ],
    }),
    GetInstanceVpcEndpoint: (_caller, i) => ({
      Enable: i.linkedVpcIds.length > 0,
      ModuleName: "Registry",
      Domains: [vpcDomain(i)],
      LinkedVpcs: i.linkedVpcIds.map((VpcId, n) => ({
        VpcId,
        VswitchId: `vsw-${VpcId.slice(4)}`,
        Ip: `192.168.${n}.10`,
        DefaultAccess: false,
        Status: "RUNNING",
      })),
    }),
    GetAuthorizationToken: (caller, i) => {
      // Documented: a password obtained with an STS token lives as long as that token.
      const expireAtMs =
        caller.kind === "session"
          ? caller.session.expirationMs
          : Date.now() + state.tempPasswordSeconds * 1000;
      const login = {
        instanceId: i.id,
        username: "cr_temp_user",
        password: randomBytes(24).toString("base64url"),
        expireAtMs,
      };
      tempLogins.push(login);
      state.onTempLogin?.(login);
      return {
        TempUsername: login.username,
        AuthorizationToken: login.password,
        ExpireTime: login.expireAtMs,
      };
    },
  };

  const handle = (req: EmulatorRequest): EmulatorResponse => {
    const action = String(req.headers["x-acs-action"] ?? "");
    const instanceId = req.query.get("InstanceId") ?? undefined;
    const requestId = randomUUID().toUpperCase();
    let accessKeyId: string | undefined;
    try {
      if (state.fault) throw new ApiFault(state.fault.code, "injected fault", state.fault.status);
      if (req.method !== "POST" || req.path !== "/")
        throw new ApiFault("InvalidAction.NotFound", `${req.method} ${req.path}`, 404);
      if (req.headers["x-acs-version"] !== "2018-12-01") throw invalidVersion();
      accessKeyId = verifyAcs3(req, (k) => cloud.secretOf(k), nonces);
      const token = req.headers["x-acs-security-token"];
      const caller = cloud.caller(accessKeyId, typeof token === "string" ? token : undefined);
      if ("error" in caller) throw new ApiFault(caller.error, `${accessKeyId}: ${caller.error}`, 403);
      const run = actions[action];
      if (!run) throw unknownAction(action);
      if (!callerActions(caller).has(`cr:${action}`)) {
        throw new ApiFault(
          "Forbidden.RAM",
          `User not authorized to operate on the specified resource (cr:${action}).`,
          403,
        );
      }
      const instance = instanceId ? instanceFor(caller, instanceId) : undefined;
      if (!instance) {
        calls.push({ action, ok: false, code: "INSTANCE_NOT_EXIST", accessKeyId, instanceId });
        return { status: 200, json: { IsSuccess: false, Code: "INSTANCE_NOT_EXIST", RequestId: requestId } };
      }
      const body = run(caller, instance);
      calls.push({ action, ok: true, accessKeyId, instanceId });
      return { status: 200, json: { ...body, IsSuccess: true, Code: "success", RequestId: requestId } };
    } catch (err) {
      const { code, response } = faultAnswer(err, requestId, `cr.${region}.aliyuncs.com`);
      calls.push({ action, ok: false, code, accessKeyId, instanceId });
      return response;
    }
  };

  const server = await startEmulatorServer(handle, { host, tls: ca });
  return {
    endpoint: server.endpoint,
    region,
    server,
    calls,
    tempLogins,
    get fault() {
      return state.fault;
    },
    set fault(f) {
      state.fault = f;
    },
    get tempPasswordSeconds() {
      return state.tempPasswordSeconds;
    },
    set tempPasswordSeconds(s: number) {
      state.tempPasswordSeconds = s;
    },
    get onTempLogin() {
      return state.onTempLogin;
    },
    set onTempLogin(f) {
      state.onTempLogin = f;
    },
    checkTempLogin(instanceId, username, password) {
      return tempLogins.some(
        (l) =>
          l.instanceId === instanceId &&
          l.username === username &&
          l.password === password &&
          Date.now() < l.expireAtMs,
      );
    },
    close: () => server.close(),
  };
}
