import { Redis, type Cluster } from 'ioredis';

/**
 * Keeps the engine's scripts in the script cache of every node of a Redis
 * Cluster, replicas included. ioredis sends EVALSHA and, on NOSCRIPT, the
 * script again with EVAL: concurrent publishes failing NOSCRIPT together would
 * run in the order of their retries, not of their calls. A node's script cache
 * is its own (not replicated), and ioredis (reading from masters) does not
 * connect to replicas, so the replicas are found with CLUSTER SLOTS: a replica
 * promoted by a failover already knows the scripts. Nodes are loaded once per
 * appearance in the slot map (one that left it and came back — restarted,
 * with an empty cache — is loaded again).
 */
export class ClusterScriptLoader {
  private readonly loaded = new Set<string>();
  private running: Promise<void> | null = null;

  constructor(
    private readonly cluster: Cluster,
    private readonly scripts: string[],
    private readonly timeoutMs: number,
  ) {}

  /** Load the scripts on every node of the slot map not loaded yet (one pass at a time). */
  sync(): Promise<void> {
    this.running ??= this.pass().finally(() => (this.running = null));
    return this.running;
  }

  private async pass(): Promise<void> {
    let slots: unknown[];
    try {
      slots = (await this.cluster.call('CLUSTER', 'SLOTS')) as unknown[];
    } catch {
      return; // the next refresh tries again; meanwhile EVAL stands in (see above)
    }
    const nodes = new Set<string>();
    for (const range of slots) {
      if (!Array.isArray(range)) continue;
      for (const node of range.slice(2)) {
        if (Array.isArray(node) && node.length >= 2) nodes.add(`${String(node[0])}:${String(node[1])}`);
      }
    }
    for (const node of this.loaded) if (!nodes.has(node)) this.loaded.delete(node);
    await Promise.all([...nodes].filter((node) => !this.loaded.has(node)).map((node) => this.load(node)));
  }

  private async load(node: string): Promise<void> {
    const colon = node.lastIndexOf(':');
    const redis = new Redis({
      host: node.slice(0, colon),
      port: Number(node.slice(colon + 1)),
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      connectTimeout: this.timeoutMs,
      commandTimeout: this.timeoutMs,
    });
    redis.on('error', () => {});
    try {
      await redis.connect();
      await Promise.all(this.scripts.map((script) => redis.script('LOAD', script)));
      this.loaded.add(node);
    } catch {
      // not loaded: tried again on the next refresh
    } finally {
      redis.disconnect();
    }
  }
}
