/**
 * The control plane of `--workers N` with the memory engine: the primary
 * serves the server API, its N workers hold the connections, and they meet
 * over the `node:cluster` IPC channel.
 *
 * - `ClusterWorkerControl` (`cluster-worker-control.ts`) is each worker's
 *   `ControlPlane`: presence adds and removes, join/leave watches and events
 *   made in one event-loop turn travel as one ordered message to the primary
 *   (as the primary batches publications); the primary's requests are
 *   answered through the worker node's `ControlHandler`; its reads are asked
 *   of the primary.
 * - {@link ClusterPrimaryControl} is the primary's: presence of the whole
 *   process group in one {@link PresenceIndex} (`presenceStats` stays O(1)),
 *   with each entry also filed under the worker that reported it, so a worker
 *   that exits takes its entries with it at once (the primary sees the exit;
 *   no TTL is needed). `command`, `info` and `channels` are scatter-gathered
 *   from the ready workers, each answer awaited at most `replyTimeoutMs` (a
 *   worker that does not answer is left out). Join/leave events are forwarded
 *   to the workers watching their topic, the reporting worker included.
 *
 * Messages are checked on arrival (`cluster-control-messages.ts`); a
 * malformed one is reported through `onError` and ignored.
 */
import type { Worker } from 'node:cluster';
import type { Logger } from 'pino';
import type { ControlPlaneConfig } from '../control/create-control-plane.js';
import { randomNodeId } from '../control/memory-control-plane.js';
import { natsControlPlaneFromConfig, redisControlPlaneFromConfig } from '../control/create-control-plane.js';
import type {
  ChannelCount,
  ControlCommand,
  ControlHandler,
  ControlPlane,
  JoinLeaveEvent,
  NodeInfo,
  PresenceEntry,
  PresenceStats,
} from '../control/control-plane.js';
import { mergeChannels } from '../control/merge-channels.js';
import { PresenceIndex } from '../control/presence-index.js';
import { EngineUnavailableError } from '../engine/engine.js';
import {
  describeMessage,
  parseControlToPrimary,
  type ControlAnswer,
  type ControlOp,
  type ControlQuestion,
  type ControlRequestBody,
  type ControlToPrimary,
  type ControlToWorker,
  type WireJoinLeave,
} from './cluster-control-messages.js';

/** How long the primary waits for the workers' answers, and a worker for the primary's; default 2,000 ms. */
export const DEFAULT_REPLY_TIMEOUT_MS = 2_000;

/**
 * The node id of worker `workerId` under the primary's id `base`:
 * `<base>-w<workerId>` (a replacement worker gets a new `node:cluster` id, so
 * a new node id), `base` cut so the whole stays within 64 characters.
 */
export function workerNodeId(base: string, workerId: number): string {
  const suffix = `-w${workerId}`;
  return `${base.slice(0, 64 - suffix.length)}${suffix}`;
}

/**
 * The primary's control plane for the configured engine, and the id its
 * workers' node ids start with (`--node-id`, or random). Memory: a
 * {@link ClusterPrimaryControl} (also returned as `ipcControl`, which the
 * primary feeds with its workers' messages). Redis: a `RedisControlPlane`
 * with `member: false`; NATS: a `NatsControlPlane` with `member: false`.
 */
export function primaryControlPlane(
  config: ControlPlaneConfig,
  logger: Logger,
): { control: ControlPlane; ipcControl?: ClusterPrimaryControl; baseNodeId: string } {
  const baseNodeId = config.nodeId ?? randomNodeId();
  if (config.engine === 'redis') {
    const nodeId = `${baseNodeId.slice(0, 56)}-primary`;
    return { control: redisControlPlaneFromConfig({ ...config, nodeId, member: false }, logger), baseNodeId };
  }
  if (config.engine === 'nats') {
    const nodeId = `${baseNodeId.slice(0, 56)}-primary`;
    return { control: natsControlPlaneFromConfig({ ...config, nodeId, member: false }, logger), baseNodeId };
  }
  const ipcControl = new ClusterPrimaryControl({
    nodeId: baseNodeId,
    onError: (error) => logger.warn({ err: error.message }, 'control plane: IPC'),
  });
  return { control: ipcControl, ipcControl, baseNodeId };
}

/**
 * The handler of a control plane that holds no connections (the primary's):
 * it is never asked (its planes have no local part), and would answer nothing.
 */
export const NO_LOCAL_NODE: ControlHandler = {
  apply: () => 0,
  localInfo: () => ({ id: '', address: '', connections: 0, subscriptions: 0, uptimeMs: 0, version: '' }),
  localChannels: () => [],
  onJoinLeave: () => {},
};

/** What the primary holds of one worker. */
interface WorkerRecord {
  readonly nodeId: string;
  /** Its node has started: it is asked in scatter-gathers. */
  ready: boolean;
  /** Its presence entries: topic → client ids (to drop them when it exits). */
  readonly presence: Map<string, Set<string>>;
  /** Topics it watches for join/leave. */
  readonly watching: Set<string>;
}

/** An outstanding scatter-gather of the primary. */
interface Gathering {
  /** Workers that have not answered yet. */
  readonly waiting: Set<Worker>;
  readonly answers: Extract<ControlToPrimary, { t: 'cr' }>[];
  check(): void;
}

export interface ClusterPrimaryControlOptions {
  /** The primary's id (used for nothing a client sees: the primary holds no connections). */
  nodeId: string;
  replyTimeoutMs?: number;
  /** A malformed message from a worker, or a failed send. */
  onError?(error: Error): void;
}

/** The `--workers` primary's control plane (memory engine); see the module comment. */
export class ClusterPrimaryControl implements ControlPlane {
  readonly nodeId: string;
  private readonly replyTimeoutMs: number;
  private readonly onError: (error: Error) => void;
  private readonly workers = new Map<Worker, WorkerRecord>();
  private readonly index = new PresenceIndex();
  private readonly watchers = new Map<string, Set<Worker>>();
  private readonly gatherings = new Map<number, Gathering>();
  private nextId = 1;
  private closed = false;

  constructor(options: ClusterPrimaryControlOptions) {
    this.nodeId = options.nodeId;
    this.replyTimeoutMs = options.replyTimeoutMs ?? DEFAULT_REPLY_TIMEOUT_MS;
    this.onError = options.onError ?? (() => {});
  }

  /** A worker was forked with node id `nodeId`: its reports are accepted from now on. */
  attach(worker: Worker, nodeId: string): void {
    this.workers.set(worker, { nodeId, ready: false, presence: new Map(), watching: new Set() });
  }

  /** Its node started: it is asked from now on. */
  ready(worker: Worker): void {
    const record = this.workers.get(worker);
    if (record !== undefined) record.ready = true;
  }

  /** It exited: its presence entries and watches go at once, and nothing waits for its answers. */
  detach(worker: Worker): void {
    const record = this.workers.get(worker);
    if (record === undefined) return;
    this.workers.delete(worker);
    for (const [topic, clients] of record.presence) for (const client of clients) this.index.remove(topic, client);
    for (const topic of record.watching) this.unwatch(worker, topic);
    for (const gathering of this.gatherings.values()) if (gathering.waiting.delete(worker)) gathering.check();
  }

  /**
   * A message from `worker`: true when it was a control message (handled, or
   * malformed and reported), false when it is none of this plane's.
   */
  receive(worker: Worker, message: unknown): boolean {
    const parsed = parseControlToPrimary(message);
    if (parsed === null) return false;
    const record = this.workers.get(worker);
    if (parsed === undefined) {
      this.onError(new Error(`malformed control message from worker ${worker.id}: ${describeMessage(message)}`));
    } else if (record !== undefined && !this.closed) {
      if (parsed.t === 'cp') this.apply(worker, record, parsed.ops);
      else if (parsed.t === 'cr') this.answered(worker, parsed);
      else this.ask(worker, parsed.id, parsed.q);
    }
    return true;
  }

  async start(_handler: ControlHandler): Promise<void> {}

  async command(command: ControlCommand): Promise<number> {
    let total = 0;
    for (const answer of await this.gather({ kind: 'command', command })) total += answer.affected ?? 0;
    return total;
  }

  async info(): Promise<NodeInfo[]> {
    const nodes: NodeInfo[] = [];
    for (const answer of await this.gather({ kind: 'info' })) if (answer.info !== undefined) nodes.push(answer.info);
    return nodes.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async channels(pattern: string | undefined, cursor: string | undefined, limit: number): Promise<{ channels: ChannelCount[]; cursor?: string }> {
    if (!(limit >= 1)) return { channels: [] };
    const lists: ChannelCount[][] = [];
    for (const answer of await this.gather({ kind: 'channels', pattern, after: cursor, limit })) {
      if (answer.channels !== undefined) lists.push(answer.channels);
    }
    return mergeChannels(lists, limit);
  }

  /** The primary holds no connections: presence comes from the workers' reports only. */
  presenceAdd(_topic: string, _entry: PresenceEntry): void {}

  presenceRemove(_topic: string, _entry: PresenceEntry): void {}

  async presence(topic: string, limit: number): Promise<PresenceEntry[]> {
    return this.index.list(topic, limit);
  }

  async presenceStats(topic: string): Promise<PresenceStats> {
    return this.index.stats(topic);
  }

  publishJoinLeave(event: JoinLeaveEvent): void {
    const { kind, topic, entry } = event;
    this.forward([[kind, topic, entry.client, entry.uid, entry.node, entry.connectedAt]]);
  }

  /** The primary has no subscribers of its own. */
  watchJoinLeave(_topic: string, _watching: boolean): void {}

  async close(): Promise<void> {
    this.closed = true;
    for (const gathering of this.gatherings.values()) gathering.check();
    this.index.clear();
    this.watchers.clear();
  }

  /** One worker's reports of one turn, in order. */
  private apply(worker: Worker, record: WorkerRecord, ops: ControlOp[]): void {
    const events: WireJoinLeave[] = [];
    for (const op of ops) {
      switch (op[0]) {
        case '+': {
          const [, topic, client, uid, connectedAt] = op;
          this.index.add(topic, { client, uid, node: record.nodeId, connectedAt });
          let clients = record.presence.get(topic);
          if (clients === undefined) record.presence.set(topic, (clients = new Set()));
          clients.add(client);
          break;
        }
        case '-': {
          const [, topic, client] = op;
          const clients = record.presence.get(topic);
          // Only its own entries: a worker cannot remove another's.
          if (clients === undefined || !clients.delete(client)) break;
          if (clients.size === 0) record.presence.delete(topic);
          this.index.remove(topic, client);
          break;
        }
        case 'w': {
          const [, topic, watching] = op;
          if (watching) {
            record.watching.add(topic);
            let set = this.watchers.get(topic);
            if (set === undefined) this.watchers.set(topic, (set = new Set()));
            set.add(worker);
          } else if (record.watching.delete(topic)) {
            this.unwatch(worker, topic);
          }
          break;
        }
        case 'j': {
          const [, kind, topic, client, uid, connectedAt] = op;
          events.push([kind, topic, client, uid, record.nodeId, connectedAt]);
          break;
        }
      }
    }
    if (events.length > 0) this.forward(events);
  }

  /** Join/leave events to the workers watching their topics: one message per worker. */
  private forward(events: WireJoinLeave[]): void {
    const byWorker = new Map<Worker, WireJoinLeave[]>();
    for (const event of events) {
      const watching = this.watchers.get(event[1]);
      if (watching === undefined) continue;
      for (const worker of watching) {
        const list = byWorker.get(worker);
        if (list === undefined) byWorker.set(worker, [event]);
        else list.push(event);
      }
    }
    for (const [worker, list] of byWorker) this.send(worker, { t: 'jl', events: list });
  }

  private unwatch(worker: Worker, topic: string): void {
    const set = this.watchers.get(topic);
    if (set === undefined) return;
    set.delete(worker);
    if (set.size === 0) this.watchers.delete(topic);
  }

  /** Ask every ready worker; done when all have answered, have exited, or after `replyTimeoutMs`. */
  private gather(q: ControlRequestBody): Promise<Extract<ControlToPrimary, { t: 'cr' }>[]> {
    if (this.closed) return Promise.reject(new EngineUnavailableError('control plane is closed'));
    const id = this.nextId++;
    const targets = [...this.workers].filter(([worker, record]) => record.ready && worker.isConnected()).map(([worker]) => worker);
    return new Promise((resolve) => {
      const finish = (): void => {
        clearTimeout(timer);
        this.gatherings.delete(id);
        resolve(gathering.answers);
      };
      const timer = setTimeout(finish, this.replyTimeoutMs);
      const gathering: Gathering = {
        waiting: new Set(targets),
        answers: [],
        check: () => {
          if (this.closed || gathering.waiting.size === 0) finish();
        },
      };
      this.gatherings.set(id, gathering);
      for (const worker of targets) {
        this.send(worker, { t: 'cq', id, q }, () => {
          if (gathering.waiting.delete(worker)) gathering.check();
        });
      }
      gathering.check();
    });
  }

  private answered(worker: Worker, reply: Extract<ControlToPrimary, { t: 'cr' }>): void {
    const gathering = this.gatherings.get(reply.id);
    if (gathering === undefined || !gathering.waiting.delete(worker)) return; // late, or not asked
    gathering.answers.push(reply);
    gathering.check();
  }

  /** A worker's node asks: answered from this plane. */
  private ask(worker: Worker, id: number, q: ControlQuestion): void {
    let pending: Promise<ControlAnswer>;
    switch (q.kind) {
      case 'command':
        pending = this.command(q.command);
        break;
      case 'info':
        pending = this.info();
        break;
      case 'channels':
        pending = this.channels(q.pattern, q.after, q.limit);
        break;
      case 'presence':
        pending = this.presence(q.topic, q.limit);
        break;
      case 'presenceStats':
        pending = this.presenceStats(q.topic);
        break;
    }
    pending.then(
      (value) => this.send(worker, { t: 'cv', id, value }),
      (error: unknown) => this.send(worker, { t: 'cv', id, error: (error as Error).message }),
    );
  }

  private send(worker: Worker, message: ControlToWorker, failed?: () => void): void {
    const report = (error: Error): void => {
      this.onError(error);
      failed?.();
    };
    if (!worker.isConnected()) return failed?.();
    try {
      worker.send(message, undefined, undefined, (error: Error | null) => {
        if (error) report(error);
      });
    } catch (error) {
      report(error as Error);
    }
  }
}
