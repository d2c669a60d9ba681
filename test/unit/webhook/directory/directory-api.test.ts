/**
 * The directory's HTTP API and the sidecar's long-poll client over loopback, with the in-memory token
 * table standing in for TokenReview (the cluster tier runs the real one).
 */
import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request } from "undici";
import { silentLogger } from "../../../../lib/logger.ts";
import { generateTicketKey, PeerTicketVerifier } from "../../../../contract/peer-ticket.ts";
import { DirectoryPeers } from "../../../../sidecar/peer/directory-peers.ts";
import { parseDirectoryAnswer } from "../../../../contract/directory-answer.ts";
import { directoryRouter } from "../../../../webhook/directory/directory-api.ts";
import { DirectoryState } from "../../../../webhook/directory/directory-state.ts";
import { StaticTokenAuthenticator } from "../../../../webhook/directory/peer-authenticator.ts";
import { directoryApp } from "../../../../webhook/directory/peer-directory.ts";
import { DEFAULT_PEER_RULES } from "../../../../webhook/directory/ready-peer.ts";
import { TicketIssuer } from "../../../../webhook/directory/ticket-issuer.ts";
import { namespace, node, peerPod } from "../../../support/peer/pods.ts";

const rules = DEFAULT_PEER_RULES;

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("directory API and client", function () {
  this.timeout(15_000);
  const state = new DirectoryState(rules);
  const issuer = new TicketIssuer(generateTicketKey(), 600);
  const tokens = new Map([
    ["tok-p1", { namespace: "t", podName: "p1", podUid: "t-p1-uid" }],
    ["tok-old-p1", { namespace: "t", podName: "p1", podUid: "an-earlier-pod-of-that-name" }],
    ["tok-ghost", { namespace: "t", podName: "ghost", podUid: undefined }],
  ]);
  let server: Server;
  let base: string;
  const world = (
    pods = [
      peerPod("t", "p1", "na", "10.0.0.1"),
      peerPod("t", "p2", "na", "10.0.0.2"),
      peerPod("u", "x", "na", "10.0.0.3"),
    ],
  ) => ({
    pods,
    nodes: [node("na", "zone-a")],
    namespaces: [namespace("t"), namespace("u")],
  });

  before(async () => {
    const router = directoryRouter({
      state,
      authenticator: new StaticTokenAuthenticator(tokens),
      issuer,
      maxWaitSeconds: 2,
      logger: silentLogger(),
    });
    server = createServer(directoryApp(router, state, silentLogger()));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  async function ask(token?: string, query = ""): Promise<{ status: number; body: unknown }> {
    const res = await request(`${base}/v1/peers${query}`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    return { status: res.statusCode, body: await res.body.json() };
  }

  it("answers 503 until every informer has listed", async () => {
    expect(await ask("tok-p1")).to.deep.equal({ status: 503, body: { code: "DIRECTORY_NOT_SYNCED" } });
    state.update(world());
  });

  it("refuses callers without a valid token of a live peer pod", async () => {
    expect(await ask()).to.deep.equal({ status: 401, body: { code: "TOKEN_MISSING" } });
    expect(await ask("forged")).to.deep.equal({ status: 403, body: { code: "TOKEN_REFUSED" } });
    expect(await ask("tok-ghost")).to.deep.equal({ status: 403, body: { code: "POD_NOT_A_PEER" } });
    expect(await ask("tok-old-p1")).to.deep.equal({ status: 403, body: { code: "POD_NOT_A_PEER" } });
  });

  it("gives a peer its group's ready peers in its zone and a ticket its peers accept", async () => {
    const { status, body } = await ask("tok-p1");
    expect(status).to.equal(200);
    // What the controller writes, the sidecar's reader takes whole.
    const answer = parseDirectoryAnswer(body);
    expect(answer).to.deep.equal(body);
    expect(answer).to.include({ group: "t", zone: "zone-a" });
    expect(answer.peers).to.deep.equal(["10.0.0.1:65002", "10.0.0.2:65002"]);
    const verifier = new PeerTicketVerifier(answer.keys);
    expect(verifier.verify(answer.ticket, "t").sub).to.equal("t/p1");
    expect(() => verifier.verify(answer.ticket, "u")).to.throw(/another group/);
  });

  it("a long-poll returns as soon as the set changes", async () => {
    const first = parseDirectoryAnswer((await ask("tok-p1")).body);
    setTimeout(() => state.update(world([peerPod("t", "p1", "na", "10.0.0.1")])), 100);
    const t0 = Date.now();
    const next = parseDirectoryAnswer((await ask("tok-p1", `?etag=${first.etag}&wait=10`)).body);
    expect(Date.now() - t0).to.be.below(1500);
    expect(next.peers).to.deep.equal(["10.0.0.1:65002"]);
    expect(next.etag).to.not.equal(first.etag);
  });

  it("the sidecar's client follows changes, and keeps its last list while the directory is down (each failed call counted)", async () => {
    state.update(world());
    const dir = mkdtempSync(join(tmpdir(), "acr-p2p-dir-"));
    writeFileSync(join(dir, "token"), "tok-p1\n");
    let failures = 0;
    const client = new DirectoryPeers({
      url: base,
      tokenFile: join(dir, "token"),
      logger: silentLogger(),
      waitSeconds: 2,
      minRetryMs: 50,
      maxRetryMs: 200,
      onFailure: () => failures++,
    });
    try {
      expect(client.current()).to.deep.equal({ group: "", peers: [], ticket: undefined });
      await client.firstAnswer();
      expect(client.current().peers).to.deep.equal(["10.0.0.1:65002", "10.0.0.2:65002"]);
      const ticket = client.current().ticket;
      expect(client.verifier.verify(ticket, "t").grp).to.equal("t");

      state.update(world([peerPod("t", "p1", "na", "10.0.0.1"), peerPod("t", "p3", "na", "10.0.0.4")]));
      await until(() => client.current().peers.includes("10.0.0.4:65002"));

      expect(failures).to.equal(0);
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await until(() => failures >= 2);
      expect(client.current().peers).to.deep.equal(["10.0.0.1:65002", "10.0.0.4:65002"]);
      expect(client.current().ticket).to.be.a("string");
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await client.close();
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    }
  });
});
