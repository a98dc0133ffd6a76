/**
 * Redis dies (SIGKILL, no persistence: every key is lost) and comes back on
 * the same port while pushes flow through one Herald node to a client on
 * another. Uses a private redis-server (RedisProcess), never the shared 6379.
 *
 * What must hold: every push the API acknowledged (200) reaches the client
 * exactly once and in acknowledgement order; every push it did not
 * acknowledge was answered 503 UNAVAILABLE with the JSON error body — failed
 * loudly, never dropped silently. A push that failed because the connection
 * dropped mid-command may or may not have been made (the engine's contract),
 * so such a payload may reach the client — at most once. The one acknowledged
 * push allowed to be missing is the one whose script ran at the instant of
 * the kill (its subscriber copy dies in Redis's output buffer, and the
 * restart loses the history that could replay it).
 *
 * Publications made after the restart but before the client's node has
 * resubscribed never reach that node live: the node notices the gap in the
 * stream's seq (a new epoch starting past 1) and reads the missing range from
 * history. Whether that window opens in the plain scenario depends on which
 * node's reconnect backoff fires first; the second scenario opens it on
 * purpose by stalling the client's node (SIGSTOP) across the restart.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it, type TestContext } from 'node:test';
import { HeraldProcess, startHeralds, stopAll } from '../helpers/herald-process.js';
import { adminClient, RedisProcess, subscriberCount, uniquePrefix, waitUntil } from '../helpers/redis.js';
import { CLUSTER_WAIT_MS, ClusterClient, Pusher, uniqueName } from './cluster-client.js';

/** Pushes acknowledged before the kill, and after the restart, before the loop stops. */
const ACKED_BEFORE_KILL = 100;
const ACKED_AFTER_RESTART = 100;

/** Pushes acknowledged after the restart while the client's node is stalled (all missed by it live). */
const ACKED_WHILE_STALLED = 30;

describe('Redis restart while pushes flow (private redis-server)', () => {
  it('every acknowledged push reaches the client exactly once, in order; every other push is a 503', (t) =>
    restartScenario(t, false));

  it(
    'same, with the client’s node stalled until the pushing node has published after the restart (gap filled from history)',
    (t) => restartScenario(t, true),
  );
});

async function restartScenario(t: TestContext, stallClientNode: boolean): Promise<void> {
  let nodes: HeraldProcess[] = [];
  let client: ClusterClient | undefined;
  let redisProcess: RedisProcess | undefined;
  t.after(async () => {
    client?.terminate();
    await stopAll(nodes);
    await redisProcess?.kill(); // a private server: its keys die with it
  });
  const redis = (redisProcess = await RedisProcess.start());
  const prefix = uniquePrefix();
  // History large enough for whatever is published between the pushing node's reconnect and
  // the client node's (reconnect backoff with jitter, up to a few seconds of pushes).
  nodes = await startHeralds(['A', 'B'], { redisUrl: redis.url, prefix, args: ['--history-size', '2000'] });
  const [A, B] = nodes;
  const topic = uniqueName('ticks');

  client = await ClusterClient.connect(B.wsUrl, { name: 'client@B', heraldV1: true });
  await client.subscribe(topic);
  const admin = adminClient(redis.url);
  try {
    await waitUntil(async () => (await subscriberCount(admin, `${prefix}t:${topic}`)) === 1, 'B subscribed in Redis', CLUSTER_WAIT_MS);
  } finally {
    await admin.quit();
  }

  // Bounded: at most 3,000 pushes or 30 s.
  const pusher = new Pusher(A, { topic }, { label: 'p', pauseMs: 10, maxPushes: 3000, maxMs: 30_000 });
  let ackedAtRestart = 0;
  let inFlightAtKill: string | undefined;
  try {
    await waitUntil(() => pusher.acked.length >= ACKED_BEFORE_KILL, `${ACKED_BEFORE_KILL} acknowledged pushes`, CLUSTER_WAIT_MS);
    inFlightAtKill = pusher.inFlight;
    await redis.kill();
    if (stallClientNode) B.pause();
    await sleep(1000); // Redis stays down for about a second (pacing, not an assertion)
    await redis.restart();
    ackedAtRestart = pusher.acked.length;
    if (stallClientNode) {
      await waitUntil(
        () => pusher.acked.length >= ackedAtRestart + ACKED_WHILE_STALLED || !pusher.running,
        `${ACKED_WHILE_STALLED} pushes acknowledged while B is stalled`,
        40_000,
      );
      B.resume();
    }
    await waitUntil(
      () => pusher.acked.length >= ackedAtRestart + ACKED_AFTER_RESTART || !pusher.running,
      `${ACKED_AFTER_RESTART} acknowledged pushes after the restart`,
      40_000,
    );
  } finally {
    await pusher.stop();
  }
  assert.ok(
    pusher.acked.length >= ackedAtRestart + ACKED_AFTER_RESTART,
    `only ${pusher.acked.length - ackedAtRestart} pushes acknowledged after the restart (of ${pusher.attempted.length} attempted)`,
  );

  // Nothing vanished: each attempt was acknowledged or answered 503 UNAVAILABLE with a JSON error.
  assert.equal(pusher.acked.length + pusher.failed.length, pusher.attempted.length);
  assert.ok(pusher.failed.length > 0, 'the outage was seen by the push API');
  for (const failure of pusher.failed) {
    assert.equal(failure.status, 503, `push ${failure.payload}: ${failure.status} ${failure.text}`);
    assert.equal(failure.json?.error?.code, 'UNAVAILABLE', `push ${failure.payload}: ${failure.text}`);
    assert.equal(typeof failure.json?.error?.message, 'string', `push ${failure.payload}: ${failure.text}`);
  }

  // The fence: the last push; once it is in, nothing else is on its way.
  const end = await A.pushData({ topic }, 'end');
  assert.equal(end.status, 200, `the final push: ${end.status} ${end.text}`);
  const acked = [...pusher.acked, 'end'];
  const received = client;
  await received.waitFor((c) => c.data.includes('end'), 'the final push').catch((error: Error) => {
    throw new Error(`${error.message}; missing acknowledged pushes: ${describeMissing(acked, received.data)}; B logged: ${engineLog(B)}`);
  });
  assert.equal(received.closeEvent, undefined, 'the client stayed connected through the outage');

  const ackedSet = new Set(acked);
  const failedSet = new Set(pusher.failed.map((f) => f.payload));
  const data = received.data;
  const duplicates = data.filter((payload, i) => data.indexOf(payload) !== i);
  assert.deepEqual(duplicates, [], 'no push delivered twice');
  const unexpected = data.filter((payload) => !ackedSet.has(payload) && !failedSet.has(payload));
  assert.deepEqual(unexpected, [], 'nothing that was never pushed');
  // The one exception, inherent to a Redis without persistence: the push whose script ran at the
  // instant of the SIGKILL may be acknowledged (Redis wrote the publisher's reply) while the
  // subscriber's copy was still in Redis's output buffer — and the restart lost the history too.
  const lostInCrash = inFlightAtKill !== undefined && ackedSet.has(inFlightAtKill) && !data.includes(inFlightAtKill) ? inFlightAtKill : undefined;
  assert.deepEqual(
    data.filter((payload) => ackedSet.has(payload)),
    acked.filter((payload) => payload !== lostInCrash),
    `every acknowledged push, once, in acknowledgement order (missing: ${describeMissing(acked, data)}; ` +
      `in flight at the kill: ${inFlightAtKill}; B logged: ${engineLog(B)})`,
  );
  if (lostInCrash !== undefined) t.diagnostic(`${lostInCrash}, acknowledged as Redis was killed, died with Redis's output buffer`);

  // Per epoch (Redis lost the streams: the restart began a new one), seqs run 1, 2, 3… without a hole.
  const epochs = new Map<string, number[]>();
  for (const envelope of received.envelopes) {
    const seqs = epochs.get(envelope.epoch) ?? [];
    seqs.push(envelope.seq);
    epochs.set(envelope.epoch, seqs);
  }
  assert.equal(epochs.size, 2, `epochs seen: ${[...epochs.keys()].join(', ')}`);
  const [oldEpochSeqs, newEpochSeqs] = [...epochs.values()];
  const from1 = (seqs: number[]): number[] => Array.from({ length: seqs.length }, (_, i) => i + 1);
  assert.deepEqual(oldEpochSeqs, from1(oldEpochSeqs), 'the first epoch, from seq 1, no hole');
  assert.deepEqual(newEpochSeqs, from1(newEpochSeqs), 'the new epoch, from seq 1, no hole');

  const reconnectedA = reconnectTime(A, 'command');
  const reconnectedB = reconnectTime(B, 'subscriber');
  if (stallClientNode) {
    assert.ok(
      typeof reconnectedA === 'number' && typeof reconnectedB === 'number' && reconnectedB > reconnectedA,
      `the scenario: B's subscriber (${reconnectedB}) came back after A published (${reconnectedA})`,
    );
  }

  // B resubscribed its interest on the restarted Redis.
  const adminAfter = adminClient(redis.url);
  try {
    assert.equal(await subscriberCount(adminAfter, `${prefix}t:${topic}`), 1);
  } finally {
    await adminAfter.quit();
  }
  t.diagnostic(
    `attempted ${pusher.attempted.length}, acknowledged ${pusher.acked.length}, failed ${pusher.failed.length} (503), ` +
      `delivered ${data.length} (of which ${data.filter((p) => failedSet.has(p)).length} unacknowledged); ` +
      `reconnected: A command at ${reconnectedA}, B subscriber at ${reconnectedB} ` +
      `(B after A: pushes made meanwhile reached B only through gap filling)`,
  );
}

/** When `node` logged its first reconnect of `connection` (epoch ms), or 'never'. */
function reconnectTime(node: HeraldProcess, connection: 'command' | 'subscriber'): number | string {
  for (const line of node.stdout.split('\n')) {
    if (!line.includes('redis reconnected')) continue;
    try {
      const record = JSON.parse(line) as { time?: number; connection?: string };
      if (record.connection === connection) return record.time ?? 'unknown';
    } catch {
      // not JSON
    }
  }
  return 'never';
}

/** The node's warnings (pino level ≥ 40) and reconnects, for failure messages. */
function engineLog(node: HeraldProcess): string {
  const lines = node.stdout.split('\n').filter((line) => /"level":(4|5|6)\d/.test(line) || line.includes('redis reconnected'));
  return lines.length === 0 ? 'nothing' : lines.join('\n');
}

/** The acknowledged payloads absent from `received`, as a short list of ranges. */
function describeMissing(acked: readonly string[], received: readonly string[]): string {
  const have = new Set(received);
  const missing = acked.filter((payload) => !have.has(payload));
  if (missing.length === 0) return 'none';
  return `${missing.length}: ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', …' : ''}`;
}
