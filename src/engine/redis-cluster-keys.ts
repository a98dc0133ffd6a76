/**
 * Key and channel names of the Redis engine on a Redis Cluster, and the hash
 * slot of a name (Redis Cluster specification, "Key distribution model" and
 * "Hash tags").
 *
 * Everything one publication touches — its stream's seq, epoch and entries
 * keys and the shard channel it is SPUBLISHed on — carries the same hash tag,
 * the routing channel's name (`t:<topic>`, `u:<uid>` or `all`), so it all
 * lives in one slot: the publish script runs atomically on one shard and the
 * publication touches no other. A user's private topics share the user's tag
 * because they are delivered on the user's channel.
 *
 * A tag ends at the first `}`, so `{`, `}` and `\` inside a uid or topic are
 * escaped (`\(`, `\)`, `\\`): injective, so two names never share a channel.
 */
import { topicOfStream } from '../streams.js';

/** Slots of a Redis Cluster. */
export const CLUSTER_SLOTS = 16_384;

/** A name made safe inside a hash tag (`{`, `}`, `\\` escaped; injective). */
export function escapeTagPart(value: string): string {
  return value.replace(/[\\{}]/g, (c) => (c === '\\' ? '\\\\' : c === '{' ? '\\(' : '\\)'));
}

/** The tagged routing channel of a topic, a user, or everyone (`{}`). */
export function clusterChannel(prefix: string, target: { uid?: string; topic?: string }): string {
  if (target.uid !== undefined) return `${prefix}{u:${escapeTagPart(target.uid)}}`;
  if (target.topic !== undefined) return `${prefix}{t:${escapeTagPart(target.topic)}}`;
  return `${prefix}{all}`;
}

/**
 * The three keys of a stream (seq, epoch, entries — the order the scripts take
 * them), in the slot of the channel its publications go to. A private stream
 * (`p:…`, see `streamOf`) adds its topic after the user's tag.
 */
export function clusterStreamKeys(prefix: string, stream: string): [seq: string, epoch: string, entries: string] {
  const base = clusterStreamBase(prefix, stream);
  return [`${base}seq`, `${base}epoch`, `${base}s`];
}

function clusterStreamBase(prefix: string, stream: string): string {
  if (stream === 'all') return `${prefix}{all}`;
  if (stream.startsWith('t:')) return clusterChannel(prefix, { topic: stream.slice(2) });
  if (stream.startsWith('u:')) return clusterChannel(prefix, { uid: stream.slice(2) });
  const topic = topicOfStream(stream);
  if (stream.startsWith('p:') && topic !== undefined) {
    const colon = stream.indexOf(':', 2);
    const uid = stream.slice(colon + 1, colon + 1 + Number(stream.slice(2, colon)));
    // The topic follows the tag: `\`-escaped so `p` keys of different topics never meet.
    return `${clusterChannel(prefix, { uid })}p:${escapeTagPart(topic)}:`;
  }
  // Not a stream streamOf makes: its own tag, still one slot for its three keys.
  return `${prefix}{x:${escapeTagPart(stream)}}`;
}

/** A prefix for cluster keys must not hold a hash tag of its own (it would put every key in one slot). */
export function checkClusterPrefix(prefix: string): void {
  if (/[{}]/.test(prefix)) throw new RangeError(`a Redis Cluster prefix must not contain { or }: ${prefix}`);
}

/** CRC16-CCITT (XMODEM: polynomial 0x1021, initial value 0), the checksum Redis Cluster hashes keys with. */
function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/**
 * The hash slot of a key or shard channel: CRC16 of the whole name mod 16384,
 * or of its hash tag — the bytes between the first `{` and the first `}`
 * after it, when that is not empty.
 */
export function hashSlot(name: string): number {
  const bytes = Buffer.from(name, 'utf8');
  const open = bytes.indexOf(0x7b);
  if (open >= 0) {
    const close = bytes.indexOf(0x7d, open + 1);
    if (close > open + 1) return crc16(bytes.subarray(open + 1, close)) % CLUSTER_SLOTS;
  }
  return crc16(bytes) % CLUSTER_SLOTS;
}
