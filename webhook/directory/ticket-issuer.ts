/**
 * Signs the short-lived peer tickets the directory hands out. The key comes from a mounted Secret when
 * the controller runs several replicas (they must share it), else it is generated at start: peers then
 * learn the new public key with their next directory answer.
 */
import { readFileSync } from "node:fs";
import {
  generateTicketKey,
  publicKeyOf,
  signPeerTicket,
  ticketKeyFromPem,
} from "../../contract/peer-ticket.ts";
import type { TicketPublicKey, TicketSigningKey } from "../../contract/peer-ticket.ts";

export interface IssuedTicket {
  readonly ticket: string;
  /** Seconds since the epoch. */
  readonly expiresAt: number;
}

export class TicketIssuer {
  #key: TicketSigningKey;
  /** The key used before useKey: its tickets stay verifiable until they expire. */
  #previous: TicketSigningKey | undefined;
  readonly #ttlSeconds: number;

  constructor(key: TicketSigningKey, ttlSeconds: number) {
    this.#key = key;
    this.#ttlSeconds = ttlSeconds;
  }

  static fromFileOrGenerated(path: string | undefined, ttlSeconds: number): TicketIssuer {
    const key = path === undefined ? generateTicketKey() : ticketKeyFromPem(readFileSync(path, "utf8"));
    return new TicketIssuer(key, ttlSeconds);
  }

  issue(group: string, subject: string): IssuedTicket {
    const now = Math.floor(Date.now() / 1000);
    const ticket = signPeerTicket(this.#key, { group, subject, ttlSeconds: this.#ttlSeconds, now });
    return { ticket, expiresAt: now + this.#ttlSeconds };
  }

  get kid(): string {
    return this.#key.kid;
  }

  /** Signs with `key` from now on (e.g. the shared key once its Secret is mounted). */
  useKey(key: TicketSigningKey): void {
    if (key.kid === this.#key.kid) return;
    this.#previous = this.#key;
    this.#key = key;
  }

  publicKeys(): TicketPublicKey[] {
    const keys = [publicKeyOf(this.#key)];
    if (this.#previous) keys.push(publicKeyOf(this.#previous));
    return keys;
  }
}
