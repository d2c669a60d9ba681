/**
 * The HTTP(S) server under each cloud emulator: buffers the request body, hands the handler a small
 * request value, writes its JSON (or text) answer, and can be switched to "reset every connection"
 * to play a service that is down. Listens on port 0 unless told otherwise; `close()` also drops
 * keep-alive connections (the SDKs keep them open).
 */
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import type { TestCa } from "./test-ca.ts";

export interface EmulatorRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  /** Raw query string (without `?`), for signature checks that must see the exact encoding. */
  readonly rawQuery: string;
  readonly headers: IncomingMessage["headers"];
  readonly body: Buffer;
}

export interface EmulatorResponse {
  readonly status: number;
  readonly json?: unknown;
  readonly text?: string;
  readonly headers?: Record<string, string>;
}

export type EmulatorHandler = (req: EmulatorRequest) => EmulatorResponse | Promise<EmulatorResponse>;

export interface EmulatorServer {
  /** host:port, as the SDKs take endpoints. */
  readonly endpoint: string;
  readonly port: number;
  /** When true every new connection is reset before any byte is read (service down). */
  down: boolean;
  close(): Promise<void>;
}

export interface ListenOptions {
  readonly host?: string;
  readonly port?: number;
  /** TLS with this CA's serving certificate; plain HTTP without it. */
  readonly tls?: TestCa;
}

export async function startEmulatorServer(
  handler: EmulatorHandler,
  options: ListenOptions = {},
): Promise<EmulatorServer> {
  const sockets = new Set<Socket>();
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://emulator");
      const request: EmulatorRequest = {
        method: req.method ?? "GET",
        path: url.pathname,
        query: url.searchParams,
        rawQuery: url.search.replace(/^\?/, ""),
        headers: req.headers,
        body: Buffer.concat(chunks),
      };
      Promise.resolve()
        .then(() => handler(request))
        .then(
          (answer) => send(res, answer),
          (err: unknown) => send(res, { status: 500, json: { Code: "InternalError", Message: String(err) } }),
        );
    });
  };
  const server: Server = options.tls
    ? createHttpsServer({ cert: options.tls.certPem, key: options.tls.keyPem }, onRequest)
    : createHttpServer(onRequest);
  const state = { down: false };
  const track = (socket: Socket): void => {
    if (state.down) {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  };
  server.on(options.tls ? "secureConnection" : "connection", track);
  if (options.tls) server.on("connection", (s: Socket) => state.down && s.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", resolve);
  });
  const { port, address } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    endpoint: `${address}:${port}`,
    port,
    get down() {
      return state.down;
    },
    set down(value: boolean) {
      state.down = value;
      if (value) for (const s of sockets) s.destroy();
    },
    close: () => {
      // Idempotent: a test may stop a service mid-scenario and close everything again at the end.
      closing ??= new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      });
      return closing;
    },
  };
}

function send(res: ServerResponse, answer: EmulatorResponse): void {
  const body = answer.json !== undefined ? JSON.stringify(answer.json) : (answer.text ?? "");
  const type = answer.json !== undefined ? "application/json;charset=utf-8" : "text/plain";
  res.writeHead(answer.status, { "content-type": type, ...answer.headers });
  res.end(body);
}
