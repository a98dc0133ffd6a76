/**
 * Ad-hoc probe (not a scenario): N idle subscribed connections to one
 * server, then its CPU ticks every 10 s for a while.
 *
 *   node dist/bench/tools/idle-probe.js herald|ws [connections] [periods]
 */
import { sleep } from '../lib/children.js';
import { cpuSeconds } from '../lib/proc.js';
import { withSession } from '../net/common.js';
import type { ServerSpec } from '../net/servers.js';

const [kind = 'herald', countArg = '19000', periodsArg = '4'] = process.argv.slice(2);
const spec: ServerSpec = kind === 'ws' ? { kind: 'ws', label: 'ws' } : { kind: 'herald', label: 'Herald' };
await withSession(spec, { processes: 2, pusher: false }, async ({ server, fleet }) => {
  console.log(`server pid ${server.pid}`);
  await fleet.connect(server, Number(countArg), 256);
  await fleet.subscribe({ kind: 'topic', topic: 'idle' });
  for (let i = 0; i < Number(periodsArg); i++) {
    const c0 = cpuSeconds(server.pid);
    await sleep(10_000);
    console.log(`period ${i + 1}: server CPU ${((cpuSeconds(server.pid) - c0) * 1000).toFixed(0)} ms in 10 s`);
  }
});
