import type { Worker } from 'node:cluster';
import { EngineUnavailableError, type Engine, type EngineHandler, type HistoryResult, type Publication } from '../engine/engine.js';
import type { ControlToPrimary, ControlToWorker } from './cluster-control-messages.js';

/** A publication on the IPC channel: [uid, topic, data], empty strings for "not set". */
export type WirePublication = [uid: string, topic: string, data: Uint8Array];

/** Messages from the primary to a worker (the control plane's: `cluster-control-messages.ts`). */
export type PrimaryMessage =
  /**
   * Start the node with this node id: `raw`, on the bound TCP handle sent along; `net`, on the port
   * through node:cluster.
   */
  | { t: 'listen'; transport: 'raw' | 'net'; nodeId: string }
  | { t: 'pub'; items: WirePublication[] }
  | { t: 'metrics'; id: number }
  | { t: 'drain' }
  | ControlToWorker;

/** Messages from a worker to the primary (the control plane's: `cluster-control-messages.ts`). */
export type WorkerMessage =
  /** Listening for the primary's messages (a message sent before this would be lost). */
  | { t: 'hello' }
  | { t: 'ready'; port: number }
  | { t: 'metrics'; id: number; data: unknown }
  | { t: 'failed'; message: string }
  | ControlToPrimary;

/**
 * The cluster primary's engine: each publication is sent once to every live
 * worker. Publications made in one event-loop turn travel as one IPC message
 * per worker (V8 serialization carries the payload bytes without base64), so
 * per-worker order is publication order. `publish` resolves once the batch is
 * written to every worker's channel, and rejects when no worker is running.
 */
export class ClusterPrimaryEngine implements Engine {
  private readonly workers = new Set<Worker>();
  private batch: WirePublication[] = [];
  private waiters: { resolve(): void; reject(error: Error): void }[] = [];
  private scheduled = false;
  private closed = false;

  get ready(): boolean {
    return !this.closed && this.workers.size > 0;
  }

  addWorker(worker: Worker): void {
    this.workers.add(worker);
  }

  removeWorker(worker: Worker): void {
    this.workers.delete(worker);
  }

  async start(_handler: EngineHandler): Promise<void> {}

  /** History is not kept in the cluster's memory mode (each worker would need the same numbering). */
  history(_stream: string, _since: unknown): Promise<HistoryResult> {
    return Promise.resolve({ recovered: false, position: { seq: 0, epoch: 'none' } });
  }

  /** No history to remove in this mode. */
  async removeHistory(_stream: string): Promise<void> {}

  publish(publication: Publication): Promise<undefined> {
    if (!this.ready) return Promise.reject(new EngineUnavailableError('no worker is running'));
    this.batch.push([publication.uid ?? '', publication.topic ?? '', publication.data]);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(sendBatch, this);
    }
    return new Promise((resolve, reject) => this.waiters.push({ resolve: () => resolve(undefined), reject }));
  }

  /** @internal */
  sendBatch(): void {
    this.scheduled = false;
    const message: PrimaryMessage = { t: 'pub', items: this.batch };
    const waiters = this.waiters;
    this.batch = [];
    this.waiters = [];
    let pending = this.workers.size;
    let failed: Error | undefined;
    const settle = (error: Error | null): void => {
      if (error) failed = new EngineUnavailableError('a worker did not take the publication', { cause: error });
      if (--pending > 0) return;
      for (const w of waiters) failed ? w.reject(failed) : w.resolve();
    };
    if (pending === 0) return settle(new Error('no worker'));
    for (const worker of this.workers) {
      if (!worker.send(message, undefined, undefined, settle)) {
        // false only means the channel is backed up; the callback still reports the outcome.
      }
    }
  }

  subscribeTopic(): void {}
  unsubscribeTopic(): void {}
  subscribeUser(): void {}
  unsubscribeUser(): void {}

  async close(): Promise<void> {
    this.closed = true;
  }
}

function sendBatch(engine: ClusterPrimaryEngine): void {
  engine.sendBatch();
}

/** A worker's engine: delivers what the primary forwards; pushes are accepted by the primary only. */
export class ClusterWorkerEngine implements Engine {
  private handler: EngineHandler | null = null;

  get ready(): boolean {
    return this.handler !== null;
  }

  async start(handler: EngineHandler): Promise<void> {
    this.handler = handler;
  }

  /** Deliver a batch received from the primary, in order. */
  deliver(items: WirePublication[]): void {
    const handler = this.handler;
    if (handler === null) return;
    for (const [uid, topic, bytes] of items) {
      const data = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const publication: Publication = { data };
      if (uid !== '') publication.uid = uid;
      if (topic !== '') publication.topic = topic;
      handler.onPublication(publication);
    }
  }

  publish(): Promise<undefined> {
    return Promise.reject(new EngineUnavailableError('workers do not accept pushes; the primary does'));
  }

  history(): Promise<HistoryResult> {
    return Promise.resolve({ recovered: false, position: { seq: 0, epoch: 'none' } });
  }

  async removeHistory(): Promise<void> {}

  subscribeTopic(): void {}
  unsubscribeTopic(): void {}
  subscribeUser(): void {}
  unsubscribeUser(): void {}

  async close(): Promise<void> {
    this.handler = null;
  }
}
