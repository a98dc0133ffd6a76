import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectionState, WebSocketConnection, type ConnectionOwner } from '../../src/gateway/connection.js';

/** A connection over no transport: records its writes. */
class RecordingConnection extends WebSocketConnection {
  readonly written: Buffer[] = [];
  get remoteAddress(): string | undefined {
    return undefined;
  }
  protected get transportBufferedBytes(): number {
    return 0;
  }
  protected get transportClosed(): boolean {
    return false;
  }
  protected transportWrite(data: Buffer): void {
    this.written.push(Buffer.from(data));
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

function owner(marked: WebSocketConnection[]): ConnectionOwner {
  return {
    onHandshakeData() {},
    onConnectionMessage() {},
    onConnectionClosed() {},
    markDirty: (conn) => marked.push(conn),
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

describe('the 101 response is written at the end of the upgrade, not behind a flush wave', () => {
  it('writes the 101 and what opening queued behind it in one write, without marking the connection dirty', () => {
    const marked: WebSocketConnection[] = [];
    const conn = new RecordingConnection(owner(marked));
    conn.queueHandshakeResponse(Buffer.from('HTTP/1.1 101 Switching Protocols\r\n\r\n', 'latin1'));
    conn.state = ConnectionState.Open;
    conn.send('greeting');
    conn.send('reply');
    assert.equal(marked.length, 0, 'not left for the scheduler');
    assert.equal(conn.written.length, 0);
    conn.writeHandshake();
    assert.equal(conn.written.length, 1, 'one write');
    const bytes = conn.written[0];
    assert.ok(bytes.toString('latin1').startsWith('HTTP/1.1 101 Switching Protocols\r\n\r\n'));
    assert.ok(bytes.includes(Buffer.from('greeting')) && bytes.indexOf('greeting') < bytes.indexOf('reply'));
    // Later messages go through the scheduler as usual, and the 101's write started no merge window.
    assert.equal(conn.lastFlushMs, -1);
    conn.send('later');
    assert.deepEqual(marked, [conn]);
  });

  it('writes nothing more when a close already wrote the 101', () => {
    const conn = new RecordingConnection(owner([]));
    conn.queueHandshakeResponse(Buffer.from('HTTP/1.1 101 Switching Protocols\r\n\r\n', 'latin1'));
    conn.state = ConnectionState.Open;
    conn.close(1011, 'open failed');
    const writes = conn.written.length;
    assert.equal(writes, 2, 'the 101, then the close frame');
    conn.writeHandshake();
    assert.equal(conn.written.length, writes);
  });
});
