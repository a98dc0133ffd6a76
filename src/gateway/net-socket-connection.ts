import type { Socket } from 'node:net';
import { WebSocketConnection, kConnection, type ConnectionOwner } from './connection.js';

type OwnedSocket = Socket & { [kConnection]: NetSocketConnection };

/**
 * A connection over a `net.Socket` (or a `tls.TLSSocket`): used when attached
 * to an `http.Server`, for TLS, and where raw TCP handles are unavailable.
 */
export class NetSocketConnection extends WebSocketConnection {
  readonly socket: Socket;
  /** An empty write is queued to report when the writes before it are done (see watchWrites). */
  private watching = false;

  constructor(socket: Socket, owner: ConnectionOwner) {
    super(owner);
    this.socket = socket;
    (socket as OwnedSocket)[kConnection] = this;
    socket.on('data', onSocketData);
    socket.on('end', onSocketEnd);
    socket.on('error', onSocketError);
    socket.on('close', onSocketClose);
  }

  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress;
  }

  protected get transportBufferedBytes(): number {
    return this.socket.writableLength;
  }

  protected get transportClosed(): boolean {
    return this.socket.destroyed;
  }

  protected transportWrite(data: Buffer): void {
    this.socket.write(data);
  }

  protected transportWritev(chunks: Buffer[]): void {
    this.socket.cork();
    for (const chunk of chunks) this.socket.write(chunk);
    this.socket.uncork();
  }

  /** A write's callback runs once it and every write before it are done: an empty one marks "all written so far". */
  protected override watchWrites(): void {
    if (this.watching || this.socket.destroyed) return;
    this.watching = true;
    this.socket.write(EMPTY, () => {
      this.watching = false;
      this.checkDrain();
    });
  }

  writeLatin1(text: string): void {
    if (!this.socket.destroyed) this.socket.write(text, 'latin1');
  }

  end(): void {
    // What is queued goes out before our FIN (see RawTcpConnection.end).
    this.flush();
    this.socket.end();
  }

  terminate(): void {
    this.socket.destroy();
  }
}

const EMPTY = Buffer.alloc(0);

function onSocketData(this: Socket, chunk: Buffer): void {
  (this as OwnedSocket)[kConnection].onData(chunk);
}

/**
 * The peer sent FIN: write what is queued, then end our side too. Our servers
 * (and `http.Server` in attach mode) allow half-open sockets, so Node does not
 * end them itself (which would refuse the queued writes), and without this
 * 'close', and onClose, would never come.
 */
function onSocketEnd(this: Socket): void {
  (this as OwnedSocket)[kConnection].end();
}

/** Errors (ECONNRESET, EPIPE…) are followed by 'close', which does the cleanup. */
function onSocketError(this: Socket, _error: Error): void {}

function onSocketClose(this: Socket): void {
  (this as OwnedSocket)[kConnection].onTransportClosed();
}
