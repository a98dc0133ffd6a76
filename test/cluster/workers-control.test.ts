/**
 * The server API under `--workers 2` with the memory engine: the primary
 * answers for both workers. Which worker gets a connection is the kernel's
 * choice, so clients are opened until presence shows both workers holding
 * some. Presence, presence-stats, channels and info cover both workers;
 * disconnect and server-side subscribe reach both; join/leave crosses them; a
 * SIGKILLed worker's clients leave presence as soon as the primary sees it
 * exit, and its replacement appears in info.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, afterEach, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { PROTO_DIR } from '../../src/api/grpc-push-api.js';
import { HeraldProcess } from '../helpers/herald-process.js';
import { waitUntil } from '../helpers/server.js';
import { CLUSTER_WAIT_MS, ClusterClient, JWT_SECRET, terminateAll, tokenFor, uniqueName, apiGet, type PresenceEntry, apiPost } from '../cluster-redis/cluster-client.js';

function workerPids(primary: number): number[] {
  return execFileSync('pgrep', ['-P', String(primary)], { encoding: 'utf8' }).trim().split('\n').map(Number);
}

/** `herald.v1.Server/Info` on the primary's gRPC listener. */
async function grpcInfo(address: string): Promise<{ nodes: { id: string }[] }> {
  const definition = grpc.loadPackageDefinition(
    protoLoader.loadSync('herald/v1/server.proto', { keepCase: true, longs: Number, enums: String, defaults: true, includeDirs: [PROTO_DIR] }),
  ) as unknown as { herald: { v1: { Server: grpc.ServiceClientConstructor } } };
  const client = new definition.herald.v1.Server(address, grpc.credentials.createInsecure());
  try {
    return await new Promise((resolve, reject) => {
      (client as unknown as Record<string, Function>).Info.call(client, {}, { deadline: Date.now() + CLUSTER_WAIT_MS }, (error: Error | null, reply: any) =>
        error ? reject(error) : resolve(reply),
      );
    });
  } finally {
    client.close();
  }
}

/** At most this many connections are opened to reach both workers. */
const MAX_TRIES = 40;

describe('--workers 2 (memory engine): the server API answers for every worker', { timeout: 120_000 }, () => {
  let herald: HeraldProcess;
  const clients = new Set<ClusterClient>();

  /**
   * Connect clients (logged in as `uid(i)` when given), each subscribed to
   * `topic`, until presence lists entries on two nodes. Returns them and the
   * presence entry of each (by position).
   */
  async function spread(topic: string, uid?: (i: number) => string, options: { heraldV1?: boolean } = {}): Promise<{ list: ClusterClient[]; entries: PresenceEntry[] }> {
    const list: ClusterClient[] = [];
    for (let i = 0; i < MAX_TRIES; i++) {
      const client = await ClusterClient.connect(herald.wsUrl, { name: `${topic}#${i}`, heraldV1: options.heraldV1 });
      clients.add(client);
      list.push(client);
      if (uid !== undefined) await client.login(await tokenFor(uid(i)), uid(i));
      await client.subscribe(topic);
      const entries = (await apiGet(herald, `/v1/presence?topic=${topic}&limit=1000`)).clients as PresenceEntry[];
      if (entries.length === list.length && new Set(entries.map((e) => e.node)).size === 2) return { list, entries };
    }
    throw new Error(`${MAX_TRIES} connections all landed on one worker`);
  }

  before(async () => {
    herald = await HeraldProcess.start({ name: 'workers', args: ['--workers', '2', '--jwt-secret', JWT_SECRET, '--join-leave', '--presence'] });
  });
  afterEach(() => {
    terminateAll(clients);
    clients.clear();
  });
  after(async () => {
    terminateAll(clients);
    await herald.stop();
  });

  it('presence and presence-stats list alice on both workers (counted once); channels and info cover both', async () => {
    const topic = uniqueName('room');
    const { list, entries } = await spread(topic, () => 'alice');
    const nodes = [...new Set(entries.map((e) => e.node))].sort();
    assert.ok(entries.every((e) => e.uid === 'alice' && e.client.startsWith(`${e.node}.`)), JSON.stringify(entries));
    assert.deepEqual(await apiGet(herald, `/v1/presence-stats?topic=${topic}`), { clients: list.length, users: 1 });
    assert.deepEqual(await apiGet(herald, `/v1/channels?pattern=${topic}`), { channels: [{ topic, subscribers: list.length }] });
    const info = (await apiGet(herald, '/v1/info')).nodes as { id: string; connections: number }[];
    assert.deepEqual(info.map((n) => n.id), nodes);
    assert.ok(info.every((n) => n.connections > 0), JSON.stringify(info));
    assert.deepEqual((await grpcInfo(String(herald.started.grpc))).nodes.map((n) => n.id), nodes);
  });

  it('server-side subscribe reaches alice on both workers (20005, then the next push); disconnect closes all with 4100', async () => {
    const { list } = await spread(uniqueName('home'), () => 'alice');
    const served = uniqueName('served');
    assert.deepEqual(await apiPost(herald, '/v1/subscribe', { uid: 'alice', topic: served }), { subscribed: list.length });
    for (const client of list) assert.equal(((await client.nextReply(20005)) as unknown as { topic: string }).topic, served);
    assert.deepEqual(await apiGet(herald, `/v1/presence-stats?topic=${served}`), { clients: list.length, users: 1 });
    const pushed = await herald.request('/v1/pushData', { method: 'POST', body: JSON.stringify({ topic: served, data: Buffer.from('after').toString('base64') }) });
    assert.equal(pushed.status, 200);
    for (const client of list) await client.waitForData('after');

    assert.deepEqual(await apiPost(herald, '/v1/disconnect', { uid: 'alice' }), { disconnected: list.length });
    for (const client of list) assert.equal((await client.closed()).code, 4100);
    await waitUntil(async () => (await apiGet(herald, `/v1/presence-stats?topic=${served}`)).clients === 0, 'presence to empty', CLUSTER_WAIT_MS);
    assert.deepEqual(await apiPost(herald, '/v1/disconnect', { uid: 'nobody' }), { disconnected: 0 });
  });

  it('join and leave cross workers: a herald.v1 watcher hears a client of the other worker', async () => {
    const topic = uniqueName('lobby');
    const watcher = await ClusterClient.connect(herald.wsUrl, { name: 'watcher', heraldV1: true });
    clients.add(watcher);
    await watcher.command({ code: 1, topic, joinLeave: true }, 20001);
    const [own] = (await apiGet(herald, `/v1/presence?topic=${topic}`)).clients as PresenceEntry[];
    // Joiners until one is on the other worker.
    let other: { client: ClusterClient; uid: string } | undefined;
    for (let i = 0; i < MAX_TRIES && other === undefined; i++) {
      const uid = `joiner${i}`;
      const client = await ClusterClient.connect(herald.wsUrl, { name: uid });
      clients.add(client);
      await client.login(await tokenFor(uid), uid);
      await client.subscribe(topic);
      const entries = (await apiGet(herald, `/v1/presence?topic=${topic}&limit=1000`)).clients as PresenceEntry[];
      if (entries.some((e) => e.uid === uid && e.node !== own.node)) other = { client, uid };
    }
    assert.ok(other !== undefined, 'a joiner on the other worker');
    type Event = { type?: string; uid?: string; node?: string };
    const events = (): Event[] => watcher.deliveries.map((d) => d.envelope as unknown as Event).filter((e) => e?.type !== undefined);
    await watcher.waitFor(() => events().some((e) => e.type === 'join' && e.uid === other.uid && e.node !== own.node), 'the join from the other worker');
    other.client.terminate();
    await watcher.waitFor(() => events().some((e) => e.type === 'leave' && e.uid === other.uid), 'the leave from the other worker');
  });

  it('a SIGKILLed worker’s clients leave presence at once (no TTL), and its replacement appears in info', async () => {
    const topic = uniqueName('doomed');
    const { list, entries } = await spread(topic, (i) => `user${i}`);
    const before = ((await apiGet(herald, '/v1/info')).nodes as { id: string }[]).map((n) => n.id);
    const [victim] = workerPids(herald.pid);
    process.kill(victim, 'SIGKILL');
    await waitUntil(() => list.some((c) => c.closeEvent !== undefined), 'the killed worker’s clients to drop', CLUSTER_WAIT_MS);
    // Which node died: the one that held the clients that dropped (their uids name them in presence).
    const dropped = list.flatMap((c, i) => (c.closeEvent === undefined ? [] : [entries.find((e) => e.uid === `user${i}`)!.node]));
    const dead = dropped[0];
    await waitUntil(
      async () => ((await apiGet(herald, `/v1/presence?topic=${topic}&limit=1000`)).clients as PresenceEntry[]).every((e) => e.node !== dead),
      'the dead worker’s entries to leave presence',
      CLUSTER_WAIT_MS,
    );
    const survivors = entries.filter((e) => e.node !== dead);
    assert.ok(survivors.length > 0 && survivors.length < entries.length);
    assert.deepEqual(await apiGet(herald, `/v1/presence-stats?topic=${topic}`), { clients: survivors.length, users: survivors.length });
    await waitUntil(async () => {
      const ids = ((await apiGet(herald, '/v1/info')).nodes as { id: string }[]).map((n) => n.id);
      return ids.length === 2 && !ids.includes(dead) && ids.some((id) => !before.includes(id));
    }, 'the replacement worker in info', CLUSTER_WAIT_MS);
  });
});
