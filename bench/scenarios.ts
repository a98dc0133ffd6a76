/**
 * The benchmark scenarios `npm run bench` knows, in the order they run when
 * none is named. To add one: write `bench/<name>.ts` exporting a `Scenario`
 * (`{ name, description, run(ctx): Promise<Result> }`, see lib/types.ts) and
 * add it to this table.
 *
 * The network scenarios (bench/net/) each run the same steps against Herald
 * against the uWebSockets.js peer (bench/servers/uws-peer.ts) and against a
 * plain `ws` server (bench/servers/ws-baseline.ts), one server at a time, with load-client processes (bench/load/). S6 (net/s6-cluster.ts)
 * compares Herald set-ups with each other instead: one memory-engine node
 * against 1, 2 and 3 nodes on the Redis engine.
 */
import { parserScenario } from './parser.js';
import { idleScenario } from './net/s1-idle.js';
import { fanoutScenario } from './net/s2-fanout.js';
import { stormScenario } from './net/s3-storm.js';
import { topicsScenario } from './net/s4-topics.js';
import { unicastScenario } from './net/s5-unicast.js';
import { clusterScenario } from './net/s6-cluster.js';
import { presenceScenario } from './net/s7-presence.js';
import { proxyScenario } from './net/s8-proxy.js';
import { webhooksScenario } from './net/s9-webhooks.js';
import { sseScenario } from './net/s10-sse.js';
import { stormFanoutScenario } from './net/s11-storm-fanout.js';
import type { Scenario } from './lib/types.js';

export const SCENARIOS: readonly Scenario[] = [
  parserScenario,
  idleScenario,
  fanoutScenario,
  stormScenario,
  topicsScenario,
  unicastScenario,
  clusterScenario,
  presenceScenario,
  proxyScenario,
  webhooksScenario,
  sseScenario,
  stormFanoutScenario,
];
