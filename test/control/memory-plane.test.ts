import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ControlCommand, ControlHandler, JoinLeaveEvent } from '../../src/control/control-plane.js';
import { matchGlob } from '../../src/util/glob.js';
import { MemoryControlPlane } from '../../src/control/memory-control-plane.js';
import { runControlPlaneSuite } from './control-plane-suite.js';

function handler(overrides: Partial<ControlHandler> = {}): ControlHandler & { commands: ControlCommand[]; events: JoinLeaveEvent[] } {
  const commands: ControlCommand[] = [];
  const events: JoinLeaveEvent[] = [];
  return {
    commands,
    events,
    apply: (command) => {
      commands.push(command);
      return 2;
    },
    localInfo: () => ({ id: 'n1', address: '127.0.0.1:1', connections: 0, subscriptions: 0, uptimeMs: 0, version: '0' }),
    localChannels: (_pattern, after, limit) =>
      ['a', 'b', 'c', 'd', 'e'].filter((t) => after === undefined || t > after).slice(0, limit).map((topic) => ({ topic, subscribers: 1 })),
    onJoinLeave: (event) => events.push(event),
    ...overrides,
  };
}

const entry = (client: string, uid: string) => ({ client, uid, node: 'n1', connectedAt: 1 });

describe('MemoryControlPlane', () => {
  it('draws a 10-character base64url node id unless given one', () => {
    assert.match(new MemoryControlPlane().nodeId, /^[A-Za-z0-9_-]{10}$/);
    assert.equal(new MemoryControlPlane({ nodeId: 'fixed' }).nodeId, 'fixed');
  });

  it('applies commands locally, lists this node, and pages channels with a cursor', async () => {
    const plane = new MemoryControlPlane({ nodeId: 'n1' });
    const h = handler();
    await plane.start(h);
    assert.equal(await plane.command({ op: 'disconnect', uid: 'u', code: 4100, reason: 'r' }), 2);
    assert.equal(h.commands.length, 1);
    assert.deepEqual((await plane.info()).map((n) => n.id), ['n1']);
    assert.deepEqual(await plane.channels(undefined, undefined, 2), { channels: [{ topic: 'a', subscribers: 1 }, { topic: 'b', subscribers: 1 }], cursor: 'b' });
    assert.deepEqual(await plane.channels(undefined, 'b', 3), { channels: ['c', 'd', 'e'].map((topic) => ({ topic, subscribers: 1 })) });
  });

  it('keeps presence per topic with O(1) stats: clients, and distinct logged-in users', async () => {
    const plane = new MemoryControlPlane({ nodeId: 'n1' });
    await plane.start(handler());
    plane.presenceAdd('t', entry('n1.1', 'alice'));
    plane.presenceAdd('t', entry('n1.2', 'alice'));
    plane.presenceAdd('t', entry('n1.3', ''));
    plane.presenceAdd('t', entry('n1.4', 'bob'));
    plane.presenceAdd('u', entry('n1.1', 'alice'));
    assert.deepEqual(await plane.presenceStats('t'), { clients: 4, users: 2 });
    assert.equal((await plane.presence('t', 2)).length, 2);
    assert.deepEqual((await plane.presence('t', 100)).map((e) => e.client), ['n1.1', 'n1.2', 'n1.3', 'n1.4']);
    plane.presenceRemove('t', entry('n1.1', 'alice'));
    assert.deepEqual(await plane.presenceStats('t'), { clients: 3, users: 2 });
    plane.presenceRemove('t', entry('n1.2', 'alice'));
    plane.presenceRemove('t', entry('n1.2', 'alice')); // twice: no effect
    assert.deepEqual(await plane.presenceStats('t'), { clients: 2, users: 1 });
    // Re-adding a client (a login renewing its entry) replaces it.
    plane.presenceAdd('t', entry('n1.3', 'carol'));
    assert.deepEqual(await plane.presenceStats('t'), { clients: 2, users: 2 });
    plane.presenceRemove('t', entry('n1.3', 'carol'));
    plane.presenceRemove('t', entry('n1.4', 'bob'));
    assert.deepEqual(await plane.presenceStats('t'), { clients: 0, users: 0 });
    assert.deepEqual(await plane.presence('t', 10), []);
    assert.deepEqual(await plane.presenceStats('u'), { clients: 1, users: 1 });
  });

  it('delivers join/leave events only for watched topics, after the current turn of work', async () => {
    const plane = new MemoryControlPlane({ nodeId: 'n1' });
    const h = handler();
    await plane.start(h);
    const join: JoinLeaveEvent = { kind: 'join', topic: 'w', entry: entry('n1.1', 'alice') };
    plane.publishJoinLeave(join);
    plane.watchJoinLeave('w', true);
    plane.publishJoinLeave(join);
    plane.publishJoinLeave({ ...join, topic: 'other' });
    assert.deepEqual(h.events, [], 'not synchronously');
    await Promise.resolve();
    assert.deepEqual(h.events, [join]);
    plane.watchJoinLeave('w', false);
    plane.publishJoinLeave(join);
    await Promise.resolve();
    assert.equal(h.events.length, 1);
  });
});

describe('matchGlob', () => {
  it('matches * as any run of characters and everything else literally', () => {
    const cases: [string, string, boolean][] = [
      ['*', '', true],
      ['*', 'anything', true],
      ['news', 'news', true],
      ['news', 'news2', false],
      ['news.*', 'news.sport', true],
      ['news.*', 'news', false],
      ['*.sport', 'news.sport', true],
      ['a*b*c', 'aXXbYYc', true],
      ['a*b*c', 'aXXcYYb', false],
      ['a.b', 'aXb', false],
      ['[x]', '[x]', true],
      ['**', 'x', true],
    ];
    for (const [pattern, text, expected] of cases) assert.equal(matchGlob(pattern, text), expected, `${pattern} ~ ${text}`);
  });

  it('stays polynomial on patterns that make regular expressions backtrack', () => {
    const pattern = `${'a*'.repeat(40)}b`;
    assert.equal(matchGlob(pattern, 'a'.repeat(256)), false);
  });
});

// The shared contract suite, on the one-process plane (one node: every request is answered locally).
runControlPlaneSuite('MemoryControlPlane (1 node)', async () => ({
  planes: [new MemoryControlPlane({ nodeId: 'memory-node' })],
  settled: async () => {},
  cleanup: async () => {},
}));
