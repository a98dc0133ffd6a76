import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { after, describe, it } from 'node:test';
import { connect, type NatsConnection } from 'nats';
import { NatsControlPlane } from '../../src/control/nats-control-plane.js';
import { encodeToken } from '../../src/engine/nats-subjects.js';
import { NatsProcess } from '../helpers/nats.js';
import { eventually, FakeHandler, runControlPlaneSuite } from './control-plane-suite.js';

const server = await NatsProcess.start();
after(() => server.dispose());

runControlPlaneSuite('NatsControlPlane (3 nodes)', async ({ presenceTtlMs, replyTimeoutMs }) => {
  const prefix = `hcp${randomBytes(5).toString('hex')}`;
  const planes = [0, 1, 2].map(() => new NatsControlPlane({ servers: [server.url], prefix, presenceTtlMs, replyTimeoutMs }));
  const extra: NatsConnection[] = [];
  return {
    planes,
    settled: (plane) => (plane as NatsControlPlane).settled(),
    async addSilentNode() {
      // A hung node: registered and subscribed to the request subject, but it never answers.
      const silent = await connect({ servers: [server.url] });
      extra.push(silent);
      silent.subscribe(`${prefix}.ctl`);
      const kv = await silent.jetstream().views.kv(`${prefix}_nodes`, { ttl: presenceTtlMs, history: 1 });
      await kv.put(encodeToken('silent'), new TextEncoder().encode('{}'));
      await silent.flush();
    },
    async cleanup() {
      await Promise.all(planes.map((plane) => plane.close()));
      for (const connection of extra) await connection.close();
    },
  };
});

describe('NatsControlPlane across a nats-server restart that lost its store', { timeout: 60_000 }, () => {
  it('rejects while down, then binds its buckets again and puts its registry entry and presence back', async (t) => {
    const own = await NatsProcess.start();
    t.after(() => own.dispose());
    const plane = new NatsControlPlane({ servers: [own.url], prefix: `hcr${randomBytes(4).toString('hex')}`, presenceTtlMs: 1_500, replyTimeoutMs: 500 });
    t.after(() => plane.close());
    const handler = new FakeHandler({ id: plane.nodeId, address: '127.0.0.1:1', connections: 1, subscriptions: 1, uptimeMs: 0, version: 'test' });
    await plane.start(handler);
    const entry = { client: `${plane.nodeId}.1`, uid: 'alice', node: plane.nodeId, connectedAt: 1_700_000_000_000 };
    plane.presenceAdd('room', entry);
    await eventually(() => plane.presenceStats('room'), (s) => s.clients === 1, 'the entry');

    await own.stop('SIGKILL');
    await rm(own.storeDir, { recursive: true, force: true }); // JetStream comes back empty
    await eventually(
      () => plane.info().then(() => 'answered', (error: Error) => error.name),
      (outcome) => outcome === 'EngineUnavailableError',
      'info rejected while down',
    );
    await own.restart();
    await eventually(() => plane.info().catch(() => []), (nodes) => nodes.some((node) => node.id === plane.nodeId), 'listed again after the restart', 20_000);
    await eventually(() => plane.presence('room', 10).catch(() => []), (list) => list.length === 1 && list[0].uid === 'alice', 'presence put back', 20_000);
  });
});

describe('NatsControlPlane: nodes starting together on a new prefix', { timeout: 60_000 }, () => {
  it('all start: the loser of the race to create a KV bucket binds the one the winner made', async () => {
    // Twenty rounds of six planes created at the same instant; before the race was handled, a
    // plane that lost it failed with "subjects overlap with an existing stream".
    for (let round = 0; round < 20; round++) {
      const prefix = `hcs${randomBytes(5).toString('hex')}`;
      const planes = [0, 1, 2, 3, 4, 5].map(() => new NatsControlPlane({ servers: [server.url], prefix, presenceTtlMs: 3_000, replyTimeoutMs: 500 }));
      try {
        await Promise.all(
          planes.map((plane) => plane.start(new FakeHandler({ id: plane.nodeId, address: '127.0.0.1:1', connections: 0, subscriptions: 0, uptimeMs: 0, version: 'test' }))),
        );
      } finally {
        await Promise.all(planes.map((plane) => plane.close()));
      }
    }
  });
});
