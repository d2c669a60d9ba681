import { expect } from "chai";
import {
  generateTicketKey,
  PeerTicketVerifier,
  publicKeyOf,
  signPeerTicket,
  ticketKeyFromPem,
  ticketKeyToPem,
} from "../../../contract/peer-ticket.ts";
import { ticketErrorCode } from "../../support/peer/ticket-error-code.ts";

describe("peer tickets", () => {
  const key = generateTicketKey();
  const verifier = new PeerTicketVerifier([publicKeyOf(key)]);
  const now = Math.floor(Date.now() / 1000);

  it("a ticket of the group verifies and carries its claims", () => {
    const ticket = signPeerTicket(key, { group: "team-a", subject: "team-a/pod-1", ttlSeconds: 600, now });
    const claims = verifier.verify(ticket, "team-a", now + 1);
    expect(claims).to.include({ grp: "team-a", sub: "team-a/pod-1", iat: now, exp: now + 600, kid: key.kid });
  });

  it("refuses a missing, expired, future, other-group or malformed ticket", () => {
    const ticket = signPeerTicket(key, { group: "team-a", subject: "s", ttlSeconds: 60, now });
    expect(ticketErrorCode(() => verifier.verify(undefined, "team-a"))).to.equal("TICKET_MISSING");
    expect(ticketErrorCode(() => verifier.verify("", "team-a"))).to.equal("TICKET_MISSING");
    expect(ticketErrorCode(() => verifier.verify(ticket, "team-a", now + 60))).to.equal("TICKET_EXPIRED");
    expect(ticketErrorCode(() => verifier.verify(ticket, "team-a", now - 120))).to.equal(
      "TICKET_NOT_YET_VALID",
    );
    expect(ticketErrorCode(() => verifier.verify(ticket, "team-b", now))).to.equal("TICKET_WRONG_GROUP");
    expect(ticketErrorCode(() => verifier.verify("p2pt1.e30.AAAA", "team-a"))).to.equal("TICKET_MALFORMED");
    expect(ticketErrorCode(() => verifier.verify("garbage", "team-a"))).to.equal("TICKET_MALFORMED");
  });

  it("refuses a ticket signed by another key, and one whose claims were edited", () => {
    const other = generateTicketKey();
    const forged = signPeerTicket(other, { group: "team-a", subject: "s", ttlSeconds: 60 });
    expect(ticketErrorCode(() => verifier.verify(forged, "team-a"))).to.equal("TICKET_UNKNOWN_KEY");

    const ticket = signPeerTicket(key, { group: "team-b", subject: "s", ttlSeconds: 60 });
    const [prefix, body, sig] = ticket.split(".") as [string, string, string];
    const claims = JSON.parse(Buffer.from(body, "base64url").toString());
    claims.grp = "team-a";
    const edited = `${prefix}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.${sig}`;
    expect(ticketErrorCode(() => verifier.verify(edited, "team-a"))).to.equal("TICKET_BAD_SIGNATURE");
  });

  it("an expired ticket stays refused even after it was verified once (cache)", () => {
    const ticket = signPeerTicket(key, { group: "g", subject: "s", ttlSeconds: 10, now });
    verifier.verify(ticket, "g", now);
    expect(ticketErrorCode(() => verifier.verify(ticket, "g", now + 11))).to.equal("TICKET_EXPIRED");
  });

  it("refuses absurd lifetimes at signing time and keys round-trip through PEM", () => {
    expect(() => signPeerTicket(key, { group: "g", subject: "s", ttlSeconds: 0 })).to.throw(/ttl/);
    expect(() => signPeerTicket(key, { group: "g", subject: "s", ttlSeconds: 10 * 86400 })).to.throw(/ttl/);
    const copy = ticketKeyFromPem(ticketKeyToPem(key));
    expect(copy.kid).to.equal(key.kid);
    const ticket = signPeerTicket(copy, { group: "g", subject: "s", ttlSeconds: 60 });
    expect(verifier.verify(ticket, "g").sub).to.equal("s");
  });

  it("key rotation: tickets of a dropped key stop verifying", () => {
    const v = new PeerTicketVerifier([publicKeyOf(key)]);
    const ticket = signPeerTicket(key, { group: "g", subject: "s", ttlSeconds: 60 });
    v.verify(ticket, "g");
    v.setKeys([publicKeyOf(generateTicketKey())]);
    expect(ticketErrorCode(() => v.verify(ticket, "g"))).to.equal("TICKET_UNKNOWN_KEY");
  });
});
