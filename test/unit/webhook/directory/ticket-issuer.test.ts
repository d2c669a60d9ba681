/**
 * The directory's TicketIssuer across a key switch (useKey): new tickets are signed with the new key,
 * and tickets issued before keep verifying, both with the public keys handed out before the switch and
 * with the ones handed out after it (which carry the previous key too).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import {
  generateTicketKey,
  PeerTicketVerifier,
  publicKeyOf,
  ticketKeyFromPem,
  ticketKeyToPem,
} from "../../../../contract/peer-ticket.ts";
import { ticketErrorCode } from "../../../support/peer/ticket-error-code.ts";
import { TicketIssuer } from "../../../../webhook/directory/ticket-issuer.ts";

describe("TicketIssuer", () => {
  it("issues tickets of the group, signed with its key, expiring after the ttl", () => {
    const key = generateTicketKey();
    const issuer = new TicketIssuer(key, 600);
    const before = Math.floor(Date.now() / 1000);
    const { ticket, expiresAt } = issuer.issue("team-a", "team-a/pod-1");
    const claims = new PeerTicketVerifier(issuer.publicKeys()).verify(ticket, "team-a");
    expect(claims).to.include({ kid: key.kid, grp: "team-a", sub: "team-a/pod-1", exp: expiresAt });
    expect(claims.exp - claims.iat).to.equal(600);
    expect(claims.iat).to.be.at.least(before);
    expect(issuer.kid).to.equal(key.kid);
    expect(issuer.publicKeys()).to.deep.equal([publicKeyOf(key)]);
  });

  it("after useKey, new tickets verify with the new key and earlier ones with the previous key", () => {
    const oldKey = generateTicketKey();
    const newKey = generateTicketKey();
    const issuer = new TicketIssuer(oldKey, 600);
    const handedOutBefore = issuer.publicKeys();
    const earlier = issuer.issue("g", "g/a").ticket;

    issuer.useKey(newKey);
    expect(issuer.kid).to.equal(newKey.kid);
    const later = issuer.issue("g", "g/b").ticket;
    const handedOutAfter = issuer.publicKeys();
    expect(handedOutAfter.map((k) => k.kid)).to.deep.equal([newKey.kid, oldKey.kid]);
    expect(handedOutAfter[1]).to.deep.equal(handedOutBefore[0]);

    // A peer that refreshed its keys accepts both tickets.
    const refreshed = new PeerTicketVerifier(handedOutAfter);
    expect(refreshed.verify(later, "g").kid).to.equal(newKey.kid);
    expect(refreshed.verify(earlier, "g").kid).to.equal(oldKey.kid);
    // Only the new key verifies the new ticket; only the previous key the earlier one.
    expect(
      ticketErrorCode(() => new PeerTicketVerifier([publicKeyOf(newKey)]).verify(earlier, "g")),
    ).to.equal("TICKET_UNKNOWN_KEY");
    // A peer still holding the keys from before the switch keeps accepting the earlier ticket, and
    // refuses the new one until its next directory answer.
    const stale = new PeerTicketVerifier(handedOutBefore);
    expect(stale.verify(earlier, "g").sub).to.equal("g/a");
    expect(ticketErrorCode(() => stale.verify(later, "g"))).to.equal("TICKET_UNKNOWN_KEY");
  });

  it("useKey with the key it already signs with changes nothing", () => {
    const key = generateTicketKey();
    const issuer = new TicketIssuer(key, 600);
    issuer.useKey(ticketKeyFromPem(ticketKeyToPem(key)));
    expect(issuer.publicKeys()).to.deep.equal([publicKeyOf(key)]);

    // After a real switch, switching to the same new key again keeps the previous one.
    const next = generateTicketKey();
    issuer.useKey(next);
    issuer.useKey(next);
    expect(issuer.publicKeys().map((k) => k.kid)).to.deep.equal([next.kid, key.kid]);
  });

  it("keeps one previous key: a second switch drops the first key", () => {
    const [k1, k2, k3] = [generateTicketKey(), generateTicketKey(), generateTicketKey()];
    const issuer = new TicketIssuer(k1, 600);
    const first = issuer.issue("g", "s").ticket;
    issuer.useKey(k2);
    const second = issuer.issue("g", "s").ticket;
    issuer.useKey(k3);
    const v = new PeerTicketVerifier(issuer.publicKeys());
    expect(v.keyIds()).to.deep.equal([k3.kid, k2.kid]);
    expect(v.verify(second, "g").kid).to.equal(k2.kid);
    expect(ticketErrorCode(() => v.verify(first, "g"))).to.equal("TICKET_UNKNOWN_KEY");
  });

  it("fromFileOrGenerated reads the shared key from its PEM file, or generates one", () => {
    const dir = mkdtempSync(join(tmpdir(), "acr-p2p-ticket-"));
    try {
      const key = generateTicketKey();
      const file = join(dir, "ticket.key");
      writeFileSync(file, ticketKeyToPem(key));
      expect(TicketIssuer.fromFileOrGenerated(file, 60).kid).to.equal(key.kid);
      const a = TicketIssuer.fromFileOrGenerated(undefined, 60);
      const b = TicketIssuer.fromFileOrGenerated(undefined, 60);
      expect(a.kid).to.not.equal(b.kid);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
