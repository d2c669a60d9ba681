/**
 * A loopback HTTPS stand-in for the apiserver endpoints the webhook calls (namespace get, secret
 * get/create/replace, pods list in two pages, /version), answering as the apiserver does: objects, Status bodies with 404/409/403, and
 * one namespace that never answers. Not a mock of the client: the real client-node code runs against it.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import { generateCertificateAuthority, issueServingCertificate } from "../../../lib/tls-certs.ts";

export interface Seen {
  method: string;
  url: string;
  auth: string | undefined;
  contentType: string | undefined;
  body: string;
}

function status(res: ServerResponse, code: number, reason: string, message: string): void {
  res.writeHead(code, { "content-type": "application/json" });
  res.end(JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", message, reason, code }));
}

export const CA = generateCertificateAuthority("test-apiserver-ca");
const CERT = issueServingCertificate(CA, { hosts: ["127.0.0.1"] });

export function kubeconfigText(server: string, user: Record<string, string>): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: "c",
        cluster: { server, "certificate-authority-data": Buffer.from(CA.certPem).toString("base64") },
      },
    ],
    users: [{ name: "u", user }],
    contexts: [{ name: "x", context: { cluster: "c", user: "u" } }],
    "current-context": "x",
  });
}

export function apiserverStandIn(seen: Seen[]): Server {
  return createServer(
    { cert: CERT.certPem, key: CERT.keyPem },
    async (req: IncomingMessage, res: ServerResponse) => {
      let body = "";
      for await (const chunk of req) body += chunk;
      seen.push({
        method: req.method ?? "",
        url: req.url ?? "",
        auth: req.headers.authorization,
        contentType: req.headers["content-type"],
        body,
      });
      const url = new URL(req.url ?? "/", "http://x");
      const json = (v: unknown) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(v));
      };
      if (url.pathname === "/version") return json({ major: "1", minor: "30+", gitVersion: "v1.30.4-test" });
      if (url.pathname === "/api/v1/namespaces/apps") {
        return json({
          kind: "Namespace",
          apiVersion: "v1",
          metadata: { name: "apps", labels: { "k8s.aliyun.com/image-accelerate-mode": "p2p" } },
        });
      }
      if (url.pathname === "/api/v1/namespaces/stall") return; // never answers
      if (url.pathname === "/api/v1/pods") {
        // Two pages: an injected pod of namespace "running" naming the temporary credentials secret,
        // then one of "apps" naming none.
        const second = url.searchParams.get("continue") === "page-2";
        const pod = (namespace: string, name: string, secrets: string[]) => ({
          metadata: { namespace, name, labels: { "acr-p2p/peer": "true" } },
          spec: { containers: [], imagePullSecrets: secrets.map((n) => ({ name: n })) },
        });
        return json({
          kind: "PodList",
          apiVersion: "v1",
          metadata: second ? {} : { continue: "page-2" },
          items: second ? [pod("apps", "b", [])] : [pod("running", "a", ["acr-p2p-acr-temp-credentials"])],
        });
      }
      if (url.pathname === "/api/v1/namespaces/locked/secrets/s")
        return status(res, 403, "Forbidden", 'secrets "s" is forbidden: User cannot get resource');
      if (req.method === "PUT" && url.pathname === "/api/v1/namespaces/apps/secrets/creds") {
        return json(JSON.parse(body));
      }
      if (url.pathname === "/api/v1/namespaces/apps/secrets/creds") {
        return json({
          kind: "Secret",
          apiVersion: "v1",
          metadata: { name: "creds", namespace: "apps", labels: { a: "b" } },
          type: "kubernetes.io/dockerconfigjson",
          data: { ".dockerconfigjson": "e30=" },
        });
      }
      if (req.method === "POST" && url.pathname === "/api/v1/namespaces/running/secrets") {
        res.writeHead(201, { "content-type": "application/json" });
        return res.end(body);
      }
      if (req.method === "POST" && url.pathname === "/api/v1/namespaces/apps/secrets") {
        const name = (JSON.parse(body) as { metadata: { name: string } }).metadata.name;
        if (name === "taken") return status(res, 409, "AlreadyExists", 'secrets "taken" already exists');
        res.writeHead(201, { "content-type": "application/json" });
        return res.end(body);
      }
      return status(res, 404, "NotFound", `${url.pathname} not found`);
    },
  );
}
