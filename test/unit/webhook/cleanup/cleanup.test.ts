/**
 * `acr-p2p cleanup` over an in-memory API: the webhook configuration goes before any Secret, every
 * namespace is swept by the managed-by selector, and a namespace that fails does not stop the others
 * but fails the run, naming it. (The real run, as helm uninstall's hook: test/node/six-nodes.test.ts.)
 */
import { expect } from "chai";
import { silentLogger } from "../../../../lib/logger.ts";
import type { CleanupApi } from "../../../../webhook/cleanup/cleanup-api.ts";
import { parseCleanupArgs, type CleanupConfig } from "../../../../webhook/cleanup/cleanup-config.ts";
import {
  CleanupError,
  MANAGED_SECRETS_SELECTOR,
  runCleanup,
} from "../../../../webhook/cleanup/run-cleanup.ts";
import { KubeApiError } from "../../../../webhook/kube/kube-api.ts";

class MemoryCleanupApi implements CleanupApi {
  readonly calls: string[] = [];
  webhookConfigs = new Set(["ack-acr-acceleration-p2p"]);
  failing = new Set<string>();

  readonly namespaces: string[];

  constructor(namespaces: string[]) {
    this.namespaces = namespaces;
  }

  async deleteWebhookConfig(name: string): Promise<boolean> {
    this.calls.push(`delete webhook ${name}`);
    return this.webhookConfigs.delete(name);
  }

  async listNamespaces(): Promise<string[]> {
    return [...this.namespaces];
  }

  async deleteSecrets(namespace: string, labelSelector: string): Promise<void> {
    this.calls.push(`delete secrets ${namespace} ${labelSelector}`);
    if (this.failing.has(namespace)) throw new KubeApiError("FORBIDDEN", `forbidden in ${namespace}`);
  }
}

function config(argv: string[] = []): CleanupConfig {
  const c = parseCleanupArgs(argv, {}).config;
  if (!c) throw new Error("no config");
  return c;
}

describe("cleanup", function () {
  it("deletes the webhook configuration first, then the managed Secrets of every namespace", async () => {
    const api = new MemoryCleanupApi(["kube-system", "shop"]);
    const outcome = await runCleanup(api, config(), silentLogger());
    expect(outcome).to.deep.equal({ webhookConfigDeleted: true, namespaces: ["kube-system", "shop"] });
    expect(api.calls).to.deep.equal([
      "delete webhook ack-acr-acceleration-p2p",
      "delete secrets kube-system app.kubernetes.io/managed-by=acr-p2p",
      "delete secrets shop app.kubernetes.io/managed-by=acr-p2p",
    ]);
    expect(MANAGED_SECRETS_SELECTOR).to.equal("app.kubernetes.io/managed-by=acr-p2p");
  });

  it("goes on when the webhook configuration is already gone (a second run)", async () => {
    const api = new MemoryCleanupApi(["shop"]);
    api.webhookConfigs.clear();
    const outcome = await runCleanup(
      api,
      config(["--webhook-config", "ack-acr-acceleration-p2p"]),
      silentLogger(),
    );
    expect(outcome.webhookConfigDeleted).to.equal(false);
    expect(api.calls).to.have.length(2);
  });

  it("sweeps every namespace when one fails, then fails naming it", async () => {
    const api = new MemoryCleanupApi(["a", "b", "c"]);
    api.failing.add("b");
    const run = runCleanup(api, config(), silentLogger());
    const err = await run.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(CleanupError);
    expect((err as CleanupError).message).to.match(/ in b$/);
    expect((err as CleanupError).failures.map((f) => f.namespace)).to.deep.equal(["b"]);
    expect(api.calls.filter((c) => c.startsWith("delete secrets")).map((c) => c.split(" ")[2])).to.deep.equal(
      ["a", "b", "c"],
    );
  });
});
