/**
 * One debug line per connection event, for following a client through the
 * log: opened (remote address, subprotocol), closed (code and reason; 4000 is
 * called a heartbeat timeout), upgrade refused (HTTP status and reason).
 *
 * Connections are the hot path, so the level is checked once (and again on a
 * `level-change`), not per event: above debug each event costs one boolean
 * test, and nothing is recorded per connection. At debug the remote address
 * is remembered from the open (a closed raw TCP handle no longer has it) in a
 * WeakMap, which lets go of the connection with it.
 */
import type { Logger } from 'pino';
import { HeraldCloseCode } from '../codes.js';
import type { WebSocketConnection } from '../gateway/connection.js';
import type { HandshakeError } from '../protocol/errors.js';

export class ConnectionEventLog {
  /** Whether debug lines are written; read on every event. */
  enabled: boolean;
  private readonly logger: Logger;
  private readonly remotes = new WeakMap<WebSocketConnection, string>();

  constructor(logger: Logger) {
    this.logger = logger;
    this.enabled = logger.isLevelEnabled('debug');
    logger.on('level-change', () => {
      this.enabled = logger.isLevelEnabled('debug');
    });
  }

  opened(conn: WebSocketConnection): void {
    if (!this.enabled) return;
    const remote = conn.remoteAddress;
    if (remote !== undefined) this.remotes.set(conn, remote);
    this.logger.debug({ remote, protocol: conn.protocol ?? 'gpush' }, 'connection opened');
  }

  closed(conn: WebSocketConnection, code: number, reason: string): void {
    if (!this.enabled) return;
    const remote = this.remotes.get(conn) ?? conn.remoteAddress;
    const msg = code === HeraldCloseCode.HeartbeatTimeout ? 'connection closed: heartbeat timeout' : 'connection closed';
    this.logger.debug({ remote, code, reason }, msg);
  }

  refused(conn: WebSocketConnection, error: HandshakeError): void {
    if (!this.enabled) return;
    this.logger.debug({ remote: conn.remoteAddress, status: error.status, code: error.code, reason: error.message }, 'upgrade refused');
  }
}
