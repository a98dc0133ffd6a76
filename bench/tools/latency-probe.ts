/**
 * Ad-hoc latency probe (not a scenario): one server, N subscribers of one
 * topic, pushes at a low rate; prints the latency percentiles.
 *
 *   node dist/bench/tools/latency-probe.js herald|ws [subscribers] [pushes/s] [seconds] [api]
 */
import { withSession } from '../net/common.js';
import { runSteps } from '../net/steps.js';
import type { ServerSpec } from '../net/servers.js';

const [kind = 'herald', subsArg = '1000', rateArg = '10', secondsArg = '3', api = 'pushData'] = process.argv.slice(2);
const subscribers = Number(subsArg);
const spec: ServerSpec = kind === 'ws' ? { kind: 'ws', label: 'ws' } : { kind: 'herald', label: 'Herald', heraldArgs: process.argv.slice(7) };
const out = await withSession(spec, { processes: 2, pusher: true }, async ({ server, fleet, pusher }) => {
  await fleet.connect(server, subscribers, 256);
  await fleet.subscribe({ kind: 'topic', topic: 'probe' });
  return runSteps(
    {
      server,
      fleet,
      pusher: pusher!,
      plan: [{ rate: Number(rateArg), nominalDeliveries: Number(rateArg) * subscribers }],
      stepMs: Number(secondsArg) * 1000,
      drainMs: 1000,
      connections: subscribers,
      push: {
        api: api === 'batch' ? 'batch' : 'pushData',
        payloadBytes: 100,
        target: { kind: 'topics', topics: ['probe'], counts: [subscribers] },
        batchMax: 500,
        maxOutstanding: 64,
        answerTimeoutMs: 5000,
      },
      log: (l) => console.log(l),
    },
    1000,
  );
});
const s = out.steps[0];
console.log(JSON.stringify({ p50: s.p50Ms, p99: s.p99Ms, max: s.maxMs, apiP99: s.push.apiP99Ms, serverCpu: s.serverCpu, clientCpu: s.clientCpu }));
