/**
 * The head of an HTTP/1.1 response from a peer (status line and headers), parsed strictly: the peer
 * client reads bodies straight into block buffers, so it must know exactly how many body bytes follow
 * and refuses anything it cannot count (chunked transfer coding, conflicting lengths).
 */
import { CodedError } from "../../lib/coded-error.ts";

export interface ResponseHead {
  readonly status: number;
  /** Content-Length; undefined when absent (the body then runs to the end of the connection). */
  readonly contentLength: number | undefined;
  /** The peer will close the connection after this response. */
  readonly close: boolean;
}

/** The head could not be understood: the message says what was wrong. */
export class ResponseHeadError extends CodedError<"RESPONSE_HEAD_INVALID"> {
  constructor(message: string) {
    super("RESPONSE_HEAD_INVALID", message);
    this.name = "ResponseHeadError";
  }
}

const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: |$)/;
const DIGITS = /^\d{1,15}$/;

/** Parses the text before the blank line that ends a response head (latin1, CRLF line ends). */
export function parseResponseHead(text: string): ResponseHead {
  const lines = text.split("\r\n");
  const statusLine = STATUS_LINE.exec(lines[0] ?? "");
  if (!statusLine) throw new ResponseHeadError(`bad status line ${JSON.stringify(lines[0]?.slice(0, 60))}`);
  let contentLength: number | undefined;
  let connection = statusLine[1] === "0" ? "close" : "keep-alive";
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    const colon = line.indexOf(":");
    if (colon <= 0) throw new ResponseHeadError(`bad header line ${JSON.stringify(line.slice(0, 60))}`);
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === "content-length") {
      if (!DIGITS.test(value)) throw new ResponseHeadError(`bad content-length ${JSON.stringify(value)}`);
      const length = Number(value);
      if (contentLength !== undefined && contentLength !== length) {
        throw new ResponseHeadError("conflicting content-length headers");
      }
      contentLength = length;
    } else if (name === "transfer-encoding") {
      throw new ResponseHeadError(`transfer-encoding ${JSON.stringify(value)} is not accepted from peers`);
    } else if (name === "connection") {
      connection = value.toLowerCase();
    }
  }
  return { status: Number(statusLine[2]), contentLength, close: connection.includes("close") };
}
