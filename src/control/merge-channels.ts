import type { ChannelCount } from './control-plane.js';

/**
 * Merge per-node pages of `channels` (each ascending, at most `limit`, all
 * after the same cursor) into one: counts of a topic summed over nodes,
 * ascending, cut at `limit`, `cursor` = the last topic when the page is full.
 *
 * Exact: a topic among the first `limit` of the union is among the first
 * `limit` of every node that holds it, so no node's cut can hide it.
 */
export function mergeChannels(lists: readonly ChannelCount[][], limit: number): { channels: ChannelCount[]; cursor?: string } {
  const counts = new Map<string, number>();
  for (const list of lists) {
    for (const { topic, subscribers } of list) counts.set(topic, (counts.get(topic) ?? 0) + subscribers);
  }
  const topics = [...counts.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).slice(0, limit);
  const channels = topics.map((topic) => ({ topic, subscribers: counts.get(topic) as number }));
  return channels.length >= limit ? { channels, cursor: topics[topics.length - 1] } : { channels };
}
