/**
 * The peer directory's answer to `GET /v1/peers` (webhook/directory/directory-api.ts), as the
 * controller writes it and the sidecar reads it (sidecar/peer/directory-peers.ts).
 */
import type { TicketPublicKey } from "./peer-ticket.ts";
import { CodedError } from "../lib/coded-error.ts";

export interface DirectoryAnswer {
  readonly group: string;
  readonly zone: string;
  /** Changes whenever the peer set does; the long-poll's `etag` parameter. */
  readonly etag: string;
  /** Ready peers of the caller's group in its zone, as `ip:port` (`[ip]:port` for IPv6). */
  readonly peers: readonly string[];
  /** Pods of the set on their way (scheduled, sidecar not ready yet), the caller excluded. */
  readonly starting: number;
  /** A fresh peer ticket for the caller (contract/peer-ticket.ts). */
  readonly ticket: string;
  /** When the ticket expires, in seconds since the epoch. */
  readonly ticketExpiresAt: number;
  /** Every key whose tickets peers may still present. */
  readonly keys: readonly TicketPublicKey[];
}

export class MalformedDirectoryAnswer extends CodedError<"DIRECTORY_ANSWER_MALFORMED"> {
  constructor(what: string) {
    super("DIRECTORY_ANSWER_MALFORMED", `malformed directory answer: ${what}`);
    this.name = "MalformedDirectoryAnswer";
  }
}

const isString = (v: unknown): v is string => typeof v === "string";
const isKey = (v: unknown): v is TicketPublicKey =>
  isString((v as TicketPublicKey | null)?.kid) && isString((v as TicketPublicKey | null)?.publicKeyPem);

/**
 * Reads an answer, refusing one without the fields a sidecar needs. Lenient where an older or newer
 * directory may differ: items of the wrong type in `peers` and `keys` are dropped, a missing `zone` is
 * empty and a missing or bad `starting` is 0 (directories before it was added).
 */
export function parseDirectoryAnswer(value: unknown): DirectoryAnswer {
  if (value === null || typeof value !== "object") throw new MalformedDirectoryAnswer("not an object");
  const a = value as Record<keyof DirectoryAnswer, unknown>;
  for (const field of ["group", "etag", "ticket"] as const) {
    if (!isString(a[field])) throw new MalformedDirectoryAnswer(`${field} is not a string`);
  }
  if (typeof a.ticketExpiresAt !== "number") {
    throw new MalformedDirectoryAnswer("ticketExpiresAt is not a number");
  }
  if (!Array.isArray(a.peers)) throw new MalformedDirectoryAnswer("peers is not a list");
  if (!Array.isArray(a.keys)) throw new MalformedDirectoryAnswer("keys is not a list");
  const starting = a.starting;
  return {
    group: a.group as string,
    zone: isString(a.zone) ? a.zone : "",
    etag: a.etag as string,
    peers: a.peers.filter(isString),
    starting: Number.isSafeInteger(starting) && (starting as number) > 0 ? (starting as number) : 0,
    ticket: a.ticket as string,
    ticketExpiresAt: a.ticketExpiresAt,
    keys: a.keys.filter(isKey),
  };
}
