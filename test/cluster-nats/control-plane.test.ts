/** The control plane across Herald processes on a private nats-server, `--engine nats` (control-plane-cases.ts). */
import { NatsProcess } from '../helpers/nats.js';
import { runProcessControlPlaneCases } from '../cluster-redis/control-plane-cases.js';

const nats = await NatsProcess.start();

runProcessControlPlaneCases('one nats-server', {
  options: { natsUrl: nats.url, prefix: 'hctl' },
  cleanup: () => nats.dispose(),
});
