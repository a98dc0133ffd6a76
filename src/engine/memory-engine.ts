import type { Delivery, Engine, EngineHandler, HistoryResult, Publication, StreamPosition } from './engine.js';
import { EngineUnavailableError } from './engine.js';
import { StreamHistory, type StreamHistoryOptions } from './stream-history.js';

/**
 * The embedded single-process engine. `publish` numbers the publication in
 * its stream, remembers it in a bounded ring (see StreamHistory) and delivers
 * it synchronously to the local handler before it resolves: delivery order is
 * exactly the order of `publish` calls, and a resolved publish has already
 * been queued on every target connection. Interest calls are no-ops: there is
 * only one node. History is lost with the process (the epoch changes).
 */
export class MemoryEngine implements Engine {
  private handler: EngineHandler | null = null;
  private closed = false;
  private readonly streams: StreamHistory;

  constructor(options: { history?: StreamHistoryOptions } = {}) {
    this.streams = new StreamHistory(options.history);
  }

  get historyFor(): StreamHistoryOptions['historyFor'] {
    return this.streams.historyFor;
  }

  get ready(): boolean {
    return this.handler !== null && !this.closed;
  }

  async start(handler: EngineHandler): Promise<void> {
    this.handler = handler;
  }

  publish(publication: Publication): Promise<StreamPosition | undefined> {
    try {
      return Promise.resolve(this.accept(publication));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Synchronous: numbered, remembered and delivered to the hub before it returns. */
  publishNow(publication: Publication): StreamPosition {
    return this.accept(publication);
  }

  /** What `publish` and `publishNow` do (neither calls the other, so a subclass may change one alone). */
  private accept(publication: Publication): StreamPosition {
    const handler = this.handler;
    if (handler === null || this.closed) throw new EngineUnavailableError('memory engine is not running');
    // One shape for every delivery (the caller's object is not changed): the hub's property reads stay monomorphic.
    // Its position and stream key are set by appendToOwn.
    const delivery: Delivery = { uid: publication.uid, topic: publication.topic, data: publication.data, position: undefined, stream: undefined };
    const position = this.streams.appendToOwn(delivery);
    handler.onPublication(delivery);
    return position;
  }

  history(stream: string, since: StreamPosition | undefined, limit?: number): Promise<HistoryResult> {
    return Promise.resolve(this.streams.history(stream, since, Date.now(), limit));
  }

  removeHistory(stream: string): Promise<void> {
    this.streams.remove(stream);
    return Promise.resolve();
  }

  subscribeTopic(_topic: string): void {}
  unsubscribeTopic(_topic: string): void {}
  subscribeUser(_uid: string): void {}
  unsubscribeUser(_uid: string): void {}

  async close(): Promise<void> {
    this.closed = true;
    this.handler = null;
  }
}
