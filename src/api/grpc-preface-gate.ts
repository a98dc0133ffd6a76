import { createServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import type * as grpc from '@grpc/grpc-js';

/**
 * Bytes a client sends before anything else: the HTTP/2 connection preface is 24 octets (RFC 9113
 * §3.4); over TLS the ClientHello record comes first and is longer than that (RFC 8446 §4.1.2).
 */
const OPENING_BYTES = 24;

/** A listening {@link listenGated} socket. */
export interface GatedListener {
  port: number;
  /** Stop accepting and drop connections still waiting at the gate (grpc-js closes the admitted ones). */
  close(): void;
}

/**
 * Serve `server` on `host:port` through its connection injector, admitting a TCP connection only
 * once it has sent its first {@link OPENING_BYTES} bytes, within `timeoutMs`; others are destroyed,
 * as is any connection past `maxConnections` open at once.
 *
 * grpc-js turns off the HTTP/2 server's socket timeout and has no deadline for the preface, so a
 * connection that opens and sends nothing (or trickles a byte now and then) was held forever: enough
 * of them use up the process's file descriptors, WebSocket listener included. Once grpc-js has taken
 * a socket over, neither its session close nor `socket.destroy()` releases a peer that never spoke
 * (Node 20), so the check happens before the hand-over. The bytes read are put back (`unshift`);
 * Node's HTTP/2 and TLS layers read what is buffered before taking the handle.
 */
export function listenGated(
  server: grpc.Server,
  port: number,
  host: string,
  credentials: grpc.ServerCredentials,
  timeoutMs: number,
  maxConnections: number,
): Promise<GatedListener> {
  const injector = server.createConnectionInjector(credentials);
  const waiting = new Set<Socket>();
  const tcp: NetServer = createServer((socket) => {
    waiting.add(socket);
    let received: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    const onData = (chunk: Buffer): void => {
      received.push(chunk);
      size += chunk.length;
      if (size < OPENING_BYTES) return;
      clearTimeout(timer);
      waiting.delete(socket);
      socket.off('data', onData);
      socket.pause();
      socket.unshift(Buffer.concat(received, size));
      received = [];
      injector.injectConnection(socket);
    };
    socket.on('data', onData);
    // Until the hand-over nobody else listens: a reset must not become an uncaught error.
    socket.on('error', () => undefined);
    socket.once('close', () => {
      clearTimeout(timer);
      waiting.delete(socket);
    });
  });
  return new Promise((resolve, reject) => {
    // Node closes connections past this at once (`net.Server.maxConnections`): those waiting here and
    // those handed to grpc-js alike, since an admitted socket stays this server's until it closes.
    tcp.maxConnections = maxConnections;
    tcp.once('error', reject);
    tcp.listen(port, host, () => {
      tcp.off('error', reject);
      resolve({
        port: (tcp.address() as AddressInfo).port,
        close() {
          tcp.close();
          for (const socket of waiting) socket.destroy();
          waiting.clear();
        },
      });
    });
  });
}
