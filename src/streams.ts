/**
 * Stream keys, shared by the engines (sequence numbers, history) and the hub
 * (holding live messages of a stream being resumed). Imports nothing.
 *
 * The stream of a publication: `t:<topic>` a public topic,
 * `p:<len>:<uid>:<topic>` a user's private topic (the uid's length makes the
 * key unambiguous), `u:<uid>` a user, `all` everyone.
 */
export function streamOf(publication: { uid?: string; topic?: string }): string {
  const { uid, topic } = publication;
  if (uid !== undefined) return topic !== undefined ? `p:${uid.length}:${uid}:${topic}` : `u:${uid}`;
  return topic !== undefined ? `t:${topic}` : 'all';
}

/** The topic of a stream key made by {@link streamOf}; undefined for a user's (`u:`) or everyone's (`all`) stream. */
export function topicOfStream(stream: string): string | undefined {
  if (stream.startsWith('t:')) return stream.slice(2);
  if (!stream.startsWith('p:')) return undefined;
  const colon = stream.indexOf(':', 2);
  const uidLength = Number(stream.slice(2, colon));
  if (colon < 0 || !Number.isSafeInteger(uidLength)) return undefined;
  return stream.slice(colon + 1 + uidLength + 1);
}

/** A stream's history limits: publications kept and idle time (ms) before it is forgotten. */
export interface HistoryLimits {
  readonly size: number;
  readonly ttlMs: number;
}

/**
 * Per-topic history limits (a topic's namespace, see util/namespaces.ts), given
 * to the engines by the composition root; undefined for a topic keeping the
 * engine's defaults, and a field left undefined keeps that default.
 */
export type HistoryFor = (topic: string) => { readonly historySize?: number; readonly historyTtlMs?: number } | undefined;
