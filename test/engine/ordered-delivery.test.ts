import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as turn } from 'node:timers/promises';
import type { Delivery } from '../../src/engine/engine.js';
import { OrderedDelivery } from '../../src/engine/ordered-delivery.js';
import { StreamHistory } from '../../src/engine/stream-history.js';
import { streamOf } from '../../src/streams.js';

/** A stream numbered by a real StreamHistory; `arrive` picks which publications reach the node live. */
function setup(historySize = 100) {
  const history = new StreamHistory({ size: historySize });
  const delivered: string[] = [];
  const ordered = new OrderedDelivery({
    history: async (stream, since) => history.history(stream, since),
    deliver: (d) => delivered.push(d.data.toString()),
  });
  const publish = (data: string): Delivery => {
    const delivery: Delivery = { topic: 'T', data: Buffer.from(data) };
    history.append(streamOf(delivery), delivery);
    return delivery;
  };
  return { history, delivered, ordered, publish };
}

describe('OrderedDelivery', () => {
  it('passes contiguous deliveries straight through and drops duplicates', () => {
    const { delivered, ordered, publish } = setup();
    const [a, b, c] = ['a', 'b', 'c'].map(publish);
    for (const d of [a, b, b, c, a]) ordered.accept(d);
    assert.deepEqual(delivered, ['a', 'b', 'c']);
  });

  it('fills a gap from history and releases what arrived meanwhile, in order', async () => {
    const { delivered, ordered, publish } = setup();
    const all = ['m1', 'm2', 'm3', 'm4', 'm5', 'm6'].map(publish);
    ordered.accept(all[0]);
    ordered.accept(all[1]);
    ordered.accept(all[4]); // m3, m4 never arrived live
    ordered.accept(all[5]); // arrives while the gap is being read
    assert.deepEqual(delivered, ['m1', 'm2']);
    await turn();
    assert.deepEqual(delivered, ['m1', 'm2', 'm3', 'm4', 'm5', 'm6']);
    assert.equal(ordered.recoveries, 1);
  });

  it('after the engine lost its data (new epoch), replays the new epoch from its start', async () => {
    const first = setup();
    const old = first.publish('before');
    first.ordered.accept(old);
    // A new epoch: publications 1..3 of the restarted stream; only the third arrives live.
    const restarted = new StreamHistory();
    const fresh = ['n1', 'n2', 'n3'].map((data) => {
      const d: Delivery = { topic: 'T', data: Buffer.from(data) };
      restarted.append(streamOf(d), d);
      return d;
    });
    const delivered: string[] = [];
    const ordered = new OrderedDelivery({
      history: async (stream, since) => restarted.history(stream, since),
      deliver: (d) => delivered.push(d.data.toString()),
    });
    ordered.accept(old);
    ordered.accept(fresh[2]);
    await turn();
    assert.deepEqual(delivered, ['before', 'n1', 'n2', 'n3']);
  });

  it('counts a loss when the history no longer covers the gap, and still delivers what it has', async () => {
    const lost: string[] = [];
    const history = new StreamHistory({ size: 2 });
    const delivered: string[] = [];
    const ordered = new OrderedDelivery({
      history: async (stream, since) => history.history(stream, since),
      deliver: (d) => delivered.push(d.data.toString()),
      onLoss: (stream) => lost.push(stream),
    });
    const all = ['a', 'b', 'c', 'd', 'e', 'f'].map((data) => {
      const d: Delivery = { topic: 'T', data: Buffer.from(data) };
      history.append(streamOf(d), d);
      return d;
    });
    ordered.accept(all[0]);
    ordered.accept(all[5]);
    await turn();
    assert.deepEqual(delivered, ['a', 'f']);
    assert.deepEqual(lost, ['t:T']);
    assert.equal(ordered.losses, 1);
  });

  it('want: starts the stream at its head, so nothing from before is replayed, and holds live deliveries meanwhile', async () => {
    const { delivered, ordered, publish } = setup();
    const before = ['old1', 'old2', 'old3'].map(publish);
    ordered.accept(before[0]); // known from an earlier interest
    ordered.unwant('t:T');
    ordered.want('t:T'); // head: seq 3
    const next = publish('new');
    ordered.accept(next); // arrives before the head is read: held
    assert.deepEqual(delivered, ['old1']);
    await turn();
    assert.deepEqual(delivered, ['old1', 'new'], 'old2 and old3 predate the interest');
  });

  it('want: live deliveries at or before the head read are not skipped', async () => {
    const { history, delivered, publish } = setup();
    let releaseHead: (() => void) | undefined;
    const ordered = new OrderedDelivery({
      history: async (stream, since) => history.history(stream, since),
      head: (stream) => new Promise((resolve) => (releaseHead = () => resolve(history.history(stream, undefined).position))),
      deliver: (d) => delivered.push(d.data.toString()),
    });
    publish('before');
    ordered.want('t:T');
    const live = ['a', 'b'].map(publish);
    for (const d of live) ordered.accept(d);
    releaseHead?.(); // the head (seq 3) was read after a and b were published
    await turn();
    assert.deepEqual(delivered, ['a', 'b']);
  });

  it('resubscribed: fills up to the head at once, without waiting for a later delivery', async () => {
    const { delivered, ordered, publish } = setup();
    ordered.want('t:T');
    await turn();
    const [a, , c] = ['a', 'b', 'c'].map(publish);
    ordered.accept(a); // b and c were published while the subscription was down
    ordered.resubscribed({ topic: 'T' });
    await turn();
    assert.deepEqual(delivered, ['a', 'b', 'c']);
    ordered.accept(c); // a late live copy
    assert.deepEqual(delivered, ['a', 'b', 'c']);
    assert.equal(ordered.recoveries, 1);
  });

  it('resubscribed: a user fills its private streams too', async () => {
    const history = new StreamHistory();
    const delivered: string[] = [];
    const ordered = new OrderedDelivery({
      history: async (stream, since) => history.history(stream, since),
      deliver: (d) => delivered.push(d.data.toString()),
    });
    const publish = (data: string): Delivery => {
      const d: Delivery = { uid: 'u1', topic: 'X', data: Buffer.from(data) };
      history.append(streamOf(d), d);
      return d;
    };
    ordered.want('u:u1');
    ordered.want(streamOf({ uid: 'u1', topic: 'X' }), 'u1');
    await turn();
    publish('p1');
    publish('p2');
    ordered.resubscribed({ uid: 'u1' });
    await turn();
    assert.deepEqual(delivered, ['p1', 'p2']);
    ordered.unwant('u:u1');
    assert.equal(ordered.size, 0);
  });

  it('delivers publications without a position unchanged', () => {
    const delivered: string[] = [];
    const ordered = new OrderedDelivery({ history: async () => ({ recovered: false, position: { seq: 0, epoch: '' } }), deliver: (d) => delivered.push(d.data.toString()) });
    ordered.accept({ topic: 'T', data: Buffer.from('x') });
    ordered.accept({ topic: 'T', data: Buffer.from('x') });
    assert.deepEqual(delivered, ['x', 'x']);
  });
});
