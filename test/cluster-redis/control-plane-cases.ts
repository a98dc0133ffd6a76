/**
 * The control plane across processes, on any engine that has one (the Redis
 * and NATS test files call {@link runProcessControlPlaneCases}): Herald nodes
 * (child processes of dist/src/main.js). What a backend
 * asks one node answers for the whole cluster: presence, presence-stats,
 * channels and info list clients and nodes everywhere; disconnect and
 * server-side subscribe reach connections on every node; join/leave events
 * cross nodes; a node that is SIGKILLed leaves presence and info within its
 * presence TTL.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { HeraldProcess, startHeralds, stopAll } from '../helpers/herald-process.js';
import { waitUntil } from '../helpers/wait.js';
import { CLUSTER_WAIT_MS, ClusterClient, JWT_SECRET, terminateAll, tokenFor, uniqueName } from './cluster-client.js';

/** Where the nodes meet: their engine options (`redisUrl` or `natsUrl`, and `prefix`), and what to clean after. */
export interface ProcessClusterBackend {
  options: { redisUrl?: string; natsUrl?: string; prefix: string };
  cleanup(): Promise<void>;
}
const ARGS = ['--jwt-secret', JWT_SECRET, '--presence-ttl', '2s', '--join-leave', '--presence'];

async function post(node: HeraldProcess, path: string, body: unknown): Promise<{ status: number; json: any }> {
  const res = await node.request(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: res.json };
}

async function get(node: HeraldProcess, path: string): Promise<{ status: number; json: any }> {
  const res = await node.request(path);
  return { status: res.status, json: res.json };
}

export function runProcessControlPlaneCases(where: string, backend: ProcessClusterBackend): void {
  describe(`control plane: three Herald processes on ${where}`, { timeout: 120_000 }, () => {
    let A: HeraldProcess;
    let B: HeraldProcess;
    let C: HeraldProcess;
    const clients = new Set<ClusterClient>();
    const connect = async (node: HeraldProcess, name: string, heraldV1 = false): Promise<ClusterClient> => {
      const client = await ClusterClient.connect(node.wsUrl, { name, heraldV1 });
      clients.add(client);
      return client;
    };

    before(async () => {
      [A, B, C] = await startHeralds(['A', 'B', 'C'], { ...backend.options, args: ARGS });
    });
    afterEach(() => {
      terminateAll(clients);
      clients.clear();
    });
    after(async () => {
      terminateAll(clients);
      await stopAll([A, B, C]);
      await backend.cleanup();
    });

    it('presence and presence-stats on B list clients connected to A and C; channels and info are cluster-wide', async () => {
      const topic = uniqueName('room');
      const onA = await connect(A, 'onA');
      const onC = await connect(C, 'onC');
      await onA.login(await tokenFor('alice'), 'alice');
      await onA.subscribe(topic);
      await onC.subscribe(topic); // anonymous: a client, not a user
      await waitUntil(async () => (await get(B, `/v1/presence-stats?topic=${topic}`)).json?.clients === 2, 'presence-stats on B', CLUSTER_WAIT_MS);
      assert.deepEqual((await get(B, `/v1/presence-stats?topic=${topic}`)).json, { clients: 2, users: 1 });
      const presence = await get(B, `/v1/presence?topic=${topic}`);
      assert.equal(presence.status, 200);
      const entries = (presence.json.clients as { uid: string; node: string; client: string }[]).sort((x, y) => x.uid.localeCompare(y.uid));
      assert.deepEqual(entries.map((e) => e.uid), ['', 'alice']);
      assert.notEqual(entries[0].node, entries[1].node, 'the two clients are on two nodes');
      for (const e of entries) assert.ok(e.client.startsWith(`${e.node}.`), `client id ${e.client} starts with its node ${e.node}`);

      const channels = await get(C, `/v1/channels?pattern=${topic.slice(0, 4)}*`);
      assert.equal(channels.status, 200);
      assert.deepEqual(
        (channels.json.channels as { topic: string; subscribers: number }[]).filter((c) => c.topic === topic),
        [{ topic, subscribers: 2 }],
      );
      const info = await get(A, '/v1/info');
      assert.equal(info.status, 200);
      assert.equal(info.json.nodes.length, 3, JSON.stringify(info.json));
      const total = (info.json.nodes as { connections: number }[]).reduce((sum, n) => sum + n.connections, 0);
      assert.ok(total >= 2, `info counts the connections of every node (${total})`);
    });

    it('disconnect sent to B closes alice’s connections on A and C with the code; others stay', async () => {
      const alice1 = await connect(A, 'alice@A');
      const alice2 = await connect(C, 'alice@C');
      const bob = await connect(A, 'bob@A');
      await alice1.login(await tokenFor('alice'), 'alice');
      await alice2.login(await tokenFor('alice'), 'alice');
      await bob.login(await tokenFor('bob'), 'bob');
      const res = await post(B, '/v1/disconnect', { uid: 'alice', code: 4100, reason: 'banned' });
      assert.equal(res.status, 200);
      assert.deepEqual(res.json, { disconnected: 2 });
      assert.deepEqual(await alice1.closed(), { code: 4100, reason: 'banned' });
      assert.deepEqual(await alice2.closed(), { code: 4100, reason: 'banned' });
      await bob.subscribe(uniqueName('still-here'));
      assert.equal(bob.closeEvent, undefined);
      assert.deepEqual((await post(B, '/v1/disconnect', { uid: 'nobody-at-all' })).json, { disconnected: 0 });
    });

    it('a server-side subscribe through C makes a client on A receive 20005 and the next push (made through B)', async () => {
      const topic = uniqueName('served');
      const carol = await connect(A, 'carol@A');
      await carol.login(await tokenFor('carol'), 'carol');
      const res = await post(C, '/v1/subscribe', { uid: 'carol', topic });
      assert.equal(res.status, 200);
      assert.deepEqual(res.json, { subscribed: 1 });
      const told = await carol.nextReply(20005);
      assert.equal((told as unknown as { topic: string }).topic, topic);
      await waitUntil(async () => (await B.request('/v1/pushData', {
        method: 'POST',
        body: JSON.stringify({ topic, data: Buffer.from('after-server-subscribe').toString('base64') }),
      })).status === 200 && carol.data.includes('after-server-subscribe'), 'the push to reach carol', CLUSTER_WAIT_MS);
      assert.deepEqual((await post(B, '/v1/unsubscribe', { uid: 'carol', topic })).json, { unsubscribed: 1 });
      await carol.nextReply(20006);
    });

    it('join and leave of a topic reach a herald.v1 watcher on another node', async () => {
      const topic = uniqueName('lobby');
      const watcher = await connect(A, 'watcher@A', true);
      await watcher.command({ code: 1, topic, joinLeave: true }, 20001);
      const joiner = await connect(C, 'joiner@C');
      await joiner.login(await tokenFor('dave'), 'dave');
      await joiner.subscribe(topic);
      type JoinLeave = { type?: string; uid?: string; topic?: string };
      const events = (): JoinLeave[] => watcher.deliveries.map((d) => d.envelope as unknown as JoinLeave).filter((e) => e?.type !== undefined);
      await watcher.waitFor(() => events().some((e) => e.type === 'join' && e.uid === 'dave'), 'dave’s join');
      joiner.terminate();
      await watcher.waitFor(() => events().some((e) => e.type === 'leave' && e.uid === 'dave'), 'dave’s leave');
      assert.ok(events().every((e) => e.topic === topic));
    });

    it('a SIGKILLed node’s clients leave presence, and the node leaves info, within the presence TTL', async () => {
      const [D] = await startHeralds(['D'], { ...backend.options, args: ARGS });
      try {
        const topic = uniqueName('doomed');
        const onD = await connect(D, 'onD');
        const onA = await connect(A, 'onA');
        await onD.subscribe(topic);
        await onA.subscribe(topic);
        await waitUntil(async () => (await get(B, `/v1/presence-stats?topic=${topic}`)).json?.clients === 2, 'both in presence', CLUSTER_WAIT_MS);
        await waitUntil(async () => (await get(B, '/v1/info')).json?.nodes?.length === 4, 'D in info', CLUSTER_WAIT_MS);
        await D.kill();
        await waitUntil(async () => (await get(B, `/v1/presence-stats?topic=${topic}`)).json?.clients === 1, 'D’s client to leave presence', CLUSTER_WAIT_MS);
        const left = await get(B, `/v1/presence?topic=${topic}`);
        assert.equal(left.json.clients.length, 1);
        await waitUntil(async () => (await get(B, '/v1/info')).json?.nodes?.length === 3, 'D to leave info', CLUSTER_WAIT_MS);
      } finally {
        await D.kill().catch(() => undefined);
      }
    });

    it('bad input gets a clear 400 and changes nothing', async () => {
      for (const [path, body] of [
        ['/v1/disconnect', {}],
        ['/v1/disconnect', { uid: 'x', code: 1000 }],
        ['/v1/subscribe', { uid: 'x' }],
        ['/v1/subscribe', { uid: 'x', topic: '' }],
      ] as const) {
        const res = await post(B, path, body);
        assert.equal(res.status, 400, `${path} ${JSON.stringify(body)}`);
        assert.equal(typeof res.json.error.code, 'string');
      }
      assert.equal((await get(B, '/v1/presence')).status, 400);
    });
  });
}
