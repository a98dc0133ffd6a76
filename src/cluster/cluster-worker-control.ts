/**
 * A `--workers` worker's control plane with the memory engine: its node's
 * presence reports, join/leave watches and events go to the primary (one
 * ordered message per event-loop turn), the primary's requests are answered
 * through the node's `ControlHandler`, and the node's reads (presence for
 * client ops 7/8…) are asked of the primary. See `cluster-control.ts` for the
 * primary's side.
 */
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
import { EngineUnavailableError } from '../engine/engine.js';
import {
  answerFits,
  describeMessage,
  parseControlToWorker,
  type ControlAnswer,
  type ControlOp,
  type ControlQuestion,
  type ControlRequestBody,
  type ControlToPrimary,
  type ControlToWorker,
  type WireJoinLeave,
} from './cluster-control-messages.js';
import { DEFAULT_REPLY_TIMEOUT_MS } from './cluster-control.js';

export interface ClusterWorkerControlOptions {
  /** This worker's node id (see {@link workerNodeId}). */
  nodeId: string;
  /** Sends a message to the primary (`process.send`). */
  send(message: ControlToPrimary): void;
  /** How long a read waits for the primary; default 2,000 ms more than the primary's gathering. */
  askTimeoutMs?: number;
  /** A malformed message from the primary, or the handler threw. */
  onError?(error: Error): void;
}

/** A question of this worker waiting for the primary. */
interface Asked {
  readonly kind: ControlQuestion['kind'];
  resolve(value: ControlAnswer): void;
  reject(error: Error): void;
  readonly timer: NodeJS.Timeout;
}

/** A `--workers` worker's control plane (memory engine); see the module comment. */
/** See the module comment. */
export class ClusterWorkerControl implements ControlPlane {
  readonly nodeId: string;
  private readonly options: ClusterWorkerControlOptions;
  private readonly askTimeoutMs: number;
  private readonly onError: (error: Error) => void;
  private handler: ControlHandler | null = null;
  private ops: ControlOp[] = [];
  private scheduled = false;
  private readonly watched = new Set<string>();
  private readonly asked = new Map<number, Asked>();
  private nextId = 1;
  private closed = false;

  constructor(options: ClusterWorkerControlOptions) {
    this.nodeId = options.nodeId;
    this.options = options;
    this.askTimeoutMs = options.askTimeoutMs ?? DEFAULT_REPLY_TIMEOUT_MS * 2;
    this.onError = options.onError ?? (() => {});
  }

  /** A message from the primary: true when it was a control message (handled, or malformed and reported). */
  receive(message: unknown): boolean {
    const parsed = parseControlToWorker(message);
    if (parsed === null) return false;
    if (parsed === undefined) {
      this.onError(new Error(`malformed control message from the primary: ${describeMessage(message)}`));
      return true;
    }
    if (parsed.t === 'cq') this.answer(parsed.id, parsed.q);
    else if (parsed.t === 'jl') this.deliver(parsed.events);
    else this.settle(parsed);
    return true;
  }

  async start(handler: ControlHandler): Promise<void> {
    this.handler = handler;
  }

  command(command: ControlCommand): Promise<number> {
    return this.question({ kind: 'command', command }) as Promise<number>;
  }

  info(): Promise<NodeInfo[]> {
    return this.question({ kind: 'info' }) as Promise<NodeInfo[]>;
  }

  channels(pattern: string | undefined, cursor: string | undefined, limit: number): Promise<{ channels: ChannelCount[]; cursor?: string }> {
    return this.question({ kind: 'channels', pattern, after: cursor, limit }) as Promise<{ channels: ChannelCount[]; cursor?: string }>;
  }

  presenceAdd(topic: string, entry: PresenceEntry): void {
    this.report(['+', topic, entry.client, entry.uid, entry.connectedAt]);
  }

  presenceRemove(topic: string, entry: PresenceEntry): void {
    this.report(['-', topic, entry.client]);
  }

  presence(topic: string, limit: number): Promise<PresenceEntry[]> {
    return this.question({ kind: 'presence', topic, limit }) as Promise<PresenceEntry[]>;
  }

  presenceStats(topic: string): Promise<PresenceStats> {
    return this.question({ kind: 'presenceStats', topic }) as Promise<PresenceStats>;
  }

  publishJoinLeave(event: JoinLeaveEvent): void {
    const { kind, topic, entry } = event;
    this.report(['j', kind, topic, entry.client, entry.uid, entry.connectedAt]);
  }

  watchJoinLeave(topic: string, watching: boolean): void {
    if (watching) this.watched.add(topic);
    else this.watched.delete(topic);
    this.report(['w', topic, watching]);
  }

  async close(): Promise<void> {
    this.flush();
    this.closed = true;
    this.handler = null;
    for (const [id, asked] of this.asked) {
      clearTimeout(asked.timer);
      this.asked.delete(id);
      asked.reject(new EngineUnavailableError('control plane is closed'));
    }
  }

  /** @internal Send what this turn reported, as one message. */
  flush(): void {
    this.scheduled = false;
    if (this.ops.length === 0) return;
    const ops = this.ops;
    this.ops = [];
    this.options.send({ t: 'cp', ops });
  }

  private report(op: ControlOp): void {
    if (this.closed) return;
    this.ops.push(op);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(flushControl, this);
    }
  }

  private question(q: ControlQuestion): Promise<ControlAnswer> {
    if (this.closed) return Promise.reject(new EngineUnavailableError('control plane is closed'));
    // What this node reported before asking reaches the primary first (the channel is FIFO).
    this.flush();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.asked.delete(id);
        reject(new EngineUnavailableError(`the primary did not answer within ${this.askTimeoutMs} ms`));
      }, this.askTimeoutMs);
      this.asked.set(id, { kind: q.kind, resolve, reject, timer });
      this.options.send({ t: 'ca', id, q });
    });
  }

  private settle(answer: Extract<ControlToWorker, { t: 'cv' }>): void {
    const asked = this.asked.get(answer.id);
    if (asked === undefined) return; // timed out already
    this.asked.delete(answer.id);
    clearTimeout(asked.timer);
    if (answer.error !== undefined) return asked.reject(new EngineUnavailableError(`primary: ${answer.error}`));
    if (!answerFits(asked.kind, answer.value)) {
      const error = new Error(`malformed ${asked.kind} answer from the primary`);
      this.onError(error);
      return asked.reject(error);
    }
    asked.resolve(answer.value as ControlAnswer);
  }

  private answer(id: number, q: ControlRequestBody): void {
    const handler = this.handler;
    const reply: Extract<ControlToPrimary, { t: 'cr' }> = { t: 'cr', id };
    if (handler !== null && !this.closed) {
      try {
        if (q.kind === 'command') reply.affected = handler.apply(q.command);
        else if (q.kind === 'info') reply.info = { ...handler.localInfo(), id: this.nodeId };
        else reply.channels = handler.localChannels(q.pattern, q.after, q.limit);
      } catch (error) {
        this.onError(error as Error);
      }
    }
    // Presence changed by the command (a server-side subscribe) reaches the primary before the answer.
    this.flush();
    this.options.send(reply);
  }

  private deliver(events: WireJoinLeave[]): void {
    const handler = this.handler;
    if (handler === null) return;
    for (const [kind, topic, client, uid, node, connectedAt] of events) {
      // A watch dropped since the primary forwarded the event: not wanted any more.
      if (!this.watched.has(topic)) continue;
      try {
        handler.onJoinLeave({ kind, topic, entry: { client, uid, node, connectedAt } });
      } catch (error) {
        this.onError(error as Error);
      }
    }
  }
}

function flushControl(control: ClusterWorkerControl): void {
  control.flush();
}
