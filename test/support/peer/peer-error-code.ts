/** What a peer request came to: "OK", or the PeerError's code (anything else is rethrown). */
import { PeerError } from "../../../sidecar/peer/peer-error.ts";

export async function peerCodeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "OK";
  } catch (err) {
    if (err instanceof PeerError) return err.peerCode;
    throw err;
  }
}
