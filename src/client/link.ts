import type { ResolvedClientOptions } from './client-options.js';
import type { Reply } from './decode-inbound.js';
import { HeraldConnectionError } from './errors.js';
import { RequestTable, type ReplyCallback } from './request-table.js';
import type { WebSocketLike } from './types.js';
import { noop } from './wire.js';

/**
 * The client's current socket and the requests in flight on it, as the
 * login flow and the subscription book see them: they send commands and
 * compare `generation`s, while the client alone opens and drops sockets.
 */
export class Link {
  socket: WebSocketLike | null = null;
  /** Requests of the open connection; null while not open. */
  requests: RequestTable | null = null;
  /** Bumped for every socket: callbacks and replies of an older one are ignored. */
  generation = 0;

  constructor(readonly options: ResolvedClientOptions) {}

  /** Whether a connection is open (its commands can be sent). */
  get isOpen(): boolean {
    return this.requests !== null;
  }

  /** The socket opened: requests may be sent on it. */
  opened(): void {
    this.requests = new RequestTable(this.options.enveloped, this.options.requestTimeoutMs);
  }

  /** Detach from the current socket (returned, for closing) and fail its requests with `error`. */
  detach(error: Error): WebSocketLike | null {
    const socket = this.socket;
    this.socket = null;
    this.generation++;
    if (socket !== null) {
      // No-ops rather than null: `ws` throws an 'error' event that has no listener.
      socket.onopen = socket.onmessage = socket.onclose = socket.onerror = noop;
    }
    const requests = this.requests;
    this.requests = null;
    requests?.rejectAll(error);
    return socket;
  }

  sendText(text: string): boolean {
    try {
      this.socket?.send(text);
      return this.socket !== null;
    } catch {
      // Closing meanwhile: the close event follows.
      return false;
    }
  }

  /** Send a command as a request; `done` runs synchronously with its reply or failure. */
  send(operation: string, command: Record<string, unknown>, done: ReplyCallback): void {
    const requests = this.requests;
    if (requests === null) return done(new HeraldConnectionError('not connected'), undefined);
    const id = requests.add(operation, done);
    if (id !== undefined) command.id = id;
    try {
      (this.socket as WebSocketLike).send(JSON.stringify(command));
    } catch (error) {
      requests.forget(id, new HeraldConnectionError(`${operation}: the command could not be sent`, undefined, undefined, { cause: error }));
    }
  }

  ask(operation: string, command: Record<string, unknown>): Promise<Reply> {
    return new Promise((resolve, reject) => {
      this.send(operation, command, (error, reply) => (error === undefined ? resolve(reply as Reply) : reject(error)));
    });
  }
}
