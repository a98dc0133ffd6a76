/**
 * Subscribers per topic as a namespace's maxSubscribers counts them: the
 * connections of this node subscribed to the topic publicly, privately or
 * both (NodeControl's members, fed by the hub's membership events), kept
 * right through unsubscribes, logouts, a login as another user and removal.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Hub } from '../../src/hub/hub.js';
import { HubClient, type FrameSink } from '../../src/hub/hub-client.js';
import { MemoryControlPlane } from '../../src/control/memory-control-plane.js';
import { NodeControl } from '../../src/node-control.js';
import type { GpushSession } from '../../src/session/gpush-session.js';

const sink: FrameSink = { sendPrepared: () => 'ok' };

describe('subscribers per topic (NodeControl.memberCount)', () => {
  it('counts each connection once, public or private, and forgets it when its last subscription ends', async () => {
    let hub: Hub | undefined;
    const plane = new MemoryControlPlane({ nodeId: 'n1' });
    const control = new NodeControl({
      hub: () => hub as Hub,
      session: () => undefined as unknown as GpushSession,
      controlPlane: plane,
      presence: false,
      joinLeave: false,
      info: () => ({ address: '', connections: 0, subscriptions: 0, uptimeMs: 0, version: '' }),
    });
    hub = new Hub({ membership: control });
    const [a, b, c] = [new HubClient(sink), new HubClient(sink), new HubClient(sink)];
    for (const client of [a, b, c]) hub.add(client);
    hub.subscribePublic(a, 'room');
    hub.login(b, 'bob');
    hub.subscribePrivate(b, 'room');
    hub.login(c, 'carol');
    hub.subscribePrivate(c, 'room');
    hub.subscribePublic(c, 'room');
    assert.equal(control.memberCount('room'), 3, 'carol, subscribed both ways, counts once');
    assert.equal(control.memberCount('other'), 0);
    hub.unsubscribePrivate(b, 'room');
    assert.equal(control.memberCount('room'), 2);
    hub.logout(c); // drops carol's private subscription, keeps the public one
    assert.equal(control.memberCount('room'), 2);
    hub.subscribePrivate(b, 'room');
    hub.login(b, 'bobby'); // another user: bob's private subscriptions end
    assert.equal(control.memberCount('room'), 2);
    hub.remove(c);
    hub.remove(a);
    assert.equal(control.memberCount('room'), 0);
    await plane.close();
  });
});
