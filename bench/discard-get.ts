/**
 * The benchmarks' pull client for blob bodies: one GET on its own connection (`connection: close`),
 * the body read into one reused buffer and counted, never kept. On a real node every pod pulls on its
 * own CPUs; here all clients share the sidecars' two cores, so the client must cost as little as
 * possible or the benchmark measures the client. (A general HTTP client parsed and sliced every chunk
 * of the 4 GiB a 16-sidecar run moves.)
 */
import { connect } from "node:net";

const HEAD_END = Buffer.from("\r\n\r\n");
const READ_BUFFER_BYTES = 1024 * 1024;

export interface DiscardResult {
  readonly status: number;
  /** Body bytes received (everything after the head, up to the close). */
  readonly bytes: number;
}

/** GETs an http:// URL and counts the body. Rejects on a connection error or a malformed head. */
export function discardGet(url: string, headers: Record<string, string>): Promise<DiscardResult> {
  const { hostname, port, pathname, search } = new URL(url);
  const lines = Object.entries({ host: `${hostname}:${port}`, ...headers, connection: "close" })
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join("");
  const buffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
  let head = Buffer.alloc(0);
  let status = 0;
  let bytes = 0;
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: hostname,
      port: Number(port),
      onread: {
        buffer,
        callback: (n) => {
          if (status !== 0) {
            bytes += n;
            return true;
          }
          head = Buffer.concat([head, buffer.subarray(0, n)]);
          const end = head.indexOf(HEAD_END);
          if (end < 0) return true;
          const statusLine = /^HTTP\/1\.[01] (\d{3})/.exec(head.toString("latin1", 0, Math.min(end, 64)));
          if (!statusLine) {
            socket.destroy(new Error(`bad response head from ${url}`));
            return false;
          }
          status = Number(statusLine[1]);
          bytes = head.byteLength - end - HEAD_END.byteLength;
          return true;
        },
      },
    });
    socket.once("error", reject);
    socket.once("close", (hadError) => {
      if (!hadError) resolve({ status, bytes });
    });
    socket.write(`GET ${pathname}${search} HTTP/1.1\r\n${lines}\r\n`, "latin1");
  });
}
