import type { Engine, EngineHandler, Publication } from './engine.js';
import { EngineUnavailableError } from './engine.js';

/**
 * The embedded single-process engine. `publish` delivers synchronously to the
 * local handler before it resolves, so delivery order is exactly the order of
 * `publish` calls, and a resolved publish has already been queued on every
 * target connection. Interest calls are no-ops: there is only one node.
 */
export class MemoryEngine implements Engine {
  private handler: EngineHandler | null = null;
  private closed = false;

  get ready(): boolean {
    return this.handler !== null && !this.closed;
  }

  async start(handler: EngineHandler): Promise<void> {
    this.handler = handler;
  }

  publish(publication: Publication): Promise<void> {
    if (this.handler === null || this.closed) {
      return Promise.reject(new EngineUnavailableError('memory engine is not running'));
    }
    this.handler.onPublication(publication);
    return Promise.resolve();
  }

  /** Synchronous publish for in-process callers that need no promise (the push APIs' batch path). */
  publishNow(publication: Publication): void {
    if (this.handler === null || this.closed) throw new EngineUnavailableError('memory engine is not running');
    this.handler.onPublication(publication);
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
