/**
 * Ad-hoc probe (not a scenario): a connection storm against one server, for
 * looking at it with other tools while it runs.
 *
 *   node dist/bench/tools/storm-probe.js herald|ws [connections] [repeats]
 */
import { sleep } from '../lib/children.js';
import { withSession } from '../net/common.js';
import type { ServerSpec } from '../net/servers.js';

const [kind = 'herald', countArg = '19000', repeatsArg = '3'] = process.argv.slice(2);
const spec: ServerSpec = kind === 'ws' ? { kind: 'ws', label: 'ws' } : { kind: 'herald', label: 'Herald' };
await withSession(spec, { processes: 2, pusher: false }, async ({ server, fleet }) => {
  console.log(`server pid ${server.pid}, load pids ${fleet.pids.join(' ')}`);
  for (let i = 0; i < Number(repeatsArg); i++) {
    await sleep(1000);
    const r = await fleet.connect(server, Number(countArg), 256);
    console.log(`${r.ok} in ${(r.elapsedMs / 1000).toFixed(2)} s = ${Math.round(r.ok / (r.elapsedMs / 1000))}/s`);
    await fleet.closeAll();
  }
});
