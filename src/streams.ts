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
