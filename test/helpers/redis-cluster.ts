/**
 * A Redis Cluster of the test's own: 3 masters + 3 replicas of Debian's
 * redis-server on free loopback ports (each also needs port+10000 for the
 * cluster bus), in the foreground so their PIDs are known, created with
 * `redis-cli --cluster create … --cluster-replicas 1`. One cluster per test
 * file; `stop()` in `after` SIGKILLs exactly the processes it started.
 * Never touches the shared Redis on 6379.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { waitUntil } from './wait.js';

const HOST = '127.0.0.1';

/** False, after a short pause: a failed poll of the cluster waits before the next. */
async function pause(): Promise<false> {
  await sleep(100);
  return false;
}

/** True when nothing listens on `port` of loopback. */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, HOST, () => server.close(() => resolve(true)));
  });
}

/** An ephemeral port below 55535 whose cluster-bus port (+10000) is free too. */
async function freeClusterPort(taken: Set<number>): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, HOST, () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
      });
    });
    const candidate = port > 55_000 ? 20_000 + (port % 30_000) : port;
    if (taken.has(candidate) || taken.has(candidate + 10_000)) continue;
    if ((await portFree(candidate)) && (await portFree(candidate + 10_000))) return candidate;
  }
  throw new Error('no free port pair for a cluster node');
}

/** One redis-server of the cluster. */
export class ClusterNode {
  child: ChildProcess | null = null;
  constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly nodeTimeoutMs: number,
  ) {}

  get url(): string {
    return `redis://${HOST}:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== null;
  }

  launch(): void {
    const args = [
      '--port', String(this.port), '--bind', HOST, '--cluster-announce-ip', HOST,
      '--cluster-enabled', 'yes', '--cluster-config-file', join(this.dir, `nodes-${this.port}.conf`),
      '--cluster-node-timeout', String(this.nodeTimeoutMs),
      '--dir', this.dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no',
    ];
    this.child = spawn('redis-server', args, { stdio: 'ignore' });
  }

  /** A plain (non-cluster) connection to this node; the caller quits it. */
  client(): Redis {
    return new Redis({ host: HOST, port: this.port, maxRetriesPerRequest: 1, lazyConnect: false });
  }

  /** SIGKILL by PID and wait for the exit. */
  async kill(): Promise<void> {
    const child = this.child;
    if (child === null) return;
    this.child = null;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    process.kill(child.pid as number, 'SIGKILL');
    await exited;
  }
}

/** What `CLUSTER NODES` says of one node. */
export interface ClusterNodeInfo {
  id: string;
  port: number;
  master: boolean;
  failed: boolean;
  /** Slot ranges it serves, [from, to] inclusive (masters). */
  slots: [number, number][];
}

export class RedisCluster {
  private constructor(
    readonly nodes: ClusterNode[],
    private readonly dir: string,
  ) {}

  /** Seed URLs of every node. */
  get urls(): string[] {
    return this.nodes.map((node) => node.url);
  }

  /**
   * Start 3 masters + 3 replicas (or, with `masters: 1`, one master serving
   * every slot and no replica: `redis-cli --cluster create` wants 3) and wait
   * until every node says cluster_state:ok.
   */
  static async start(options: { nodeTimeoutMs?: number; masters?: 1 | 3 } = {}): Promise<RedisCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'herald-rcluster-'));
    const taken = new Set<number>();
    const nodes: ClusterNode[] = [];
    const single = options.masters === 1;
    for (let i = 0; i < (single ? 1 : 6); i++) {
      const port = await freeClusterPort(taken);
      taken.add(port);
      taken.add(port + 10_000);
      nodes.push(new ClusterNode(port, dir, options.nodeTimeoutMs ?? 2_000));
    }
    const cluster = new RedisCluster(nodes, dir);
    try {
      for (const node of nodes) node.launch();
      for (const node of nodes) await waitUntil(() => cluster.answers(node), `cluster node ${node.port} up`);
      if (single) {
        await cluster.command(nodes[0], ['CLUSTER', 'ADDSLOTSRANGE', 0, 16_383]);
        await cluster.waitHealthy();
        return cluster;
      }
      const created = spawnSync(
        'redis-cli',
        ['--cluster', 'create', ...nodes.map((node) => `${HOST}:${node.port}`), '--cluster-replicas', '1', '--cluster-yes'],
        { encoding: 'utf8', timeout: 60_000 },
      );
      if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`);
      await cluster.waitHealthy();
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  /** Every running node reports cluster_state:ok and all 16384 slots served by a master that is up. */
  async waitHealthy(timeoutMs = 30_000): Promise<void> {
    await waitUntil(async () => {
      for (const node of this.nodes) {
        if (!node.running) continue;
        const info = await this.command(node, ['CLUSTER', 'INFO']);
        if (typeof info !== 'string' || !info.includes('cluster_state:ok')) return pause();
        // A replica that never synced refuses to fail over (its data counts as too old): wait for its link.
        const replication = String(await this.command(node, ['INFO', 'replication']));
        if (replication.includes('role:slave') && !replication.includes('master_link_status:up')) return pause();
      }
      const topology = await this.topology();
      const live = new Set(this.nodes.filter((node) => node.running).map((node) => node.port));
      let served = 0;
      for (const info of topology) {
        if (!info.master || info.failed || !live.has(info.port)) continue;
        for (const [from, to] of info.slots) served += to - from + 1;
      }
      return served === 16_384 || pause();
    }, 'a healthy redis cluster', timeoutMs);
  }

  /** CLUSTER NODES of a running node, parsed. */
  async topology(): Promise<ClusterNodeInfo[]> {
    const node = this.nodes.find((candidate) => candidate.running);
    if (node === undefined) throw new Error('no cluster node running');
    const text = (await this.command(node, ['CLUSTER', 'NODES'])) as string;
    return text
      .trim()
      .split('\n')
      .map((line) => {
        const parts = line.split(' ');
        const port = Number(parts[1].split('@')[0].split(':')[1]);
        const slots: [number, number][] = [];
        for (const part of parts.slice(8)) {
          if (part.startsWith('[')) continue; // a migrating/importing marker
          const [from, to] = part.split('-').map(Number);
          slots.push([from, to ?? from]);
        }
        return { id: parts[0], port, master: parts[2].includes('master'), failed: parts[2].split(',').includes('fail'), slots };
      });
  }

  /** The running node serving `slot` as master. */
  async masterOf(slot: number): Promise<ClusterNode> {
    for (const info of await this.topology()) {
      if (!info.master || info.failed) continue;
      if (info.slots.some(([from, to]) => slot >= from && slot <= to)) {
        const node = this.nodes.find((candidate) => candidate.port === info.port && candidate.running);
        if (node !== undefined) return node;
      }
    }
    throw new Error(`no master serves slot ${slot}`);
  }

  /** The running masters. */
  async masters(): Promise<ClusterNode[]> {
    const ports = new Set((await this.topology()).filter((info) => info.master && !info.failed && info.slots.length > 0).map((info) => info.port));
    return this.nodes.filter((node) => node.running && ports.has(node.port));
  }

  /** The node id of a node. */
  async idOf(node: ClusterNode): Promise<string> {
    return String(await this.command(node, ['CLUSTER', 'MYID']));
  }

  /** One command on one node over a short-lived connection. */
  async command(node: ClusterNode, args: (string | number)[]): Promise<unknown> {
    const redis = new Redis({ host: HOST, port: node.port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000 });
    redis.on('error', () => {});
    try {
      await redis.connect();
      return await redis.call(String(args[0]), ...args.slice(1).map(String));
    } finally {
      redis.disconnect();
    }
  }

  private async answers(node: ClusterNode): Promise<boolean> {
    try {
      return (await this.command(node, ['PING'])) === 'PONG';
    } catch {
      await sleep(20);
      return false;
    }
  }

  /** SIGKILL every node this cluster started and remove its directory. */
  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.kill()));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
