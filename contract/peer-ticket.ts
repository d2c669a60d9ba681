/**
 * Peer tickets: short-lived proofs that a sidecar belongs to a peer group. The controller's directory
 * signs them (Ed25519) after a TokenReview; peers verify them offline with the public key the directory
 * hands out beside the peer list, so serving a block never needs a call to the controller.
 *
 * Format: `p2pt1.<base64url(JSON claims)>.<base64url(Ed25519 signature of the first two parts)>`.
 * Claims: kid (which key signed), grp (peer group), sub (who: `namespace/pod`), iat and exp (seconds).
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
} from "node:crypto";
import type { KeyObject } from "node:crypto";
import { CodedError } from "../lib/coded-error.ts";

const PREFIX = "p2pt1";
/** Clock skew tolerated between the controller and the peers. */
const SKEW_SECONDS = 30;
/** A ticket that claims to live longer than this is refused whatever its signature says. */
export const MAX_TICKET_TTL_SECONDS = 24 * 3600;

export type PeerTicketErrorCode =
  | "TICKET_MISSING"
  | "TICKET_MALFORMED"
  | "TICKET_UNKNOWN_KEY"
  | "TICKET_BAD_SIGNATURE"
  | "TICKET_EXPIRED"
  | "TICKET_NOT_YET_VALID"
  | "TICKET_WRONG_GROUP";

export class PeerTicketError extends CodedError<PeerTicketErrorCode> {
  constructor(code: PeerTicketErrorCode, message: string) {
    super(code, message);
    this.name = "PeerTicketError";
  }
}

export interface PeerTicketClaims {
  readonly kid: string;
  readonly grp: string;
  readonly sub: string;
  readonly iat: number;
  readonly exp: number;
}

/** The controller's signing key (or, with a static peer list, the key every peer shares). */
export interface TicketSigningKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

/** What peers need to verify tickets: the key id and the PEM (SPKI) of the public key. */
export interface TicketPublicKey {
  readonly kid: string;
  readonly publicKeyPem: string;
}

function keyId(publicKey: KeyObject): string {
  const der = publicKey.export({ type: "spki", format: "der" });
  return createHash("sha256").update(der).digest("hex").slice(0, 16);
}

export function generateTicketKey(): TicketSigningKey {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return { kid: keyId(publicKey), privateKey, publicKey };
}

/** Loads an Ed25519 private key from PEM (PKCS#8), e.g. a mounted Secret. */
export function ticketKeyFromPem(pem: string): TicketSigningKey {
  const privateKey = createPrivateKey(pem);
  if (privateKey.asymmetricKeyType !== "ed25519") {
    throw new Error(`peer ticket key must be Ed25519, got ${privateKey.asymmetricKeyType ?? "unknown"}`);
  }
  const publicKey = createPublicKey(privateKey);
  return { kid: keyId(publicKey), privateKey, publicKey };
}

export function ticketKeyToPem(key: TicketSigningKey): string {
  return key.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
}

export function publicKeyOf(key: TicketSigningKey): TicketPublicKey {
  return { kid: key.kid, publicKeyPem: key.publicKey.export({ type: "spki", format: "pem" }).toString() };
}

export interface TicketRequest {
  readonly group: string;
  readonly subject: string;
  readonly ttlSeconds: number;
  /** Seconds since the epoch; defaults to now. */
  readonly now?: number;
}

export function signPeerTicket(key: TicketSigningKey, req: TicketRequest): string {
  if (!(req.ttlSeconds > 0 && req.ttlSeconds <= MAX_TICKET_TTL_SECONDS)) {
    throw new Error(`peer ticket ttl must be in (0, ${MAX_TICKET_TTL_SECONDS}] s, got ${req.ttlSeconds}`);
  }
  if (req.group === "") throw new Error("peer ticket needs a group");
  const iat = Math.floor(req.now ?? Date.now() / 1000);
  const claims: PeerTicketClaims = {
    kid: key.kid,
    grp: req.group,
    sub: req.subject,
    iat,
    exp: iat + req.ttlSeconds,
  };
  const body = `${PREFIX}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}`;
  const signature = sign(null, Buffer.from(body), key.privateKey).toString("base64url");
  return `${body}.${signature}`;
}

const B64URL = /^[A-Za-z0-9_-]+$/;

function parseClaims(text: string): PeerTicketClaims {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(text, "base64url").toString("utf8"));
  } catch {
    throw new PeerTicketError("TICKET_MALFORMED", "ticket claims are not JSON");
  }
  const c = value as Partial<PeerTicketClaims> | null;
  if (
    c === null ||
    typeof c !== "object" ||
    typeof c.kid !== "string" ||
    typeof c.grp !== "string" ||
    typeof c.sub !== "string" ||
    !Number.isSafeInteger(c.iat) ||
    !Number.isSafeInteger(c.exp)
  ) {
    throw new PeerTicketError("TICKET_MALFORMED", "ticket claims are incomplete");
  }
  return { kid: c.kid, grp: c.grp, sub: c.sub, iat: c.iat as number, exp: c.exp as number };
}

/**
 * Verifies tickets against a set of public keys. Keys are replaced as the directory rotates them; a
 * small cache of already verified tickets keeps the per-block cost at a map lookup.
 */
export class PeerTicketVerifier {
  #keys = new Map<string, KeyObject>();
  #verified = new Map<string, PeerTicketClaims>();
  readonly #cacheLimit: number;

  constructor(keys: readonly TicketPublicKey[] = [], cacheLimit = 1024) {
    this.#cacheLimit = cacheLimit;
    this.setKeys(keys);
  }

  setKeys(keys: readonly TicketPublicKey[]): void {
    const next = new Map<string, KeyObject>();
    for (const k of keys) next.set(k.kid, createPublicKey(k.publicKeyPem));
    this.#keys = next;
    this.#verified.clear();
  }

  keyIds(): string[] {
    return [...this.#keys.keys()];
  }

  /** Returns the claims of a valid ticket of `group`, or throws a PeerTicketError. */
  verify(ticket: string | undefined, group: string, now: number = Date.now() / 1000): PeerTicketClaims {
    if (ticket === undefined || ticket === "") throw new PeerTicketError("TICKET_MISSING", "no peer ticket");
    const claims = this.#verified.get(ticket) ?? this.#verifySignature(ticket);
    if (claims.exp - claims.iat > MAX_TICKET_TTL_SECONDS) {
      throw new PeerTicketError("TICKET_MALFORMED", "ticket lifetime is too long");
    }
    if (now >= claims.exp) throw new PeerTicketError("TICKET_EXPIRED", "peer ticket expired");
    if (now + SKEW_SECONDS < claims.iat) {
      throw new PeerTicketError("TICKET_NOT_YET_VALID", "peer ticket issued in the future");
    }
    if (claims.grp !== group) {
      throw new PeerTicketError("TICKET_WRONG_GROUP", "peer ticket belongs to another group");
    }
    return claims;
  }

  #verifySignature(ticket: string): PeerTicketClaims {
    const parts = ticket.split(".");
    if (
      parts.length !== 3 ||
      parts[0] !== PREFIX ||
      !B64URL.test(parts[1] ?? "") ||
      !B64URL.test(parts[2] ?? "")
    ) {
      throw new PeerTicketError("TICKET_MALFORMED", "not a peer ticket");
    }
    const claims = parseClaims(parts[1] as string);
    const key = this.#keys.get(claims.kid);
    if (!key) throw new PeerTicketError("TICKET_UNKNOWN_KEY", "peer ticket signed by an unknown key");
    const body = Buffer.from(`${parts[0]}.${parts[1]}`);
    if (!verify(null, body, key, Buffer.from(parts[2] as string, "base64url"))) {
      throw new PeerTicketError("TICKET_BAD_SIGNATURE", "peer ticket signature does not verify");
    }
    if (this.#verified.size >= this.#cacheLimit) this.#verified.clear();
    this.#verified.set(ticket, claims);
    return claims;
  }
}
