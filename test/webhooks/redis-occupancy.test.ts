/**
 * RedisOccupancy on its own: two "nodes" in this process on the shared Redis
 * (a unique prefix), each fed its local 0→1 / 1→0 transitions as the node's
 * Webhooks would; and one node through an outage of a private Redis that
 * comes back empty. "Not reported" is proven with fences: a node's changes
 * go to Redis one script at a time and are reported in order, so once its
 * report about a later fence topic has arrived, a report about an earlier
 * change would have arrived before it.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { RedisOccupancy } from '../../src/webhooks/redis-occupancy.js';
import type { EventCause } from '../../src/webhooks/webhooks.js';
import { adminClient, deleteKeys, ensureRedis, RedisProcess, uniquePrefix, waitUntil } from '../helpers/redis.js';

const redisUrl = await ensureRedis();
const prefix = uniquePrefix();
const admin = adminClient(redisUrl);

interface Report {
  type: string;
  topic: string;
  cause: EventCause | null;
}

/** A node's occupancy with the local topics a test sets, recording what it reports. */
class FakeNode {
  readonly reports: Report[] = [];
  readonly local = new Set<string>();
  readonly occupancy: RedisOccupancy;
  private fences = 0;

  constructor(readonly id: string, url: string, ttlMs = 3_000) {
    this.occupancy = new RedisOccupancy({ url, prefix, nodeId: id, ttlMs, onError: () => {} });
  }

  start(): Promise<void> {
    return this.occupancy.start((type, topic, cause) => this.reports.push({ type, topic, cause }), () => this.local);
  }

  join(topic: string): void {
    this.local.add(topic);
    this.occupancy.occupy(topic, { uid: null, client: `${this.id}.1` });
  }

  leave(topic: string): void {
    this.local.delete(topic);
    this.occupancy.vacate(topic, { uid: 'u', client: `${this.id}.1` });
  }

  of(topic: string): string[] {
    return this.reports.filter((r) => r.topic === topic).map((r) => r.type);
  }

  /** Occupy a fresh topic and wait for its report: everything changed before it has been reported. */
  async fence(): Promise<void> {
    const topic = `fence-${this.id}-${++this.fences}`;
    this.join(topic);
    await waitUntil(() => this.of(topic).length === 1, `${this.id}'s fence ${topic}`);
    this.leave(topic);
    await waitUntil(() => this.of(topic).length === 2, `${this.id}'s fence ${topic} vacated`);
  }
}

describe('RedisOccupancy', () => {
  const nodes: FakeNode[] = [];
  after(async () => {
    for (const node of nodes) await node.occupancy.close().catch(() => undefined);
    await deleteKeys(admin, prefix);
    await admin.quit();
  });

  async function node(id: string, url = redisUrl, ttlMs?: number): Promise<FakeNode> {
    const n = new FakeNode(id, url, ttlMs);
    nodes.push(n);
    await n.start();
    return n;
  }

  it('tells exactly one node of each cluster transition, with the member that caused it', async () => {
    const x = await node('x');
    const y = await node('y');
    x.join('t');
    await waitUntil(() => x.of('t').length === 1, 'x: occupied t');
    assert.deepEqual(x.reports.find((r) => r.topic === 't'), { type: 'channel_occupied', topic: 't', cause: { uid: null, client: 'x.1' } });
    y.join('t');
    x.leave('t');
    await y.fence();
    await x.fence();
    assert.deepEqual(y.of('t'), []);
    assert.deepEqual(x.of('t'), ['channel_occupied']);
    y.leave('t');
    await waitUntil(() => y.of('t').length === 1, 'y: vacated t');
    assert.deepEqual(y.reports.find((r) => r.topic === 't'), { type: 'channel_vacated', topic: 't', cause: { uid: 'u', client: 'y.1' } });
    assert.deepEqual(await admin.exists(`${prefix}{occ}:t:t`), 0, 'an empty topic leaves no key');
  });

  it('a topic joined and left in the same turn is occupied then vacated', async () => {
    const x = await node('x2');
    x.join('flash');
    x.leave('flash');
    await waitUntil(() => x.of('flash').length === 2, 'both reports');
    assert.deepEqual(x.of('flash'), ['channel_occupied', 'channel_vacated']);
  });

  it('close() releases what the node still holds, reporting the vacated topics', async () => {
    const x = await node('x3');
    const y = await node('y3');
    x.join('kept');
    x.join('shared');
    y.join('shared');
    await y.fence();
    await waitUntil(() => x.of('kept').length === 1 && x.of('shared').length === 1, "x's two occupied");
    await x.occupancy.close();
    assert.deepEqual(x.of('kept'), ['channel_occupied', 'channel_vacated']);
    assert.deepEqual(x.of('shared'), ['channel_occupied'], 'y still holds it');
    assert.equal(await admin.zscore(`${prefix}{occ}:nodes`, 'x3'), null);
  });

  it('a node killed and restarted with the same id vacates its old topics once, itself; no survivor does again', async () => {
    const ttlMs = 600;
    const killed = await node('same', redisUrl, ttlMs);
    const survivor = await node('survivor', redisUrl, ttlMs);
    killed.join('old');
    killed.join('both');
    await waitUntil(() => killed.of('old').length === 1 && killed.of('both').length === 1, 'the first incarnation occupied both');
    survivor.join('both');
    await survivor.fence();
    // SIGKILL: no release, no more refreshes; its entry and topic sets stay in Redis.
    const internals = killed.occupancy as unknown as { timer: NodeJS.Timeout; redis: { disconnect(): void } };
    clearInterval(internals.timer);
    internals.redis.disconnect();
    const restarted = await node('same', redisUrl, ttlMs);
    await waitUntil(() => restarted.of('old').length === 1, 'the restarted node vacating what its first incarnation held');
    assert.deepEqual(restarted.reports.find((r) => r.topic === 'old'), { type: 'channel_vacated', topic: 'old', cause: null });
    // Past the old entry's TTL and several sweeps: nobody reports those topics again.
    await new Promise((resolve) => setTimeout(resolve, 3 * ttlMs));
    await survivor.fence();
    await restarted.fence();
    assert.deepEqual(restarted.of('old'), ['channel_vacated']);
    assert.deepEqual(restarted.of('both'), [], 'the survivor still holds it');
    assert.deepEqual(survivor.of('old'), []);
    assert.deepEqual(survivor.of('both'), []);
    assert.deepEqual(await admin.smembers(`${prefix}{occ}:t:both`), ['survivor']);
  });

  it('behind a refresh that gets no answer, the next ticks wait for it instead of piling up runs', async () => {
    const ttlMs = 300; // a tick every 100 ms
    const x = await node('stalled', redisUrl, ttlMs);
    const internals = x.occupancy as unknown as {
      timer: NodeJS.Timeout;
      refresh(): Promise<void>;
      redis: { heraldOccRegister(...args: unknown[]): Promise<number> };
    };
    const register = internals.redis.heraldOccRegister.bind(internals.redis);
    const refresh = internals.refresh.bind(x.occupancy);
    let refreshes = 0;
    let answer: (() => void) | undefined;
    internals.refresh = () => {
      refreshes++;
      return refresh();
    };
    // The next register hangs (a Redis that stopped answering) until the test lets it through.
    internals.redis.heraldOccRegister = (...args) => {
      if (answer !== undefined) return register(...args);
      return new Promise((resolve) => (answer = () => void register(...args).then(resolve)));
    };
    await waitUntil(() => answer !== undefined, 'a refresh waiting on its register');
    // Ten more ticks while it waits; then no more ticks, so only runs queued meanwhile are left.
    await new Promise((resolve) => setTimeout(resolve, 10 * 100));
    clearInterval(internals.timer);
    answer?.();
    await x.fence();
    assert.equal(refreshes, 1, 'no refresh was queued behind the one that hung');
  });

  it('after Redis restarted empty, the node registers again and reports its local topics as occupied', async (t) => {
    const redis = await RedisProcess.start();
    t.after(() => redis.kill());
    const x = await node('x4', redis.url);
    x.join('before');
    await waitUntil(() => x.of('before').length === 1, 'occupied before the outage');
    await redis.kill();
    x.leave('before');
    x.join('during');
    await redis.restart();
    await waitUntil(() => x.of('during').length === 1, 'the resync after the outage', 20_000);
    assert.deepEqual(x.reports.find((r) => r.topic === 'during'), { type: 'channel_occupied', topic: 'during', cause: null });
    await x.fence();
    assert.deepEqual(x.of('before'), ['channel_occupied'], 'Redis lost it: no transition to report');
    x.join('after');
    await waitUntil(() => x.of('after').length === 1, 'changes flow again');
  });
});
