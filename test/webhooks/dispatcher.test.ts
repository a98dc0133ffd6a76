import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { WebhookDispatcher } from '../../src/webhooks/dispatcher.js';
import type { WebhookEvent } from '../../src/webhooks/events.js';
import { waitUntil } from '../helpers/wait.js';
import { WebhookReceiver } from './receiver.js';

const SECRET = 'test-secret';

function event(n: number): WebhookEvent {
  return { type: 'connect', time: n, node: 'n1', uid: null, client: `n1.${n}` };
}

interface Counts {
  delivered: number;
  failed: number;
  dropped: number;
  bursts: string[];
}

function dispatcherTo(receiver: WebhookReceiver, settings: ConstructorParameters<typeof WebhookDispatcher>[0] extends infer O ? Partial<O> : never = {}) {
  const counts: Counts = { delivered: 0, failed: 0, dropped: 0, bursts: [] };
  const dispatcher = new WebhookDispatcher({
    url: receiver.url,
    secret: SECRET,
    retryMinMs: 20,
    retryMaxMs: 100,
    ...settings,
    events: {
      onDelivered: (n) => (counts.delivered += n),
      onRequestFailed: () => counts.failed++,
      onDropped: (n) => (counts.dropped += n),
      onDropBurst: (state, n) => counts.bursts.push(`${state}:${n}`),
    },
  });
  return { dispatcher, counts };
}

describe('WebhookDispatcher', () => {
  const receivers: WebhookReceiver[] = [];
  const receiver = async (): Promise<WebhookReceiver> => {
    const r = await new WebhookReceiver(SECRET).start();
    receivers.push(r);
    return r;
  };
  after(async () => {
    for (const r of receivers) await r.stop();
  });

  it('sends a full batch at once, signed, as {"events":[…]} with Content-Type application/json', async () => {
    const r = await receiver();
    // A long wait: only the size can have sent the batches.
    const { dispatcher, counts } = dispatcherTo(r, { batchSize: 10, batchWaitMs: 60_000 });
    for (let i = 0; i < 30; i++) dispatcher.enqueue(event(i));
    await waitUntil(() => counts.delivered === 30, '30 events delivered');
    assert.deepEqual(r.batches.map((b) => b.length), [10, 10, 10]);
    assert.deepEqual(r.events.map((e) => e.time), [...Array(30).keys()]);
    assert.equal(r.badSignatures, 0);
    assert.equal(r.badContentType, 0);
    assert.deepEqual(r.events[0], { type: 'connect', time: 0, node: 'n1', uid: null, client: 'n1.0' });
    await dispatcher.close(1000);
  });

  it('sends a partial batch once the wait has passed', async () => {
    const r = await receiver();
    const { dispatcher, counts } = dispatcherTo(r, { batchSize: 100, batchWaitMs: 30 });
    for (let i = 0; i < 3; i++) dispatcher.enqueue(event(i));
    await waitUntil(() => counts.delivered === 3, '3 events delivered by time');
    assert.deepEqual(r.batches.map((b) => b.length), [3]);
    await dispatcher.close(1000);
  });

  it('a receiver with the wrong secret sees bad signatures (the receiver really checks)', async () => {
    const r = await receiver();
    const { dispatcher, counts } = dispatcherTo(r, { batchSize: 1, batchWaitMs: 0, secret: 'another' });
    dispatcher.enqueue(event(1));
    await waitUntil(() => r.badSignatures >= 1 && counts.failed >= 1, 'a refused signature');
    assert.equal(r.batches.length, 0);
    await dispatcher.close(0);
    assert.equal(counts.dropped, 1);
  });

  it('retries while the receiver answers 503, then delivers everything in order', async () => {
    const r = await receiver();
    r.mode = '503';
    const { dispatcher, counts } = dispatcherTo(r, { batchSize: 7, batchWaitMs: 5 });
    for (let i = 0; i < 50; i++) dispatcher.enqueue(event(i));
    await waitUntil(() => counts.failed >= 3, 'three failed attempts');
    for (let i = 50; i < 100; i++) dispatcher.enqueue(event(i));
    r.mode = 'ok';
    await waitUntil(() => counts.delivered === 100, '100 events delivered');
    assert.deepEqual(r.events.map((e) => e.time), [...Array(100).keys()]);
    assert.ok(r.batches.every((b) => b.length <= 7));
    assert.equal(counts.dropped, 0);
    await dispatcher.close(1000);
  });

  it('retries while the receiver is down (connection refused); nothing below the bound is lost', async () => {
    const r = await receiver();
    await r.stop();
    const { dispatcher, counts } = dispatcherTo(r, { batchSize: 50, batchWaitMs: 5, maxQueuedEvents: 1000 });
    for (let i = 0; i < 1000; i++) dispatcher.enqueue(event(i));
    await waitUntil(() => counts.failed >= 2, 'two refused attempts');
    await r.start();
    await waitUntil(() => counts.delivered === 1000, '1000 events delivered');
    assert.deepEqual(r.events.map((e) => e.time), [...Array(1000).keys()]);
    assert.equal(counts.dropped, 0);
    await dispatcher.close(1000);
  });

  it('drops events beyond the bound, counts them, reports the burst once, and keeps the order of the rest', async () => {
    const r = await receiver();
    r.mode = '503';
    const { dispatcher, counts } = dispatcherTo(r, { batchSize: 10, batchWaitMs: 5, maxQueuedEvents: 100 });
    let accepted = 0;
    for (let i = 0; i < 250; i++) if (dispatcher.enqueue(event(i))) accepted++;
    assert.equal(accepted, 100);
    assert.equal(counts.dropped, 150);
    assert.deepEqual(counts.bursts, ['started:1']);
    r.mode = 'ok';
    await waitUntil(() => counts.delivered === 100, 'the 100 queued events delivered');
    assert.deepEqual(r.events.map((e) => e.time), [...Array(100).keys()]);
    dispatcher.enqueue(event(1000));
    assert.deepEqual(counts.bursts, ['started:1', 'ended:150']);
    await waitUntil(() => counts.delivered === 101, 'the next event delivered');
    await dispatcher.close(1000);
  });

  it('close() flushes what it can within the bound, then drops the rest (counted)', async () => {
    const r = await receiver();
    const { dispatcher, counts } = dispatcherTo(r, { batchSize: 100, batchWaitMs: 60_000 });
    for (let i = 0; i < 5; i++) dispatcher.enqueue(event(i));
    await dispatcher.close(5000);
    assert.equal(counts.delivered, 5);
    assert.equal(counts.dropped, 0);

    const hung = await receiver();
    hung.mode = 'hang';
    const second = dispatcherTo(hung, { batchSize: 100, batchWaitMs: 60_000 });
    for (let i = 0; i < 5; i++) second.dispatcher.enqueue(event(i));
    await second.dispatcher.close(100);
    assert.equal(second.counts.delivered, 0);
    assert.equal(second.counts.dropped, 5);
    assert.equal(second.dispatcher.enqueue(event(9)), false, 'a closed dispatcher takes nothing');
  });

  it('a request that gets no answer fails after the timeout and is retried', async () => {
    const r = await receiver();
    r.mode = 'hang';
    const { dispatcher, counts } = dispatcherTo(r, { batchSize: 1, batchWaitMs: 0, timeoutMs: 50 });
    dispatcher.enqueue(event(1));
    await waitUntil(() => counts.failed >= 2, 'two timed-out attempts');
    r.mode = 'ok';
    await waitUntil(() => counts.delivered === 1, 'delivered once the receiver answers');
    await dispatcher.close(1000);
  });
});
