/** The PeerTicketError code `fn` throws, or "OK": lets ticket tests list outcomes in one table. */
import { PeerTicketError } from "../../../contract/peer-ticket.ts";

export function ticketErrorCode(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof PeerTicketError) return err.code;
    throw err;
  }
  return "OK";
}
