/**
 * A connection's rarely used state lives in one `ConnectionExtras` object
 * created on first use and dropped when back to defaults, so an idle open
 * connection carries a null there; what it holds reads the same as before.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConnectionState, WebSocketConnection, type ConnectionOwner } from '../../src/gateway/connection.js';
import { PartialHead } from '../../src/gateway/partial-head.js';

class MemoryConnection extends WebSocketConnection {
  readonly written: Buffer[] = [];
  get remoteAddress(): string | undefined {
    return '127.0.0.1';
  }
  protected get transportBufferedBytes(): number {
    return 0;
  }
  protected get transportClosed(): boolean {
    return false;
  }
  protected transportWrite(data: Buffer): void {
    this.written.push(data);
  }
  protected transportWritev(chunks: Buffer[]): void {
    this.written.push(Buffer.concat(chunks));
  }
  writeLatin1(text: string): void {
    this.written.push(Buffer.from(text, 'latin1'));
  }
  end(): void {}
  terminate(): void {}
}

function owner(): ConnectionOwner {
  return {
    onHandshakeData() {},
    onConnectionMessage() {},
    onConnectionClosed() {},
    markDirty() {},
    onSlowConsumer() {},
    scheduleCloseTimeout() {},
    onMessageStarted() {},
    onStreamOpened() {},
    refuseStream() {},
    maxBufferedBytes: 1 << 20,
    maxMessageSize: 1 << 20,
    activityTick: 1,
  };
}

describe('ConnectionExtras', () => {
  it('a fresh connection holds none and reads the defaults (close code 1006, empty reason)', () => {
    const conn = new MemoryConnection(owner());
    assert.equal(conn.extras, null);
    assert.equal(conn.head, null);
    assert.equal(conn.ip, undefined);
    assert.equal(conn.drainListener, null);
    assert.equal(conn.closeCode, 1006);
    assert.equal(conn.closeReason, '');
  });

  it('the partial head creates them and clearing it drops them; an undefined ip creates nothing', () => {
    const conn = new MemoryConnection(owner());
    conn.ip = undefined;
    assert.equal(conn.extras, null);
    const head = new PartialHead(Buffer.from('GET / HTTP/1.1\r\n'), 8192);
    conn.head = head;
    assert.equal(conn.head, head);
    assert.notEqual(conn.extras, null);
    conn.head = null;
    assert.equal(conn.extras, null);
  });

  it('a recorded ip keeps them past the handshake', () => {
    const conn = new MemoryConnection(owner());
    conn.head = new PartialHead(Buffer.from('GET'), 8192);
    conn.ip = '10.0.0.1';
    conn.head = null;
    assert.equal(conn.ip, '10.0.0.1');
    assert.notEqual(conn.extras, null);
  });

  it('a drain wait holds them only until the listener is told', async () => {
    const conn = new MemoryConnection(owner());
    conn.state = ConnectionState.Open;
    let told = 0;
    conn.waitForDrain({ onDrain: () => told++ }, 10);
    assert.equal(conn.drainListener, null, 'nothing buffered: room at once');
    assert.equal(conn.extras, null);
    await Promise.resolve();
    assert.equal(told, 1);
  });

  it('a close keeps its code and reason', () => {
    const conn = new MemoryConnection(owner());
    conn.state = ConnectionState.Open;
    assert.equal(conn.extras, null);
    conn.close(4000, 'bye');
    assert.equal(conn.state, ConnectionState.Closing);
    assert.equal(conn.closeCode, 4000);
    assert.equal(conn.closeReason, 'bye');
    assert.equal(conn.written.length, 1);
  });

  it('a subprotocol reads back as set, and only names past the slots in the connection bits create extras', () => {
    const conns: MemoryConnection[] = [];
    // More distinct names than the bits have slots for (14), whatever other tests of this process negotiated.
    for (let i = 0; i < 20; i++) {
      const conn = new MemoryConnection(owner());
      conn.state = ConnectionState.Open;
      conn.protocol = `proto-${i}`;
      conns.push(conn);
    }
    conns.forEach((conn, i) => {
      assert.equal(conn.protocol, `proto-${i}`);
      assert.equal(conn.state, ConnectionState.Open);
    });
    assert.equal(conns[0].extras, null);
    const last = conns[19];
    assert.notEqual(last.extras, null);
    last.protocol = undefined;
    assert.equal(last.protocol, undefined);
    assert.equal(last.extras, null);
    last.protocol = 'proto-0';
    assert.equal(last.protocol, 'proto-0');
    assert.equal(last.extras, null);
  });
});
