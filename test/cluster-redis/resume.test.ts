/**
 * herald.v1 resume across Herald processes on the shared Redis: a client
 * whose node dies reconnects to another node and subscribes with `since`; the
 * stream's seq, epoch and history live in Redis, so any node can replay what
 * it missed — or tell it honestly (`recovered: false`) when the history no
 * longer reaches back.
 */
import assert from 'node:assert/strict';
import { after, describe, it, type TestContext } from 'node:test';
import { HeraldProcess, startHeralds, stopAll } from '../helpers/herald-process.js';
import { adminClient, deleteKeys, ensureRedis, subscriberCount, uniquePrefix, waitUntil } from '../helpers/redis.js';
import {
  assertContiguous,
  CLUSTER_WAIT_MS,
  ClusterClient,
  Pusher,
  terminateAll,
  uniqueName,
  type Position,
} from './cluster-client.js';

const redisUrl = await ensureRedis();
const admin = adminClient(redisUrl);
after(() => admin.quit());

/** Start nodes on a fresh prefix; nodes, clients and keys are cleaned up when the test ends. */
async function cluster(t: TestContext, names: string[], args: string[]) {
  const prefix = uniquePrefix();
  const clients: ClusterClient[] = [];
  let nodes: HeraldProcess[] = [];
  t.after(async () => {
    terminateAll(clients);
    await stopAll(nodes);
    await deleteKeys(admin, prefix);
  });
  nodes = await startHeralds(names, { redisUrl, prefix, args });
  return {
    nodes,
    async connect(node: HeraldProcess, name: string): Promise<ClusterClient> {
      const client = await ClusterClient.connect(node.wsUrl, { name: `${name}@${node.name}`, heraldV1: true });
      clients.push(client);
      return client;
    },
    async waitForSubscribers(channel: string, expected: number): Promise<void> {
      await waitUntil(
        async () => (await subscriberCount(admin, `${prefix}${channel}`)) === expected,
        `PUBSUB NUMSUB ${prefix}${channel} = ${expected}`,
        CLUSTER_WAIT_MS,
      );
    },
  };
}

async function push(node: HeraldProcess, topic: string, payload: string): Promise<void> {
  const answer = await node.pushData({ topic }, payload);
  assert.equal(answer.status, 200, `push ${payload} through ${node.name}: ${answer.status} ${answer.text}`);
}

const seqsOf = (client: ClusterClient, topic?: string): number[] =>
  client.envelopes.filter((e) => topic === undefined || e.topic === topic).map((e) => e.seq);

describe('herald.v1 resume across Herald processes (Redis engine)', () => {
  it('a client whose node is SIGKILLed resumes on another node: every acknowledged push exactly once, in order', async (t) => {
    const { nodes, connect, waitForSubscribers } = await cluster(t, ['A', 'B', 'C'], ['--history-size', '1000']);
    const [A, B, C] = nodes;
    const topic = uniqueName('orders');

    const onB = await connect(B, 'client');
    await onB.subscribe(topic);
    await waitForSubscribers(`t:${topic}`, 1);

    // Pushes flow through A for the whole test; every one must be acknowledged.
    const pusher = new Pusher(A, { topic }, { label: 'p', pauseMs: 5 });
    let onC: ClusterClient;
    let last: Position;
    let beforeKill: string[];
    try {
      await onB.waitFor((c) => c.deliveries.length >= 10, '10 pushes on B');
      await B.kill();
      await onB.closed();
      last = onB.lastPosition as Position;
      beforeKill = onB.data;
      assert.deepEqual(beforeKill, pusher.acked.slice(0, beforeKill.length), 'before the kill: a prefix of the acknowledged pushes');
      assertContiguous(seqsOf(onB), 1, 'seqs received on B');

      // The client is away while pushes continue.
      await waitUntil(() => pusher.acked.length >= beforeKill.length + 20, '20 pushes while the client is away', CLUSTER_WAIT_MS);
      onC = await connect(C, 'client-resumed');
      const reply = await onC.subscribe(topic, last);
      assert.equal(reply.recovered, true, `resume answered ${JSON.stringify(reply)}`);
      assert.equal(reply.position?.epoch, last.epoch);
      assert.ok((reply.position?.seq ?? 0) >= last.seq + 20, `position ${JSON.stringify(reply.position)} after ${last.seq}`);

      // Then live pushes, still flowing.
      const target = pusher.acked.length + 20 - beforeKill.length;
      await onC.waitFor((c) => c.deliveries.length >= target, '20 live pushes on C');
    } finally {
      await pusher.stop();
    }
    assert.deepEqual(pusher.failed, [], 'every push through A was acknowledged');
    await push(A, topic, 'end'); // the fence: nothing is pushed after it
    const acked = [...pusher.acked, 'end'];
    await onC.waitForData('end');

    assert.deepEqual(onC.data, acked.slice(beforeKill.length), 'after the resume: every acknowledged push after the last one seen, once, in order');
    assertContiguous(seqsOf(onC), last.seq + 1, 'seqs after the resume');
    assert.ok(onC.envelopes.every((e) => e.epoch === last.epoch && e.topic === topic), 'one epoch, one topic');
  });

  it('resuming after more than --history-size missed pushes answers recovered:false with the current position', async (t) => {
    const { nodes, connect, waitForSubscribers } = await cluster(t, ['A', 'B'], ['--history-size', '5']);
    const [A, B] = nodes;
    const topic = uniqueName('quotes');

    const first = await connect(B, 'client');
    await first.subscribe(topic);
    await waitForSubscribers(`t:${topic}`, 1);
    await push(A, topic, 'q-1');
    await first.waitForData('q-1');
    const last = first.lastPosition as Position;
    assert.equal(last.seq, 1);
    first.terminate();
    await first.closed();
    await waitForSubscribers(`t:${topic}`, 0);

    for (let i = 2; i <= 8; i++) await push(A, topic, `q-${i}`); // 7 missed: more than the 5 kept

    const resumed = await connect(A, 'client-resumed');
    const reply = await resumed.subscribe(topic, last);
    assert.equal(reply.recovered, false, `resume answered ${JSON.stringify(reply)}`);
    assert.deepEqual(reply.position, { seq: 8, epoch: last.epoch }, 'told the current position');
    await waitForSubscribers(`t:${topic}`, 1);
    await push(A, topic, 'q-9');
    await resumed.waitForData('q-9');
    assert.deepEqual(resumed.data, ['q-9'], 'live from now: no partial replay, no hole papered over');
    assert.deepEqual(resumed.lastPosition, { seq: 9, epoch: last.epoch });

    // The window's edge, through the other node: 5 missed (5…9) are served, 6 are not; a foreign epoch is not.
    const exact = await connect(B, 'client-exact');
    const exactReply = await exact.subscribe(topic, { seq: 4, epoch: last.epoch });
    assert.equal(exactReply.recovered, true, `since 4: ${JSON.stringify(exactReply)}`);
    assert.deepEqual(exactReply.position, { seq: 9, epoch: last.epoch });
    await exact.waitFor((c) => c.deliveries.length >= 5, 'the 5 replayed pushes');
    assert.deepEqual(exact.data, ['q-5', 'q-6', 'q-7', 'q-8', 'q-9']);
    assertContiguous(seqsOf(exact), 5, 'replayed seqs');

    const tooOld = await connect(B, 'client-too-old');
    assert.deepEqual(await tooOld.subscribe(topic, { seq: 3, epoch: last.epoch }), {
      code: 20001,
      message: 'subscribed',
      id: 1,
      recovered: false,
      position: { seq: 9, epoch: last.epoch },
    });
    const otherEpoch = await connect(B, 'client-other-epoch');
    const otherReply = await otherEpoch.subscribe(topic, { seq: 8, epoch: `${last.epoch}x` });
    assert.equal(otherReply.recovered, false);
    assert.deepEqual(otherReply.position, { seq: 9, epoch: last.epoch });

    await push(A, topic, 'q-10');
    for (const client of [resumed, exact, tooOld, otherEpoch]) await client.waitForData('q-10');
    assert.deepEqual(tooOld.data, ['q-10']);
    assert.deepEqual(otherEpoch.data, ['q-10']);
    assert.deepEqual(exact.data, ['q-5', 'q-6', 'q-7', 'q-8', 'q-9', 'q-10']);
  });

  // Known bug (reported): the session reads the history before the node's SUBSCRIBE is active in Redis
  // (a publication in between is neither replayed nor delivered live: a gap), and once that is fixed,
  // live publications can reach the node after the history reply that already contained them (a duplicate).
  it(
    'resuming on a node that has never seen the stream, while pushes race the resume: no gap, no duplicate (25 rounds)',
    async (t) => {
      const { nodes, connect } = await cluster(t, ['A', 'B', 'C'], ['--history-size', '10000']);
      const [A, B, C] = nodes;
      const origin = await connect(B, 'origin');
      const resumer = await connect(C, 'resumer');
      const rounds = 25;
      for (let round = 0; round < rounds; round++) {
        const topic = uniqueName(`race${round}`); // new to C every round: no per-stream state there yet
        await origin.subscribe(topic);
        const pushers = [0, 1, 2].map((i) => new Pusher(A, { topic }, { label: `r${round}.${i}` }));
        let since: Position;
        let reply;
        try {
          await origin.waitFor((c) => seqsOf(c, topic).length >= 5, `5 pushes of ${topic} on B`);
          const envelope = origin.envelopes.filter((e) => e.topic === topic).at(-1)!;
          since = { seq: envelope.seq, epoch: envelope.epoch };
          reply = await resumer.subscribe(topic, since);
          assert.equal(reply.recovered, true, `round ${round}: ${JSON.stringify(reply)}`);
          const until = (reply.position?.seq ?? 0) + 30;
          await resumer.waitFor((c) => seqsOf(c, topic).at(-1)! >= until, `live pushes of ${topic} on C`);
        } finally {
          await Promise.all(pushers.map((p) => p.stop()));
        }
        for (const p of pushers) assert.deepEqual(p.failed, []);
        await push(A, topic, `end-${round}`);
        await resumer.waitForData(`end-${round}`);
        const seqs = seqsOf(resumer, topic);
        assertContiguous(seqs, since.seq + 1, `round ${round}: seqs on C after resuming from ${since.seq} (reply position ${reply.position?.seq})`);
        await origin.unsubscribe(topic);
        await resumer.unsubscribe(topic);
      }
    },
  );
});
