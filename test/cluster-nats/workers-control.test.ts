/** `--engine nats --workers 2` on a private nats-server (workers-control-cases.ts). */
import { NatsProcess } from '../helpers/nats.js';
import { runWorkersControlCases } from '../cluster-redis/workers-control-cases.js';

const nats = await NatsProcess.start();

runWorkersControlCases('nats', {
  options: { natsUrl: nats.url, prefix: 'hwrk' },
  cleanup: () => nats.dispose(),
});
