/**
 * The shared control-plane suite: the guarantees of the ControlPlane contract
 * (src/control/control-plane.ts), checked the same way for every
 * implementation. A factory makes N planes sharing one cluster (N = 1 for the
 * in-process plane); the suite starts each with a {@link FakeHandler}.
 *
 * No timing assertions. Presence writes are fire and forget, so reads are
 * polled until they show the change (bounded). "Not delivered" is shown with a
 * barrier: an event published afterwards by the same node to a topic every
 * node watches; its arrival proves the earlier one would have arrived.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import { describe, it, type TestContext } from 'node:test';
import type {
  ChannelCount,
  ControlCommand,
  ControlHandler,
  ControlPlane,
  JoinLeaveEvent,
  NodeInfo,
  PresenceEntry,
} from '../../src/control/control-plane.js';

export interface ControlPlaneFixtureOptions {
  /** Presence TTL of every plane (short: the close case waits for it at worst). */
  presenceTtlMs: number;
  /** How long `command`/`channels` wait for the other nodes. */
  replyTimeoutMs: number;
}

export interface ControlPlaneFixture {
  /** Planes of one cluster, not started yet (the suite starts them). */
  planes: ControlPlane[];
  /** Resolves once `plane`'s `watchJoinLeave` calls so far are in effect. */
  settled(plane: ControlPlane): Promise<void>;
  /**
   * Add a node that is listed as live and receives requests but never
   * answers (a hung process). Absent where the cluster is one process.
   */
  addSilentNode?(): Promise<void>;
  /**
   * A fresh topic whose join/leave events are delivered in order with
   * `topic`'s (the barrier needs that). Default: any fresh topic — one Redis
   * or NATS connection orders everything; on a Redis Cluster, sharded pub/sub
   * orders only within a shard, so the fence must share the topic's slot.
   */
  fenceFor?(topic: string): string;
  /** Close what the test has not, remove what the planes left behind. */
  cleanup(): Promise<void>;
}

export type ControlPlaneFactory = (options: ControlPlaneFixtureOptions) => Promise<ControlPlaneFixture>;

const DEADLINE_MS = 10_000;
const TEST_TIMEOUT_MS = 60_000;
const TTL_MS = 1_500;
const REPLY_TIMEOUT_MS = 500;

/** A fresh name, so tests never share topics even on a shared Redis. */
export function unique(label: string): string {
  return `${label}-${randomBytes(4).toString('hex')}`;
}

/** Poll `check` until it holds; throws after a deadline naming `what` (and the last value seen). */
export async function eventually<T>(read: () => Promise<T>, check: (value: T) => boolean, what: string, timeoutMs = DEADLINE_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (check(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(value)}`);
    await sleep(25);
  }
}

/** A node's side of the contract, scripted: what each command affects, which topics it holds; records what it is asked. */
export class FakeHandler implements ControlHandler {
  /** Connections a command for this uid affects on this node. */
  readonly affected = new Map<string, number>();
  readonly applied: ControlCommand[] = [];
  /** This node's topics and subscriber counts. */
  readonly topics = new Map<string, number>();
  readonly events: JoinLeaveEvent[] = [];
  private waiters: { check: () => boolean; resolve: () => void }[] = [];

  constructor(readonly info: NodeInfo) {}

  apply(command: ControlCommand): number {
    this.applied.push(command);
    return this.affected.get(command.uid) ?? 0;
  }

  localInfo(): NodeInfo {
    return { ...this.info };
  }

  localChannels(pattern: string | undefined, after: string | undefined, limit: number): ChannelCount[] {
    const match = pattern === undefined ? undefined : globToRegExp(pattern);
    return [...this.topics]
      .filter(([topic]) => (match === undefined || match.test(topic)) && (after === undefined || topic > after))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .slice(0, limit)
      .map(([topic, subscribers]) => ({ topic, subscribers }));
  }

  onJoinLeave(event: JoinLeaveEvent): void {
    this.events.push(event);
    this.waiters = this.waiters.filter((waiter) => {
      if (!waiter.check()) return true;
      waiter.resolve();
      return false;
    });
  }

  eventsOf(topic: string): JoinLeaveEvent[] {
    return this.events.filter((event) => event.topic === topic);
  }

  waitForEvents(topic: string, count: number): Promise<void> {
    const check = (): boolean => this.eventsOf(topic).length >= count;
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((waiter) => waiter.resolve !== done);
        reject(new Error(`node ${this.info.id}: no ${count} events of ${topic} within ${DEADLINE_MS} ms (${this.events.length} events)`));
      }, DEADLINE_MS);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.waiters.push({ check, resolve: done });
    });
  }
}

function globToRegExp(pattern: string): RegExp {
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`, 's');
}

interface Cluster {
  fixture: ControlPlaneFixture;
  planes: ControlPlane[];
  handlers: FakeHandler[];
}

/** Build a cluster with `factory`, start every plane with a FakeHandler; cleaned up when the test ends. */
async function startCluster(t: TestContext, factory: ControlPlaneFactory): Promise<Cluster> {
  const fixture = await factory({ presenceTtlMs: TTL_MS, replyTimeoutMs: REPLY_TIMEOUT_MS });
  t.after(() => fixture.cleanup());
  const handlers = fixture.planes.map(
    (plane, i) =>
      new FakeHandler({
        id: plane.nodeId,
        address: `127.0.0.1:${9100 + i}`,
        connections: 10 + i,
        subscriptions: 20 + i,
        uptimeMs: 1_000,
        version: '0.0.0-test',
      }),
  );
  await Promise.all(fixture.planes.map((plane, i) => plane.start(handlers[i])));
  return { fixture, planes: fixture.planes, handlers };
}

let clientCounter = 0;

/** A presence entry of a connection on `plane`'s node. */
function entryOn(plane: ControlPlane, uid: string): PresenceEntry {
  return { client: `${plane.nodeId}.${++clientCounter}`, uid, node: plane.nodeId, connectedAt: 1_700_000_000_000 + clientCounter };
}

const byClient = (a: PresenceEntry, b: PresenceEntry): number => (a.client < b.client ? -1 : a.client > b.client ? 1 : 0);

/** Every entry of `topic` as `plane` sees it (limit far above the test's sizes), sorted by client. */
async function listed(plane: ControlPlane, topic: string): Promise<PresenceEntry[]> {
  return (await plane.presence(topic, 1_000)).sort(byClient);
}

/** Run the contract checks against planes made by `factory`, as `describe(name)`. */
export function runControlPlaneSuite(name: string, factory: ControlPlaneFactory): void {
  describe(`${name}: control plane contract`, { timeout: TEST_TIMEOUT_MS }, () => {
    it('command reaches every node once and resolves with the sum of what each affected', async (t) => {
      const { planes, handlers } = await startCluster(t, factory);
      handlers.forEach((handler, i) => handler.affected.set('alice', i + 1));
      const command: ControlCommand = { op: 'disconnect', uid: 'alice', code: 4100, reason: 'disconnected by server' };
      const n = planes.length;
      assert.equal(await planes[n - 1].command(command), (n * (n + 1)) / 2);
      for (const handler of handlers) assert.deepEqual(handler.applied, [command]);

      const subscribe: ControlCommand = { op: 'subscribe', uid: 'alice', topic: 'news', private: true };
      assert.equal(await planes[0].command(subscribe), (n * (n + 1)) / 2);
      for (const handler of handlers) assert.deepEqual(handler.applied[1], subscribe);
      const one: ControlCommand = { op: 'disconnect', uid: 'alice', client: `${planes[0].nodeId}.7`, code: 4500, reason: 'banned' };
      await planes[0].command(one);
      for (const handler of handlers) assert.deepEqual(handler.applied[2], one, 'the optional client id travels');
      assert.equal(await planes[0].command({ op: 'unsubscribe', uid: 'nobody', topic: 'news', private: false }), 0);
    });

    it('a node that does not answer is left out of the sum after the timeout', async (t) => {
      const { fixture, planes, handlers } = await startCluster(t, factory);
      if (fixture.addSilentNode === undefined) return t.skip('one process: every node answers');
      await fixture.addSilentNode();
      handlers.forEach((handler) => handler.affected.set('bob', 2));
      assert.equal(await planes[0].command({ op: 'disconnect', uid: 'bob', code: 4100, reason: 'x' }), 2 * planes.length);
    });

    it('info lists every live node, sorted by id, with its figures', async (t) => {
      const { planes, handlers } = await startCluster(t, factory);
      const ids = planes.map((plane) => plane.nodeId).sort();
      for (const plane of planes) {
        const nodes = await plane.info();
        assert.deepEqual(nodes.map((node) => node.id), ids);
        for (const node of nodes) {
          const expected = handlers.find((handler) => handler.info.id === node.id)!.info;
          assert.equal(node.address, expected.address);
          assert.equal(node.connections, expected.connections);
          assert.equal(node.subscriptions, expected.subscriptions);
          assert.equal(node.version, expected.version);
          assert.ok(node.uptimeMs >= expected.uptimeMs, 'uptime never goes back');
        }
      }
    });

    it('channels merges counts over nodes, ascending, and pages with a cursor', async (t) => {
      const { planes, handlers } = await startCluster(t, factory);
      const expected = new Map<string, number>();
      const hold = (handler: FakeHandler, topic: string, count: number): void => {
        handler.topics.set(topic, count);
        expected.set(topic, (expected.get(topic) ?? 0) + count);
      };
      handlers.forEach((handler, i) => {
        hold(handler, 'room-a', 1);
        hold(handler, 'room-b', i + 1);
        hold(handler, `solo-${i}`, 2);
        hold(handler, 'zeta', 5);
      });
      const all = [...expected].sort(([a], [b]) => (a < b ? -1 : 1)).map(([topic, subscribers]) => ({ topic, subscribers }));

      const whole = await planes[0].channels(undefined, undefined, 1_000);
      assert.deepEqual(whole, { channels: all }, 'a page that is not full has no cursor');

      const pages: ChannelCount[][] = [];
      let cursor: string | undefined;
      for (let guard = 0; guard < 50; guard++) {
        const page = await planes[planes.length - 1].channels(undefined, cursor, 2);
        assert.ok(page.channels.length <= 2, 'at most limit');
        pages.push(page.channels);
        if (page.cursor === undefined) break;
        assert.equal(page.cursor, page.channels[page.channels.length - 1].topic);
        cursor = page.cursor;
      }
      assert.deepEqual(pages.flat(), all, 'the pages together list every topic once, in order');

      const rooms = await planes[0].channels('room-*', undefined, 10);
      assert.deepEqual(rooms.channels, all.filter((c) => c.topic.startsWith('room-')));
      assert.deepEqual(await planes[0].channels('nothing-*', undefined, 10), { channels: [] });
    });

    it('presence lists every node’s entries until removed, at most limit of them', async (t) => {
      const { planes } = await startCluster(t, factory);
      const topic = unique('presence');
      const entries = planes.map((plane, i) => entryOn(plane, `user${i}`));
      const extra = entryOn(planes[0], '');
      planes.forEach((plane, i) => plane.presenceAdd(topic, entries[i]));
      planes[0].presenceAdd(topic, extra);
      planes[0].presenceAdd(topic, extra); // again: still one entry
      const all = [...entries, extra].sort(byClient);
      for (const plane of planes) {
        await eventually(() => listed(plane, topic), (list) => isDeepStrictEqual(list, all), `${all.length} entries`);
      }
      const one = await planes[planes.length - 1].presence(topic, 1);
      assert.equal(one.length, 1, 'limit 1: one entry');
      assert.ok(all.some((entry) => isDeepStrictEqual(entry, one[0])));

      planes[0].presenceRemove(topic, entries[0]);
      planes[0].presenceRemove(topic, entries[0]); // again: nothing more happens
      const rest = all.filter((entry) => entry !== entries[0]);
      await eventually(() => listed(planes[planes.length - 1], topic), (list) => isDeepStrictEqual(list, rest), 'the removal');
      assert.deepEqual(await planes[0].presence(unique('empty'), 10), []);
      assert.deepEqual(await planes[0].presenceStats(unique('empty')), { clients: 0, users: 0 });
    });

    it('presenceStats counts connections, and each user once across nodes; anonymous ones are not users', async (t) => {
      const { planes } = await startCluster(t, factory);
      const topic = unique('stats');
      const stats = (plane: ControlPlane) => () => plane.presenceStats(topic);
      const alice = planes.map((plane) => entryOn(plane, 'alice'));
      const alice2 = entryOn(planes[0], 'alice');
      const bob = entryOn(planes[planes.length - 1], 'bob');
      const anonymous = [entryOn(planes[0], ''), entryOn(planes[planes.length - 1], '')];
      planes.forEach((plane, i) => plane.presenceAdd(topic, alice[i]));
      planes[0].presenceAdd(topic, alice2);
      planes[0].presenceAdd(topic, alice2); // a repeated add counts once
      planes[planes.length - 1].presenceAdd(topic, bob);
      planes[0].presenceAdd(topic, anonymous[0]);
      planes[planes.length - 1].presenceAdd(topic, anonymous[1]);
      const clients = planes.length + 4;
      for (const plane of planes) {
        await eventually(stats(plane), (s) => s.clients === clients && s.users === 2, `${clients} clients, 2 users`);
      }

      planes[0].presenceRemove(topic, anonymous[0]);
      await eventually(stats(planes[0]), (s) => s.clients === clients - 1 && s.users === 2, 'an anonymous one gone');
      planes[0].presenceRemove(topic, alice2);
      planes.forEach((plane, i) => i > 0 && plane.presenceRemove(topic, alice[i]));
      // alice still has one connection: still a user.
      await eventually(stats(planes[planes.length - 1]), (s) => s.clients === 3 && s.users === 2, 'alice down to one connection');
      planes[0].presenceRemove(topic, alice[0]);
      await eventually(stats(planes[planes.length - 1]), (s) => s.clients === 2 && s.users === 1, 'alice gone');
    });

    it('join/leave events reach the nodes watching the topic, and only them', async (t) => {
      const { fixture, planes, handlers } = await startCluster(t, factory);
      const topic = unique('jl');
      const fence = fixture.fenceFor?.(topic) ?? unique('fence');
      const watching = (i: number): boolean => i % 2 === 0;
      planes.forEach((plane, i) => {
        plane.watchJoinLeave(fence, true);
        if (watching(i)) plane.watchJoinLeave(topic, true);
      });
      await Promise.all(planes.map((plane) => fixture.settled(plane)));
      const publisher = planes[planes.length - 1];
      const join: JoinLeaveEvent = { kind: 'join', topic, entry: entryOn(publisher, 'alice') };
      let fences = 0;
      const barrier = async (): Promise<void> => {
        fences++;
        publisher.publishJoinLeave({ kind: 'join', topic: fence, entry: entryOn(publisher, 'fence') });
        await Promise.all(handlers.map((handler) => handler.waitForEvents(fence, fences)));
      };

      publisher.publishJoinLeave(join);
      await barrier();
      handlers.forEach((handler, i) => assert.deepEqual(handler.eventsOf(topic), watching(i) ? [join] : [], `node ${i}`));

      planes[0].watchJoinLeave(topic, false);
      await fixture.settled(planes[0]);
      const leave: JoinLeaveEvent = { kind: 'leave', topic, entry: join.entry };
      publisher.publishJoinLeave(leave);
      await barrier();
      handlers.forEach((handler, i) => {
        const want = i === 0 ? [join] : watching(i) ? [join, leave] : [];
        assert.deepEqual(handler.eventsOf(topic), want, `node ${i} after node 0 stopped watching`);
      });
    });

    it('close: the node leaves info and presence, its calls reject, its reports are ignored', async (t) => {
      const { planes } = await startCluster(t, factory);
      const topic = unique('close');
      const leaving = planes[planes.length - 1];
      const observer = planes[0];
      const entry = entryOn(leaving, 'carol');
      leaving.presenceAdd(topic, entry);
      await eventually(() => leaving.presenceStats(topic), (s) => s.clients === 1, 'the entry');
      await leaving.close();
      await leaving.close(); // twice is fine

      await assert.rejects(leaving.command({ op: 'disconnect', uid: 'carol', code: 4100, reason: 'x' }));
      await assert.rejects(leaving.info());
      await assert.rejects(leaving.channels(undefined, undefined, 10));
      await assert.rejects(leaving.presence(topic, 10));
      await assert.rejects(leaving.presenceStats(topic));
      leaving.presenceAdd(topic, entryOn(leaving, 'dave'));
      leaving.presenceRemove(topic, entry);
      leaving.publishJoinLeave({ kind: 'join', topic, entry });
      leaving.watchJoinLeave(topic, true);

      if (observer === leaving) return;
      // Gone at once after an orderly close, or within the TTL at worst.
      const bound = 3 * TTL_MS + DEADLINE_MS;
      await eventually(() => observer.info(), (nodes) => !nodes.some((node) => node.id === leaving.nodeId), 'the node out of info', bound);
      await eventually(() => observer.presenceStats(topic), (s) => s.clients === 0 && s.users === 0, 'its presence gone', bound);
    });
  });
}
