/**
 * A loopback port that never completes a connection: a listening socket with a backlog of 0 that
 * nobody accepts on, its one queue slot already taken, so the kernel drops every further SYN and a
 * connect hangs until the client's connect timeout. Node accepts every connection itself, so a small
 * python3 process holds the socket.
 */
import { spawn } from "node:child_process";
import { connect, type Socket } from "node:net";

const HOLDER = `
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(0)
print(s.getsockname()[1], flush=True)
sys.stdin.read()
`;

export interface UnacceptingListener {
  readonly id: string;
  close(): Promise<void>;
}

export async function startUnacceptingListener(): Promise<UnacceptingListener> {
  const child = spawn("python3", ["-c", HOLDER], { stdio: ["pipe", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once("error", reject);
    child.stdout.once("data", (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
  });
  // Take the queue's one slot.
  const filler: Socket = connect({ host: "127.0.0.1", port });
  filler.on("error", () => {});
  await new Promise<void>((resolve) => filler.once("connect", () => resolve()));
  return {
    id: `127.0.0.1:${port}`,
    close: async () => {
      filler.destroy();
      child.stdin.end();
      if (child.exitCode === null) await new Promise((resolve) => child.once("exit", resolve));
    },
  };
}
