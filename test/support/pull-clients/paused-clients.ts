/**
 * Clients that send a blob GET and then never read a byte of the answer, with small fixed receive
 * buffers (64 KiB): what a stopped reader holds, rather than the megabytes Linux lets an idle loopback
 * socket absorb through autotuning. Node cannot size a socket's buffers, so a small python3 process
 * holds the sockets until close().
 *
 *   startPausedClients(host, port, requests) -> PausedClients     requests: raw HTTP/1.1 request heads
 *   clients.close()
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";

const HOLDER = `
import json, socket, sys
host, port = sys.argv[1], int(sys.argv[2])
held = []
for raw in json.loads(sys.stdin.readline()):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    s.connect((host, port))
    s.sendall(raw.encode())
    held.append(s)
print("ready", flush=True)
sys.stdin.read()
`;

export interface PausedClients {
  close(): Promise<void>;
}

export async function startPausedClients(
  host: string,
  port: number,
  requests: readonly string[],
): Promise<PausedClients> {
  const child = spawn("python3", ["-c", HOLDER, host, String(port)], { stdio: ["pipe", "pipe", "inherit"] });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  await new Promise<void>((resolve, reject) => {
    child.once("error", reject);
    void exited.then(() => reject(new Error("the paused clients' holder exited early")));
    createInterface({ input: child.stdout }).on("line", (line) => line === "ready" && resolve());
    child.stdin.write(`${JSON.stringify(requests)}\n`);
  });
  return {
    close: async () => {
      child.stdin.end();
      await exited;
    },
  };
}
