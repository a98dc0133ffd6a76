/**
 * A node's control plane alone, in a child process, for the test that kills
 * a node: `node control-plane-child.js <redis url> <prefix> <ttl ms> <topic> <entries>`.
 * Starts a RedisControlPlane, reports `<entries>` presence entries on
 * `<topic>` (uids user-0, user-1, user-2 in turn), waits until Redis lists
 * them, prints `{"nodeId":…}` on one line and then stays up, refreshing,
 * until it is killed.
 */
import type { ControlHandler } from '../../src/control/control-plane.js';
import { RedisControlPlane } from '../../src/control/redis-control-plane.js';

const [url, prefix, ttl, topic, count] = process.argv.slice(2);
const plane = new RedisControlPlane({ url, prefix, presenceTtlMs: Number(ttl) });
const started = Date.now();
const handler: ControlHandler = {
  apply: () => 0,
  localInfo: () => ({
    id: plane.nodeId,
    address: '127.0.0.1:1',
    connections: Number(count),
    subscriptions: Number(count),
    uptimeMs: Date.now() - started,
    version: 'child',
  }),
  localChannels: () => [],
  onJoinLeave: () => {},
};
await plane.start(handler);
for (let i = 0; i < Number(count); i++) {
  plane.presenceAdd(topic, { client: `${plane.nodeId}.${i}`, uid: `user-${i % 3}`, node: plane.nodeId, connectedAt: Date.now() });
}
const deadline = Date.now() + 10_000;
while ((await plane.presenceStats(topic)).clients < Number(count)) {
  if (Date.now() > deadline) throw new Error('entries not listed within 10 s');
  await new Promise((resolve) => setTimeout(resolve, 20));
}
process.stdout.write(`${JSON.stringify({ nodeId: plane.nodeId })}\n`);
setInterval(() => {}, 60_000); // stay up (the plane's own timer is unref'd) until killed
