/**
 * Which transport serves WebSocket connections, decided once at start.
 *
 * The raw transport runs on Node's internal `tcp_wrap`/`stream_wrap` bindings
 * (raw-tcp.ts). They are not a public API: a Node release may rename a
 * method, change a return convention or drop the bindings. So before they are
 * trusted, a self-check drives a throwaway pair of handles over loopback
 * through every call the server makes — listen, accept, connect, readStart,
 * writeBuffer, writev, writeLatin1String, read results, shutdown, close —
 * bounded by a short timeout. `auto` falls back to `net` when it fails (the
 * caller logs the reason); `raw` refuses to start.
 */
import * as rawTcp from './raw-tcp.js';
import type { TcpHandle } from './raw-tcp.js';

/** What `--transport` asks for. */
export type TransportMode = 'auto' | 'raw' | 'net';

/** The transport chosen, and why `auto` did not get `raw`. */
export interface TransportChoice {
  transport: 'raw' | 'net';
  /** Set when `auto` fell back to `net`: what the self-check saw. */
  fallbackReason?: string;
}

/** `--transport raw` on a Node whose raw TCP handles fail the self-check. */
export class TransportError extends Error {
  override readonly name = 'TransportError';
}

/** The raw-tcp.ts calls the self-check drives; tests hand in a broken one. */
export type RawTcpApi = Pick<
  typeof rawTcp,
  | 'rawTcpAvailable'
  | 'listenRawTcp'
  | 'newClientTcpHandle'
  | 'newConnectRequest'
  | 'newWriteRequest'
  | 'newShutdownRequest'
  | 'lastReadResult'
  | 'lastReadBuffer'
>;

/** Bound on the whole loopback exchange; it takes well under a millisecond when the bindings work. */
export const SELF_CHECK_TIMEOUT_MS = 2000;

const PROBE = 'herald raw tcp self-check';

/**
 * Exchange a few bytes over loopback on raw handles: the client writes with
 * writev and writeLatin1String, the server echoes each read with writeBuffer,
 * the client half-closes, the server answers EOF with its own shutdown, and
 * both close. Resolves with what went wrong, or undefined when all of it
 * behaved. Never rejects.
 */
export function checkRawTcp(api: RawTcpApi = rawTcp, timeoutMs = SELF_CHECK_TIMEOUT_MS): Promise<string | undefined> {
  if (!api.rawTcpAvailable) return Promise.resolve('the tcp_wrap/stream_wrap bindings cannot be loaded');
  return new Promise((resolve) => {
    const handles: TcpHandle[] = [];
    let listener: rawTcp.RawTcpListener | undefined;
    let done = false;
    const finish = (reason: string | undefined): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      for (const handle of handles) {
        try {
          handle.close(() => {});
        } catch {
          // already closing: nothing to release
        }
      }
      const closed = listener?.close();
      // Report once the listening handle is released, so the check leaves nothing behind.
      if (closed === undefined) resolve(reason);
      else closed.then(() => resolve(reason), () => resolve(reason));
    };
    const timer = setTimeout(() => finish(`no answer within ${timeoutMs} ms`), timeoutMs);
    const step = (what: string, action: () => unknown): void => {
      if (done) return;
      try {
        const result = action();
        if (typeof result === 'number' && result !== 0) finish(`${what} returned ${result}`);
        else if (typeof result === 'string') finish(`${what}: ${result}`);
      } catch (error) {
        finish(`${what} threw: ${(error as Error)?.message ?? String(error)}`);
      }
    };
    const closeHandle = (handle: TcpHandle, then: () => void): void => {
      const index = handles.indexOf(handle);
      if (index === -1) return; // finish() closed it already
      handles.splice(index, 1);
      handle.close(then);
    };

    let serverEnded = false;
    const onAccepted = (server: TcpHandle): void => {
      handles.push(server);
      server.onread = function (buffer) {
        step('server read', () => {
          const nread = api.lastReadResult();
          if (nread > 0) {
            const echo = Buffer.from(api.lastReadBuffer(buffer as ArrayBuffer, nread));
            const req = api.newWriteRequest(server, () => {});
            req.buffer = echo;
            return server.writeBuffer(req, echo);
          }
          if (nread === rawTcp.UV_EOF) {
            serverEnded = true;
            server.readStop();
            return server.shutdown(api.newShutdownRequest(server, () => closeHandle(server, () => {})));
          }
          return nread;
        });
      };
      step('setNoDelay', () => server.setNoDelay(true));
      step('getpeername', () => {
        const out: Record<string, unknown> = {};
        const err = server.getpeername(out);
        return err !== 0 ? err : out.address === '127.0.0.1' ? 0 : `getpeername gave ${String(out.address)}`;
      });
      step('server readStart', () => server.readStart());
    };
    step('listen', () => {
      listener = api.listenRawTcp('127.0.0.1', 0, 1, onAccepted);
    });
    if (done || listener === undefined) return;

    let echoed = '';
    const client = api.newClientTcpHandle();
    handles.push(client);
    client.onread = function (buffer) {
      step('client read', () => {
        const nread = api.lastReadResult();
        if (nread > 0) {
          echoed += api.lastReadBuffer(buffer as ArrayBuffer, nread).toString('latin1');
          if (echoed.length < PROBE.length) return 0;
          if (echoed !== PROBE) return `echo came back as ${JSON.stringify(echoed.slice(0, 64))}`;
          return client.shutdown(api.newShutdownRequest(client, () => {}));
        }
        if (nread !== rawTcp.UV_EOF) return nread;
        if (echoed !== PROBE || !serverEnded) return 'the connection ended before the echo';
        client.readStop();
        closeHandle(client, () => finish(undefined));
        return 0;
      });
    };
    const connect = api.newConnectRequest((status) => {
      step('connect', () => status);
      step('client readStart', () => client.readStart());
      const head = PROBE.slice(0, 6);
      const middle = Buffer.from(PROBE.slice(6, 12), 'latin1');
      const tail = Buffer.from(PROBE.slice(12, 18), 'latin1');
      step('writev', () => {
        const req = api.newWriteRequest(client, () => {});
        req.buffer = [middle, tail];
        // The first piece goes out alone, before the vector: order on the wire is write order.
        const err = client.writeLatin1String(api.newWriteRequest(client, () => {}), head);
        return err !== 0 ? err : client.writev(req, [middle, tail], true);
      });
      step('writeBuffer', () => {
        const rest = Buffer.from(PROBE.slice(18), 'latin1');
        const req = api.newWriteRequest(client, () => {});
        req.buffer = rest;
        return client.writeBuffer(req, rest);
      });
      step('writeQueueSize', () => (typeof client.writeQueueSize === 'number' ? 0 : 'writeQueueSize is not a number'));
    });
    step('connect', () => client.connect(connect, '127.0.0.1', listener!.port));
  });
}

let processCheck: Promise<string | undefined> | undefined;

/** The self-check of this process's bindings, run once and remembered. */
export function rawTcpSelfCheck(): Promise<string | undefined> {
  processCheck ??= checkRawTcp();
  return processCheck;
}

/**
 * Settle `mode` into a transport: `net` as asked; `raw` only if the self-check
 * passes (else a {@link TransportError}); `auto` raw if it passes, else net
 * with the reason.
 */
export async function chooseTransport(
  mode: TransportMode,
  check: () => Promise<string | undefined> = rawTcpSelfCheck,
): Promise<TransportChoice> {
  if (mode === 'net') return { transport: 'net' };
  const failure = await check();
  if (failure === undefined) return { transport: 'raw' };
  if (mode === 'raw') {
    throw new TransportError(
      `--transport raw: this Node.js's raw TCP handles failed the start-up self-check (${failure}); `
        + 'use --transport auto (falls back to net) or --transport net',
    );
  }
  return { transport: 'net', fallbackReason: failure };
}
