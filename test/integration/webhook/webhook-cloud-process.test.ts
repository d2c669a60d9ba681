/**
 * `acr-p2p webhook` as a process with the cloud layer on, configured by env as the chart does: the
 * STS and CR emulators on loopback TLS (their CA trusted through NODE_EXTRA_CA_CERTS), a RAM user's
 * AccessKey pair, ACR temporary credentials on, and the apiserver stand-in for the cluster.
 *
 * - The instance's hosts are accelerated next to the static ones; /readyz and /metrics say so.
 * - A pod naming no pull secret that uses the instance's VPC host gets the temporary credentials
 *   secret: created in its namespace through the API before the answer, keyed by the rewritten
 *   prefix, holding a password the CR emulator issued.
 * - Namespaces where running injected pods name that secret (listed through the API) get it too.
 * - CR API failing at start: not ready, /readyz says why; ready once the API answers.
 * - Cloud settings the user must fix stop the process with exit code 2, naming the parameter.
 */
import { once } from "node:events";
import { writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import type { Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { startCloudRig, type CloudRig } from "../../support/cloud/cloud-rig.ts";
import { internetDomain, vpcDomain } from "../../support/cloud/cr-emulator.ts";
import { writeCaFile } from "../../support/cloud/test-ca.ts";
import { waitUntil } from "../../support/origin/child-process.ts";
import { pod, review, SIDECAR_IMAGE } from "../../unit/webhook/webhook-fixtures.ts";
import { apiserverStandIn, kubeconfigText, type Seen } from "./apiserver-stand-in.ts";
import { runWebhookChild, startWebhookChild, type WebhookChild } from "./webhook-child.ts";

const TEMP_SECRET = "acr-p2p-acr-temp-credentials";

interface Readyz {
  ready: boolean;
  detail: Record<string, string>;
}

describe("acr-p2p webhook (process) with ACR instances", function () {
  this.timeout(60_000);
  let apiserver: Server;
  let rig: CloudRig;
  let dir: string;
  let baseEnv: Record<string, string>;
  const seen: Seen[] = [];
  const children: WebhookChild[] = [];

  before(async () => {
    apiserver = apiserverStandIn(seen).listen(0, "127.0.0.1");
    await once(apiserver, "listening");
    rig = await startCloudRig();
    dir = await mkdtemp(join(tmpdir(), "acr-p2p-webhook-cloud-"));
    const kubeconfig = join(dir, "kubeconfig");
    writeFileSync(
      kubeconfig,
      kubeconfigText(`https://127.0.0.1:${(apiserver.address() as AddressInfo).port}`, { token: "t" }),
    );
    baseEnv = {
      KUBECONFIG: kubeconfig,
      NODE_EXTRA_CA_CERTS: writeCaFile(rig.ca, dir),
      ACR_P2P_SIDECAR_IMAGE: SIDECAR_IMAGE,
      ACR_P2P_REGISTRIES: "registry.example.com",
      ACR_P2P_SERVERLESS: "true",
      ...rig.env("accessKey"),
    };
  });

  after(async () => {
    for (const c of children) await c.kill();
    await rig?.close();
    apiserver.closeAllConnections();
    apiserver.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function start(name: string, env: Record<string, string> = {}): Promise<WebhookChild> {
    const child = await startWebhookChild({
      ...baseEnv,
      ACR_P2P_CA_OUT: join(dir, `${name}-ca.pem`),
      ...env,
    });
    children.push(child);
    return child;
  }

  async function readyz(webhook: WebhookChild): Promise<{ status: number; body: Readyz }> {
    const r = await webhook.get("/readyz");
    return { status: r.status, body: JSON.parse(r.text) as Readyz };
  }

  describe("temporary credentials on", () => {
    let webhook: WebhookChild;

    before(async () => {
      webhook = await start("temp", { ACR_P2P_ACR_TEMP_CREDENTIALS: "true" });
    });

    it("is ready with the instance's hosts next to the static one, and says so", async () => {
      const { status, body } = await readyz(webhook);
      expect(status, JSON.stringify(body)).to.equal(200);
      expect(body.detail["registries"]).to.match(
        new RegExp(
          `^1 configured registry host\\(s\\); ACR ${rig.local.id}: 2 host\\(s\\) resolved \\d+s ago$`,
        ),
      );
      expect(body.detail["tempCredentials"]).to.match(
        new RegExp(
          `^temporary credentials ${rig.local.id}: password expires in \\d+s; \\d+ namespace\\(s\\)$`,
        ),
      );
      const metrics = (await webhook.get("/metrics")).text;
      expect(metrics).to.contain(`acr_p2p_acr_resolved_hosts{instance="${rig.local.id}"} 2`);
      expect(metrics).to.contain("acr_p2p_webhook_admissions_total");
    });

    it("gives a pod without pull secrets the temporary credentials secret, written first", async () => {
      const host = vpcDomain(rig.local);
      const object = pod({ containers: [{ name: "app", image: `${host}/team/app:1` }] });
      const res = await webhook.post("/mutate", review(object));
      expect(res.status).to.equal(200);
      const ops = JSON.parse(Buffer.from(res.json.response.patch ?? "", "base64").toString()) as {
        op: string;
        path: string;
        value: unknown;
      }[];
      expect(ops).to.deep.include({
        op: "add",
        path: "/spec/imagePullSecrets",
        value: [{ name: TEMP_SECRET }],
      });
      expect(ops).to.deep.include({
        op: "replace",
        path: "/spec/containers/0/image",
        value: `127.0.0.1:65001/${host}/team/app:1`,
      });

      const created = seen.find(
        (s) => s.method === "POST" && s.url.startsWith("/api/v1/namespaces/apps/secrets"),
      );
      expect(created, "the secret was created through the API").not.to.equal(undefined);
      const secret = JSON.parse(created!.body) as {
        metadata: { name: string; labels: Record<string, string> };
        type: string;
        data: Record<string, string>;
      };
      expect(secret.metadata.name).to.equal(TEMP_SECRET);
      expect(secret.metadata.labels["app.kubernetes.io/managed-by"]).to.equal("acr-p2p");
      expect(secret.type).to.equal("kubernetes.io/dockerconfigjson");
      const auths = JSON.parse(Buffer.from(secret.data[".dockerconfigjson"]!, "base64").toString())
        .auths as Record<string, { username: string; password: string }>;
      expect(Object.keys(auths).sort()).to.deep.equal(
        [`127.0.0.1:65001/${host}/`, `127.0.0.1:65001/${internetDomain(rig.local)}/`].sort(),
      );
      const login = auths[`127.0.0.1:65001/${host}/`]!;
      expect(login.username).to.equal("cr_temp_user");
      expect(rig.cr.checkTempLogin(rig.local.id, login.username, login.password)).to.equal(true);
      expect(JSON.stringify(webhook.logs)).not.to.contain(login.password);
    });

    it("writes the secret where a running injected pod names it (listed at start, no admission)", async () => {
      // The stand-in lists pod running/a, which names the secret: as after a controller restart.
      const posted = () =>
        seen.find((s) => s.method === "POST" && s.url.startsWith("/api/v1/namespaces/running/secrets"));
      await waitUntil(
        async () => posted() !== undefined,
        10_000,
        () => "no secret written in running",
        100,
      );
      expect(JSON.parse(posted()!.body).metadata.name).to.equal(TEMP_SECRET);
      expect(seen.some((s) => s.url.startsWith("/api/v1/pods?labelSelector=acr-p2p%2Fpeer%3Dtrue"))).to.equal(
        true,
      );
    });

    it("leaves a pod of a static registry without the secret", async () => {
      const res = await webhook.post("/mutate", review(pod()));
      const ops = JSON.parse(Buffer.from(res.json.response.patch ?? "", "base64").toString()) as {
        path: string;
      }[];
      expect(ops.map((o) => o.path)).to.not.include("/spec/imagePullSecrets");
    });

    it("exits 0 on SIGTERM with the cloud layer running", async () => {
      expect(await webhook.stop()).to.equal(0);
    });
  });

  it("is not ready while the CR API fails at start, says why, and gets ready when it answers", async () => {
    rig.cr.fault = { status: 503, code: "ServiceUnavailable" };
    try {
      const webhook = await start("cr-down");
      const down = await readyz(webhook);
      expect(down.status).to.equal(503);
      expect(down.body.detail["registries"]).to.contain(
        `ACR ${rig.local.id}: not resolved yet (CR_API_ERROR`,
      );
      rig.cr.fault = undefined;
      // The resolver retries 5 s after a failure.
      await waitUntil(
        async () => (await readyz(webhook)).status === 200,
        15_000,
        () => "never ready",
        250,
      );
      expect(await webhook.stop()).to.equal(0);
    } finally {
      rig.cr.fault = undefined;
    }
  });

  const bad: [string, Record<string, string>, string][] = [
    [
      "rrsa.expireDuration 100",
      { ACR_P2P_RRSA_EXPIRE_DURATION: "100" },
      'rrsa.expireDuration (ACR_P2P_RRSA_EXPIRE_DURATION): must be an integer from 3600 to 43200 seconds, got "100"',
    ],
    [
      "an unknown instance",
      { ACR_P2P_ACR_INSTANCES: "cri-doesnotexist" },
      "acrInstances: ACR instance cri-doesnotexist was not found in region cn-test",
    ],
    [
      "RRSA without its token file",
      {
        ALIBABA_CLOUD_ACCESS_KEY_ID: "",
        ALIBABA_CLOUD_ACCESS_KEY_SECRET: "",
        ACR_P2P_RRSA_ENABLE: "true",
        ACR_P2P_RRSA_ROLE_ARN: "acs:ram::1111111111111111:role/acr-p2p-rrsa",
        ACR_P2P_RRSA_OIDC_PROVIDER_ROLE_ARN: "acs:ram::1111111111111111:oidc-provider/ack-rrsa-x",
        ALIBABA_CLOUD_OIDC_TOKEN_FILE: "/nonexistent/token",
      },
      "ALIBABA_CLOUD_OIDC_TOKEN_FILE: the ServiceAccount token file /nonexistent/token does not exist",
    ],
  ];
  for (const [name, env, message] of bad) {
    it(`exits 2 naming the parameter: ${name}`, async () => {
      const r = await runWebhookChild({ ...baseEnv, ...env, ACR_P2P_CA_OUT: join(dir, "bad-ca.pem") });
      expect(r.code, r.stderr + r.stdout).to.equal(2);
      expect(r.stderr).to.contain(`acr-p2p webhook: ${message}`);
    });
  }
});
