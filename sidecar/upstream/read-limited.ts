/** Reads a small response body whole, refusing (and destroying the stream) past `limit` bytes. */
import { UpstreamError } from "./upstream-error.ts";

export async function readLimited(
  body: AsyncIterable<Uint8Array> & { destroy?: () => void },
  limit: number,
): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += chunk.length;
    if (total > limit) {
      body.destroy?.();
      throw new UpstreamError("UPSTREAM_PROTOCOL", `response larger than ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}
