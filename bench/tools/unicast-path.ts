/**
 * Ad-hoc probe (not a scenario): the in-process cost of S5's per-user pushes,
 * in ns per push by stage, without sockets — JSON.parse of a batch body, item
 * validation, the memory engine (sequence + history), the hub (routing and the
 * frame), the whole batch path as `POST /v1/push` runs it, and the whole path
 * as one gRPC `PublishStream` message runs it. Socket writes are left out on
 * purpose (a fake sink counts the frames): they are the kernel's cost, the same
 * for every server.
 *
 *   node dist/bench/tools/unicast-path.js [users] [batches] [batchSize] [stage]
 *
 * Times are this process's CPU time (user + system), not wall time, so a busy
 * machine inflates them less; `scav/push` is young-generation collections per
 * 1,000 pushes, a proxy for bytes allocated per push (run it with Herald's
 * `--max-semi-space-size=1`). `UNICAST_TOPIC=inbox` gives every item a private
 * topic (S5 before issue 15); the default is `{uid, data}` as S5 sends now.
 *
 * `stage` (a number from 1 to 4) runs only that stage: the difference in
 * instructions between a run with N batches and one with 0 (`valgrind
 * --tool=callgrind node …`, the "I refs" total; `perf stat` where the machine
 * has counters) is then that stage's cost alone, robust to a busy machine.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { MemoryEngine } from '../../src/engine/memory-engine.js';
import { Hub } from '../../src/hub/hub.js';
import { HubClient } from '../../src/hub/hub-client.js';
import { acceptBatch, publisherOf } from '../../src/api/push-publisher.js';
import { parseBatchItem, type PushLimits } from '../../src/api/push-request.js';
import type { PreparedMessage } from '../../src/protocol/prepared-message.js';
import type { Publication } from '../../src/engine/engine.js';

const [usersArg = '10000', batchesArg = '2000', sizeArg = '100', onlyArg] = process.argv.slice(2);
const only = onlyArg === undefined ? undefined : Number(onlyArg);
let stageNumber = 0;
const users = Number(usersArg);
const batches = Number(batchesArg);
const batchSize = Number(sizeArg);

let frames = 0;
let frameBytes = 0;
const sink = {
  sendPrepared(message: PreparedMessage): 'ok' {
    frames++;
    frameBytes += message.plain.length;
    return 'ok';
  },
};

const topic = process.env.UNICAST_TOPIC || undefined;
let scavenges = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) if ((entry as unknown as { detail?: { kind?: number } }).detail?.kind === 1) scavenges++;
}).observe({ entryTypes: ['gc'] });
const hub = new Hub();
for (let i = 0; i < users; i++) {
  const client = new HubClient(sink);
  hub.add(client);
  hub.login(client, `u${i}`);
  if (topic !== undefined) hub.subscribePrivate(client, topic);
}
const engine = new MemoryEngine();
await engine.start({ onPublication: (delivery) => hub.publish(delivery) });
const publish = publisherOf(engine);
const limits: PushLimits = { maxPushBytes: 64 * 1024, maxTopicLength: 256 };

const payload = 'x'.repeat(100);
let rng = 12345;
function randomUser(): number {
  rng = (rng * 1103515245 + 12345) & 0x7fffffff;
  return rng % users;
}
const bodies: string[] = [];
for (let b = 0; b < 64; b++) {
  const items = [];
  for (let i = 0; i < batchSize; i++) items.push({ uid: `u${randomUser()}`, topic, data: payload });
  bodies.push(JSON.stringify(items));
}

/** Run `fn` over every batch, returning CPU ns per push (best of three rounds, after a warm-up round). */
async function stage(name: string, fn: (body: string) => void | Promise<void>): Promise<void> {
  if (only !== undefined && ++stageNumber !== only) return;
  let best = Infinity;
  let bestScavenges = 0;
  for (let round = 0; round < 4; round++) {
    // Let the observer count the previous round's collections before this one starts.
    await new Promise((resolve) => setTimeout(resolve, 30));
    const before = scavenges;
    const start = process.cpuUsage();
    for (let b = 0; b < batches; b++) await fn(bodies[b % bodies.length]);
    const used = process.cpuUsage(start);
    await new Promise((resolve) => setTimeout(resolve, 30));
    const ns = ((used.user + used.system) * 1e3) / (batches * batchSize);
    if (round > 0 && ns < best) {
      best = ns;
      bestScavenges = scavenges - before;
    }
  }
  const perThousand = (bestScavenges * 1000) / (batches * batchSize);
  console.log(`${name.padEnd(46)} ${best.toFixed(0).padStart(6)} ns/push  ${perThousand.toFixed(2).padStart(6)} scav/1k pushes`);
}

const parsed = bodies.map((b) => JSON.parse(b) as unknown[]);
const publications = parsed.map((items) => items.map((item) => parseBatchItem(item, limits)));
let at = 0;

console.log(`${users} users, ${batches} batches of ${batchSize} per round, 100-byte payloads, ${topic === undefined ? '{uid, data}' : `{uid, topic: ${topic}, data}`}`);
await stage('JSON.parse of the batch body', (body) => void JSON.parse(body));
await stage('validation (parseBatchItem)', () => {
  for (const item of parsed[at++ % parsed.length]) parseBatchItem(item, limits);
});
await stage('engine publish + hub + frame (sync path)', () => {
  for (const p of publications[at++ % publications.length]) publish({ ...p } as Publication);
});
await stage('POST /v1/push body → results (acceptBatch)', async (body) => {
  const outcome = acceptBatch(JSON.parse(body) as unknown[], limits, publish);
  if (outcome instanceof Promise) await outcome;
});
console.log(`frames queued: ${frames}, ${(frameBytes / frames).toFixed(0)} bytes each`);
