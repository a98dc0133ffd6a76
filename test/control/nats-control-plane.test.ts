import { randomBytes } from 'node:crypto';
import { after } from 'node:test';
import { connect, type NatsConnection } from 'nats';
import { NatsControlPlane } from '../../src/control/nats-control-plane.js';
import { encodeToken } from '../../src/engine/nats-subjects.js';
import { NatsProcess } from '../helpers/nats.js';
import { runControlPlaneSuite } from './control-plane-suite.js';

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
