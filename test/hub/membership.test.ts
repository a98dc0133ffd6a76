import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Hub, type MembershipListener } from '../../src/hub/hub.js';
import { HubClient, type FrameSink } from '../../src/hub/hub-client.js';

const sink: FrameSink = { sendPrepared: () => 'ok' };

/** A hub whose membership events are recorded as `join t` / `leave t` / `identity prev→uid`. */
function recordingHub(): { hub: Hub; events: string[]; client(): HubClient } {
  const events: string[] = [];
  const names = new Map<HubClient, string>();
  const membership: MembershipListener = {
    onJoin: (client, topic) => events.push(`${names.get(client)} join ${topic}`),
    onLeave: (client, topic) => events.push(`${names.get(client)} leave ${topic} as ${client.uid ?? '-'}`),
    onIdentity: (client, previous) => events.push(`${names.get(client)} identity ${previous ?? '-'}→${client.uid ?? '-'}`),
  };
  const hub = new Hub({ membership });
  return {
    hub,
    events,
    client() {
      const client = new HubClient(sink);
      names.set(client, `c${names.size + 1}`);
      hub.add(client);
      return client;
    },
  };
}

describe('Hub membership listener', () => {
  it('reports the first and the last subscription of a client to a topic, public or private', () => {
    const { hub, events, client } = recordingHub();
    const c = client();
    hub.login(c, 'alice');
    events.length = 0;
    hub.subscribePublic(c, 'news');
    hub.subscribePrivate(c, 'news'); // already a member: nothing
    hub.subscribePublic(c, 'news'); // idempotent: nothing
    hub.unsubscribePublic(c, 'news'); // still held privately: nothing
    hub.unsubscribePrivate(c, 'news');
    hub.subscribePrivate(c, 'inbox');
    hub.unsubscribePrivate(c, 'inbox');
    hub.unsubscribePrivate(c, 'inbox'); // not subscribed: nothing
    assert.deepEqual(events, ['c1 join news', 'c1 leave news as alice', 'c1 join inbox', 'c1 leave inbox as alice']);
  });

  it('a logout leaves the private topics (uid still set) and keeps the public ones, renewing their identity', () => {
    const { hub, events, client } = recordingHub();
    const c = client();
    hub.login(c, 'alice');
    hub.subscribePrivate(c, 'inbox');
    hub.subscribePrivate(c, 'both');
    hub.subscribePublic(c, 'both');
    hub.subscribePublic(c, 'news');
    events.length = 0;
    hub.logout(c);
    assert.deepEqual(events, ['c1 leave inbox as alice', 'c1 identity alice→-']);
    events.length = 0;
    hub.login(c, 'bob');
    assert.deepEqual(events, ['c1 identity -→bob']);
  });

  it('a close leaves every topic exactly once, public, private and both', () => {
    const { hub, events, client } = recordingHub();
    const c = client();
    const other = client();
    hub.login(c, 'alice');
    hub.subscribePublic(c, 'news');
    hub.subscribePublic(c, 'both');
    hub.subscribePrivate(c, 'both');
    hub.subscribePrivate(c, 'inbox');
    hub.subscribePublic(other, 'news');
    events.length = 0;
    hub.remove(c);
    assert.deepEqual(events.sort(), ['c1 leave both as alice', 'c1 leave inbox as alice', 'c1 leave news as alice']);
    events.length = 0;
    hub.remove(c); // already gone
    hub.remove(other);
    assert.deepEqual(events, ['c2 leave news as -']);
  });

  it('clientsOf lists the connections of a user', () => {
    const { hub, client } = recordingHub();
    const a = client();
    const b = client();
    hub.login(a, 'alice');
    hub.login(b, 'alice');
    assert.deepEqual([...hub.clientsOf('alice')], [a, b]);
    assert.equal(hub.clientsOf('nobody').size, 0);
    hub.remove(a);
    assert.deepEqual([...hub.clientsOf('alice')], [b]);
  });
});
