/**
 * Several publications of one stream in one JetStream message. A node sends
 * one publish per stream at a time (the seq check needs the previous ack), so
 * publications that queue up meanwhile go out together: header `Herald-Count`
 * = k (absent: 1), `Herald-Seq` = the seq of the last, and the data is k
 * frames, each a 4-byte big-endian length and that many bytes. One
 * publication alone is sent as is (no framing).
 */

/** At most this many publications, and about this many bytes, in one message (nats-server's max_payload is 1 MiB by default). */
export const BATCH_MAX_COUNT = 256;
export const BATCH_MAX_BYTES = 256 * 1024;

export function packBatch(items: readonly Uint8Array[]): Uint8Array {
  if (items.length === 1) return items[0];
  const total = items.reduce((sum, item) => sum + 4 + item.length, 0);
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (const item of items) {
    out.writeUInt32BE(item.length, at);
    out.set(item, at + 4);
    at += 4 + item.length;
  }
  return out;
}

/** The publications of a message with `count` of them; undefined when the frames do not add up. */
export function unpackBatch(data: Uint8Array, count: number): Buffer[] | undefined {
  const buffer = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (count === 1) return [Buffer.from(buffer)];
  const items: Buffer[] = [];
  let at = 0;
  while (items.length < count) {
    if (at + 4 > buffer.length) return undefined;
    const length = buffer.readUInt32BE(at);
    if (at + 4 + length > buffer.length) return undefined;
    items.push(Buffer.from(buffer.subarray(at + 4, at + 4 + length)));
    at += 4 + length;
  }
  return at === buffer.length ? items : undefined;
}

/** Take the next batch off the front of `queue`: at least one, then while within the caps. */
export function takeBatch<T extends { data: Uint8Array }>(queue: T[]): T[] {
  let bytes = 0;
  let n = 0;
  while (n < queue.length && n < BATCH_MAX_COUNT && (n === 0 || bytes + queue[n].data.length <= BATCH_MAX_BYTES)) {
    bytes += queue[n].data.length;
    n++;
  }
  return queue.splice(0, n);
}
