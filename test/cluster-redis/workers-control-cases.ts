/**
 * The server API of `--workers 2` on an engine with a control plane (the Redis
 * and NATS test files call {@link runWorkersControlCases}): each worker is a
 * node of the cluster (its own node id, `<base>-w<k>`), the primary a plane that
 * only asks. Presence lists alice on both workers, info lists the two workers
 * (not the primary), and disconnect closes her connections on both.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { HeraldProcess } from '../helpers/herald-process.js';
import { waitUntil } from '../helpers/wait.js';
import { CLUSTER_WAIT_MS, ClusterClient, JWT_SECRET, terminateAll, tokenFor, uniqueName, apiGet, type PresenceEntry } from './cluster-client.js';
import type { ProcessClusterBackend } from './control-plane-cases.js';

export function runWorkersControlCases(engine: string, backend: ProcessClusterBackend): void {
  describe(`--engine ${engine} --workers 2: the server API answers for both workers`, { timeout: 120_000 }, () => {
    let herald: HeraldProcess;
    const clients: ClusterClient[] = [];

    before(async () => {
      herald = await HeraldProcess.start({ name: `${engine}-workers`, ...backend.options, args: ['--workers', '2', '--jwt-secret', JWT_SECRET, '--node-id', 'rw', '--presence'] });
    });
    after(async () => {
      terminateAll(clients);
      await herald.stop();
      await backend.cleanup();
    });

    it('presence lists alice on both workers (one user), info the two workers; disconnect closes her everywhere with 4100', async () => {
      const topic = uniqueName('room');
      let entries: PresenceEntry[] = [];
      // The kernel decides which worker takes a connection: open them until both hold some.
      for (let i = 0; i < 40 && new Set(entries.map((e) => e.node)).size < 2; i++) {
        const client = await ClusterClient.connect(herald.wsUrl, { name: `alice#${i}` });
        clients.push(client);
        await client.login(await tokenFor('alice'), 'alice');
        await client.subscribe(topic);
        // Presence reaches the engine asynchronously: wait until this client is listed.
        await waitUntil(async () => (await apiGet(herald, `/v1/presence-stats?topic=${topic}`)).clients === clients.length, 'the presence entry', CLUSTER_WAIT_MS);
        entries = (await apiGet(herald, `/v1/presence?topic=${topic}&limit=1000`)).clients as PresenceEntry[];
      }
      const nodes = [...new Set(entries.map((e) => e.node))].sort();
      assert.deepEqual(nodes.length, 2, 'clients on both workers');
      for (const node of nodes) assert.match(node, /^rw-w\d+$/);
      assert.deepEqual(await apiGet(herald, `/v1/presence-stats?topic=${topic}`), { clients: clients.length, users: 1 });
      assert.deepEqual(((await apiGet(herald, '/v1/info')).nodes as { id: string }[]).map((n) => n.id), nodes);

      const res = await herald.request('/v1/disconnect', { method: 'POST', body: JSON.stringify({ uid: 'alice' }) });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.json, { disconnected: clients.length });
      for (const client of clients) assert.equal((await client.closed()).code, 4100);
      await waitUntil(async () => (await apiGet(herald, `/v1/presence-stats?topic=${topic}`)).clients === 0, 'presence to empty', CLUSTER_WAIT_MS);
    });
  });
}
