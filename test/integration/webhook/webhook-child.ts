/**
 * `node bin/acr-p2p.ts webhook` as a child process, configured by env only (as the chart's Deployment
 * configures it) and pointed by KUBECONFIG at the apiserver stand-in. It writes its generated CA to a
 * file; the returned agent trusts it.
 *
 *   startWebhookChild(env) -> WebhookChild      running, "webhook listening" seen
 *   runWebhookChild(env) -> {code, stderr}      for start-ups that must fail
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { Agent, request } from "undici";
import { runCommand } from "../../support/origin/child-process.ts";

const ROOT = new URL("../../../", import.meta.url);

export interface WebhookChild {
  readonly child: ChildProcess;
  readonly url: string;
  readonly agent: Agent;
  /** stdout (JSON log lines) and stderr, as received. */
  readonly logs: string[];
  get(path: string): Promise<{ status: number; text: string }>;
  post(path: string, body: unknown): Promise<{ status: number; json: any }>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
  kill(): Promise<void>;
}

function childEnv(env: Record<string, string>): Record<string, string> {
  // The stand-in serves no watches (client-node's informer cannot take a list answered to a watch):
  // the peer directory is tested against the real API server (test/cluster).
  return {
    PATH: process.env["PATH"] ?? "",
    ACR_P2P_LISTEN: "127.0.0.1:0",
    ACR_P2P_METRICS_PORT: "0",
    ACR_P2P_DIRECTORY_ENABLED: "false",
    ...env,
  };
}

/** `env` must set ACR_P2P_CA_OUT (where the generated CA goes) and KUBECONFIG. */
export async function startWebhookChild(env: Record<string, string>): Promise<WebhookChild> {
  const caOut = env["ACR_P2P_CA_OUT"];
  if (!caOut) throw new Error("startWebhookChild needs ACR_P2P_CA_OUT");
  const child = spawn(process.execPath, ["bin/acr-p2p.ts", "webhook"], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: childEnv(env),
  });
  const logs: string[] = [];
  child.stderr?.on("data", (d: Buffer) => logs.push(d.toString()));
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const url = await new Promise<string>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`webhook exited ${code}: ${logs.join("\n")}`)));
    lines.on("line", (line) => {
      logs.push(line);
      const entry = JSON.parse(line) as { msg?: string; url?: string };
      if (entry.msg === "webhook listening" && entry.url) resolve(entry.url);
    });
  });
  const agent = new Agent({ connect: { ca: readFileSync(caOut, "utf8") } });
  const exited = once(child, "exit") as Promise<[number | null]>;
  let agentOpen = true;
  const closeAgent = async () => {
    if (agentOpen) await agent.close();
    agentOpen = false;
  };
  return {
    child,
    url,
    agent,
    logs,
    async get(path) {
      const res = await request(`${url}${path}`, { dispatcher: agent });
      return { status: res.statusCode, text: await res.body.text() };
    },
    async post(path, body) {
      const res = await request(`${url}${path}`, {
        dispatcher: agent,
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      return { status: res.statusCode, json: await res.body.json() };
    },
    async stop() {
      await closeAgent();
      if (child.exitCode !== null) return child.exitCode;
      child.kill("SIGTERM");
      const [code] = await exited;
      return code;
    },
    async kill() {
      await closeAgent();
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGKILL");
        await exited;
      }
    },
  };
}

export async function runWebhookChild(
  env: Record<string, string>,
  timeoutMs = 20_000,
): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const r = await runCommand(process.execPath, [join(ROOT.pathname, "bin/acr-p2p.ts"), "webhook"], {
    env: childEnv(env),
    timeoutMs,
  });
  return { code: r.code, stderr: r.stderr, stdout: r.stdout };
}
