/**
 * A Docker token server for the distribution registry's `auth.token` mode, on 127.0.0.1:0.
 *
 *   startTokenServer(opts?) -> TokenServer
 *   server.realm            URL to put in the registry's auth.token.realm
 *   server.service/issuer   the registry's auth.token.service / issuer
 *   server.certPem          the registry's rootcertbundle (write it to a file)
 *   server.counts           {get, post, issued, refused}
 *   server.log              one TokenRequestRecord per request
 *   server.users            mutable user table (user -> {password, grants})
 *   server.lifetimeSec      mutable token lifetime
 *   server.close()
 *
 * Both flows real clients use: containerd with credentials first POSTs an OAuth2 password grant
 * (form: grant_type, username, password, service, scope) and only falls back to GET with Basic auth
 * on 404/405; skopeo and docker GET with Basic auth. Wrong credentials get 401. Anonymous requests
 * get a token with the `anonymous` grants, by default none: an empty `access` list, like servers
 * that hand out tokens with empty access, so "got a token" proves nothing.
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createTokenSigner, type AccessEntry, type TokenSigner } from "./token-signer.ts";

/** `repository` is a glob: `*` matches any run of characters, including `/`. */
export interface Grant {
  repository: string;
  actions: string[];
}

export interface UserEntry {
  password: string;
  grants: Grant[];
}

export interface TokenServerOptions {
  users?: Record<string, UserEntry>;
  anonymous?: Grant[];
  lifetimeSec?: number;
  service?: string;
  issuer?: string;
  host?: string;
}

export interface TokenRequestRecord {
  method: string;
  user: string | null;
  scopes: string[];
  status: number;
  access: AccessEntry[];
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(`^${escaped.join(".*")}$`);
}

/** `repository:name:pull,push` -> entry; the name may not contain `:`, so split at the ends. */
function parseScope(scope: string): AccessEntry | null {
  const first = scope.indexOf(":");
  const last = scope.lastIndexOf(":");
  if (first < 0 || last <= first) return null;
  if (scope.slice(0, first) !== "repository") return null;
  const actions = scope
    .slice(last + 1)
    .split(",")
    .filter(Boolean);
  return { type: "repository", name: scope.slice(first + 1, last), actions };
}

function grantAccess(grants: Grant[], scopes: string[]): AccessEntry[] {
  const out: AccessEntry[] = [];
  for (const scope of scopes) {
    const wanted = parseScope(scope);
    if (!wanted) continue;
    const allowed = new Set<string>();
    for (const g of grants) {
      if (!globToRegExp(g.repository).test(wanted.name)) continue;
      for (const a of g.actions) allowed.add(a);
    }
    const actions = wanted.actions.filter((a) => allowed.has(a) || allowed.has("*"));
    if (actions.length > 0) out.push({ type: "repository", name: wanted.name, actions });
  }
  return out;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function parseBasic(header: string | undefined): { user: string; password: string } | null {
  if (!header?.startsWith("Basic ")) return null;
  const decoded = Buffer.from(header.slice(6), "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return null;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export class TokenServer {
  readonly service: string;
  readonly issuer: string;
  readonly certPem: string;
  readonly counts = { get: 0, post: 0, issued: 0, refused: 0 };
  readonly log: TokenRequestRecord[] = [];
  /** Mutable: tests may add users or change grants between requests. */
  users: Map<string, UserEntry>;
  anonymous: Grant[];
  lifetimeSec: number;
  #signer: TokenSigner = createTokenSigner();
  #server = createServer((req, res) => {
    this.#handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) reply(res, 500, { error: String(err) });
      else res.destroy();
    });
  });
  #realm = "";

  constructor(opts: TokenServerOptions) {
    this.users = new Map(Object.entries(opts.users ?? {}));
    this.anonymous = opts.anonymous ?? [];
    this.lifetimeSec = opts.lifetimeSec ?? 300;
    this.service = opts.service ?? "acr-p2p-test-registry";
    this.issuer = opts.issuer ?? "acr-p2p-test-token-issuer";
    this.certPem = this.#signer.certPem;
  }

  /** The URL for the registry's auth.token.realm. */
  get realm(): string {
    return this.#realm;
  }

  async listen(host: string): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, host, resolve));
    const { port } = this.#server.address() as AddressInfo;
    this.#realm = `http://${host}:${port}/token`;
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://token");
    let creds: { user: string; password: string } | null;
    let scopes: string[];
    let service: string | null;
    if (req.method === "POST") {
      this.counts.post++;
      const form = new URLSearchParams(await readBody(req));
      if (form.get("grant_type") !== "password") {
        return reply(res, 400, { error: "unsupported_grant_type" });
      }
      creds = { user: form.get("username") ?? "", password: form.get("password") ?? "" };
      scopes = form.getAll("scope");
      service = form.get("service");
    } else if (req.method === "GET") {
      this.counts.get++;
      creds = parseBasic(req.headers.authorization);
      scopes = url.searchParams.getAll("scope");
      service = url.searchParams.get("service");
    } else {
      return reply(res, 405, { error: "method not allowed" });
    }
    scopes = scopes.flatMap((s) => s.split(" ")).filter(Boolean);
    let grants = this.anonymous;
    if (creds) {
      const entry = this.users.get(creds.user);
      if (!entry || entry.password !== creds.password) {
        this.counts.refused++;
        this.log.push({ method: req.method, user: creds.user, scopes, status: 401, access: [] });
        res.setHeader("www-authenticate", `Basic realm="${this.service}"`);
        return reply(res, 401, { errors: [{ code: "UNAUTHORIZED", message: "bad credentials" }] });
      }
      grants = entry.grants;
    }
    const access = grantAccess(grants, scopes);
    const now = Math.floor(Date.now() / 1000);
    const token = this.#signer.sign({
      iss: this.issuer,
      sub: creds?.user ?? "",
      aud: service ?? this.service,
      exp: now + this.lifetimeSec,
      nbf: now - 1,
      iat: now,
      jti: randomBytes(12).toString("hex"),
      access,
    });
    this.counts.issued++;
    this.log.push({ method: req.method, user: creds?.user ?? null, scopes, status: 200, access });
    reply(res, 200, {
      token,
      access_token: token,
      expires_in: this.lifetimeSec,
      issued_at: new Date(now * 1000).toISOString(),
    });
  }
}

function reply(res: ServerResponse, status: number, body: object): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

export async function startTokenServer(opts: TokenServerOptions = {}): Promise<TokenServer> {
  const server = new TokenServer(opts);
  await server.listen(opts.host ?? "127.0.0.1");
  return server;
}
