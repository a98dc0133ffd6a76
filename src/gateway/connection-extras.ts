import { CloseCode } from '../protocol/constants.js';
import type { DrainListener, WebSocketConnection } from './connection.js';
import type { PartialHead } from './partial-head.js';

/**
 * The state of a connection that an idle, open one does not need: the partial
 * request head (handshake only), the peer address (kept only under per-IP
 * limits), a paced sender waiting for room (a resume's replay), and the close
 * code and reason (once closing). One object created on first use and dropped
 * when everything in it is back to its default, so an idle subscribed
 * connection carries one null field instead of six (48 bytes less each).
 */
export class ConnectionExtras {
  head: PartialHead | null = null;
  ip: string | undefined = undefined;
  drainListener: DrainListener | null = null;
  drainNeeds = 0;
  closeCode: number = CloseCode.AbnormalClosure;
  closeReason = '';
  /** The subprotocol when the connection's bits have no slot for it (see WebSocketConnection.protocol). */
  protocol: string | undefined = undefined;

  /** Nothing here differs from a fresh connection's: the owner may drop this object. */
  get unused(): boolean {
    return (
      this.head === null &&
      this.ip === undefined &&
      this.drainListener === null &&
      this.closeCode === CloseCode.AbnormalClosure &&
      this.closeReason === '' &&
      this.protocol === undefined
    );
  }
}

/**
 * Several paced senders waiting on one connection at once (two resumes of one
 * request replaying together): each is told when room comes, in the order
 * they began to wait; one that still does not fit then waits again.
 */
export class DrainListeners implements DrainListener {
  constructor(readonly listeners: DrainListener[]) {}

  onDrain(conn: WebSocketConnection): void {
    for (const listener of this.listeners) listener.onDrain(conn);
  }
}
