import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { FrameParser, type FrameParserHandler, type PreparedMessage } from '../../src/protocol/index.js';
import { Hub } from '../../src/hub/hub.js';
import { HubClient, topicSetAdd, topicSetDelete, topicSetHas, topicSetSize, type FrameSink } from '../../src/hub/hub-client.js';

/** A sink that decodes the frames it is given. */
class RecordingSink implements FrameSink {
  readonly received: string[] = [];
  frames: Buffer[] = [];
  private readonly parser: FrameParser;
  constructor() {
    const received = this.received;
    const handler: FrameParserHandler = {
      onMessage: (data) => received.push(data.toString()),
      onPing() {},
      onPong() {},
      onClose() {},
      onProtocolError(error) {
        throw error;
      },
    };
    this.parser = new FrameParser(handler, { isServer: false });
  }
  sendPrepared(message: PreparedMessage): 'ok' {
    const frame = message.plain;
    this.frames.push(frame);
    this.parser.push(Buffer.from(frame));
    return 'ok';
  }
}

function clients(hub: Hub, n: number, topic: string): { client: HubClient; sink: RecordingSink }[] {
  return Array.from({ length: n }, () => {
    const sink = new RecordingSink();
    const client = new HubClient(sink);
    hub.add(client);
    hub.subscribePublic(client, topic);
    return { client, sink };
  });
}

describe('Hub fan-out', () => {
  it('frames a publication once and queues the same buffer on every target', () => {
    const hub = new Hub();
    const all = clients(hub, 5, 't');
    hub.publish({ topic: 't', data: Buffer.from('hello') });
    const first = all[0].sink.frames[0];
    for (const { sink } of all) assert.equal(sink.frames[0], first);
    assert.equal(hub.counters.deliveries, 5);
  });

  it('walks audiences larger than the slice across turns, keeping order for later publications', async () => {
    const hub = new Hub({ sliceSize: 3 });
    const all = clients(hub, 10, 't');
    hub.publish({ topic: 't', data: Buffer.from('m1') });
    hub.publish({ topic: 't', data: Buffer.from('m2') });
    // Only the first slice ran in this turn; the rest waits.
    assert.equal(all.filter(({ sink }) => sink.received.length > 0).length, 3);
    assert.equal(hub.pendingFanOuts, 2);
    for (let turns = 0; hub.pendingFanOuts > 0 && turns < 100; turns++) await nextTurn();
    for (const { sink } of all) assert.deepEqual(sink.received, ['m1', 'm2']);
    assert.equal(hub.counters.deliveries, 20);
  });

  it('a small publication made during a sliced fan-out waits behind it', async () => {
    const hub = new Hub({ sliceSize: 2 });
    const big = clients(hub, 6, 'big');
    const small = new RecordingSink();
    const smallClient = new HubClient(small);
    hub.add(smallClient);
    hub.subscribePublic(smallClient, 'big');
    hub.subscribePublic(smallClient, 'small');
    hub.publish({ topic: 'big', data: Buffer.from('first') });
    hub.publish({ topic: 'small', data: Buffer.from('second') });
    for (let turns = 0; hub.pendingFanOuts > 0 && turns < 100; turns++) await nextTurn();
    assert.deepEqual(small.received, ['first', 'second']);
    for (const { sink } of big) assert.deepEqual(sink.received, ['first']);
  });

  it('a client removed while a sliced fan-out is under way is skipped', async () => {
    const hub = new Hub({ sliceSize: 2 });
    const all = clients(hub, 6, 't');
    hub.publish({ topic: 't', data: Buffer.from('x') });
    hub.remove(all[5].client);
    for (let turns = 0; hub.pendingFanOuts > 0 && turns < 100; turns++) await nextTurn();
    assert.deepEqual(all[5].sink.received, []);
    assert.equal(hub.counters.deliveries, 5);
  });
});

describe('TopicSet', () => {
  it('holds zero, one and many topics, returning to the compact forms', () => {
    let set = topicSetAdd(null, 'a');
    assert.equal(set, 'a');
    set = topicSetAdd(set, 'b');
    assert.ok(set instanceof Set);
    assert.equal(topicSetSize(set), 2);
    assert.ok(topicSetHas(set, 'a') && topicSetHas(set, 'b') && !topicSetHas(set, 'c'));
    set = topicSetDelete(set, 'a');
    assert.equal(set, 'b');
    set = topicSetDelete(set, 'b');
    assert.equal(set, null);
    assert.equal(topicSetSize(set), 0);
  });
});
