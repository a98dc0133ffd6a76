/**
 * Hub.subscriberCount: a topic's public subscribers plus every user's private
 * ones on this node — what a namespace's maxSubscribers counts — kept right
 * through unsubscribes, logouts, a login as another user and removal.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Hub } from '../../src/hub/hub.js';
import { HubClient, type FrameSink } from '../../src/hub/hub-client.js';

const sink: FrameSink = { sendPrepared: () => 'ok' };

describe('Hub.subscriberCount', () => {
  it('counts public and private subscriptions to a topic, and forgets them as they end', () => {
    const hub = new Hub();
    const [a, b, c] = [new HubClient(sink), new HubClient(sink), new HubClient(sink)];
    for (const client of [a, b, c]) hub.add(client);
    hub.subscribePublic(a, 'room');
    hub.login(b, 'bob');
    hub.subscribePrivate(b, 'room');
    hub.login(c, 'carol');
    hub.subscribePrivate(c, 'room');
    hub.subscribePublic(c, 'room');
    assert.equal(hub.subscriberCount('room'), 4);
    assert.equal(hub.subscriberCount('other'), 0);
    hub.unsubscribePrivate(b, 'room');
    assert.equal(hub.subscriberCount('room'), 3);
    hub.logout(c); // drops carol's private one, keeps the public one
    assert.equal(hub.subscriberCount('room'), 2);
    hub.subscribePrivate(b, 'room');
    hub.login(b, 'bobby'); // another user: bob's private subscriptions end
    assert.equal(hub.subscriberCount('room'), 2);
    hub.remove(c);
    hub.remove(a);
    assert.equal(hub.subscriberCount('room'), 0);
  });
});
