/**
 * `--workers 2` with the memory engine: each worker sends its connections'
 * events, but no channel events (a worker's counts are not the group's), and
 * the primary says so at start.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ClusterClient } from '../cluster-redis/cluster-client.js';
import { HeraldProcess } from '../helpers/herald-process.js';
import { waitUntil } from '../helpers/wait.js';
import { WebhookReceiver } from './receiver.js';

const SECRET = 'workers-secret';

describe('webhooks under --workers with the memory engine', () => {
  const receiver = new WebhookReceiver(SECRET);
  let herald: HeraldProcess | undefined;
  const clients: ClusterClient[] = [];
  after(async () => {
    for (const client of clients) client.terminate();
    await herald?.stop();
    await receiver.stop();
  });

  it('sends connect/subscribe/unsubscribe/disconnect from the workers, no channel events, and warns at start', async () => {
    await receiver.start();
    herald = await HeraldProcess.start({
      name: 'workers',
      args: ['--workers', '2', '--webhooks', JSON.stringify([{ url: receiver.url, secret: SECRET }]), '--webhook-batch-wait', '10ms'],
    });
    assert.match(herald.stdout, /channel_occupied\/channel_vacated are not sent under --workers with the memory engine/);
    for (let i = 0; i < 4; i++) {
      const client = await ClusterClient.connect(herald.wsUrl, { name: `c${i}` });
      clients.push(client);
      await client.subscribe('room');
    }
    for (const client of clients) await client.unsubscribe('room');
    for (const client of clients) client.ws.close(1000);
    await waitUntil(() => receiver.ofType('disconnect').length === 4, 'four disconnect events');
    assert.equal(receiver.ofType('connect').length, 4);
    assert.equal(receiver.ofType('subscribe').length, 4);
    assert.equal(receiver.ofType('unsubscribe').length, 4);
    assert.deepEqual(receiver.events.filter((e) => e.type.startsWith('channel_')), []);
    assert.ok(receiver.events.every((e) => /-w\d+$/.test(e.node)), 'every event names its worker');
    assert.equal(receiver.badSignatures, 0);
  });
});
