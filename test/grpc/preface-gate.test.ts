/**
 * A TCP connection to the gRPC listener that never sends the HTTP/2 preface (or trickles part of it)
 * is dropped after `pushRequestTimeoutMs`, and one that sends it and then no call after six times
 * that (grpc-js's idle bound); grpc-js alone held such connections forever, so enough of
 * them used up the process's file descriptors. Real clients, which send the preface at once, are
 * served as before. `pushRequestTimeoutMs` is short here; the default is 5 s.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startGrpcNode, type GrpcTestNode } from '../helpers/grpc-client.js';
import { WAIT_MS, type TestClient } from '../helpers/herald-node.js';

/** Resolves true once the server has closed `socket`, false if it is still open after WAIT_MS (then closes it). */
function closedByServer(socket: Socket): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(false);
    }, WAIT_MS);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

describe('gRPC listener: connections that never send the HTTP/2 preface', () => {
  let h: GrpcTestNode;
  let watcher: TestClient;

  before(async () => {
    h = await startGrpcNode({ pushRequestTimeoutMs: 300 });
    watcher = await h.connect();
    await watcher.subscribe('watch');
  });
  after(async () => {
    await h.stop();
  });

  it('a connection that sends nothing is closed by the server', async () => {
    const socket = connect({ port: h.grpcPort, host: '127.0.0.1' });
    socket.on('error', () => undefined);
    assert.equal(await closedByServer(socket), true);
  });

  it('a connection that sends part of the preface and stops is closed by the server', async () => {
    const socket = connect({ port: h.grpcPort, host: '127.0.0.1' });
    socket.on('error', () => undefined);
    socket.write('PRI * HTTP/2.0\r\n');
    assert.equal(await closedByServer(socket), true);
  });

  it('a connection that sends the preface and an empty SETTINGS frame, then nothing, is closed once idle', async () => {
    const socket = connect({ port: h.grpcPort, host: '127.0.0.1' });
    socket.on('error', () => undefined);
    socket.on('data', () => undefined); // the server's SETTINGS, read and ignored
    // RFC 9113 §3.4: the preface, then a SETTINGS frame (length 0, type 4, flags 0, stream 0).
    socket.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]));
    assert.equal(await closedByServer(socket), true);
  });

  it('a real client is still served, and its push delivered', async () => {
    await h.grpc().publish({ topic: 'watch', data: 'through the gate' });
    assert.deepEqual(await watcher.sync(), ['through the gate']);
  });
});

describe('gRPC listener: --grpc-max-connections', () => {
  let h: GrpcTestNode;
  let watcher: TestClient;

  before(async () => {
    // A preface deadline longer than the test's wait: a close seen here is the cap's, not the deadline's.
    h = await startGrpcNode({ grpcMaxConnections: 2, pushRequestTimeoutMs: 60_000 });
    watcher = await h.connect();
    await watcher.subscribe('cap');
  });
  after(async () => {
    await h.stop();
  });

  it('closes a connection past the cap at once, counting admitted ones; room again once one closes', async () => {
    // One admitted connection (a real client's channel) and one waiting at the gate fill the cap.
    await h.grpc().publish({ topic: 'cap', data: 'admitted' });
    assert.deepEqual(await watcher.sync(), ['admitted']);
    const waiting = connect({ port: h.grpcPort, host: '127.0.0.1' });
    waiting.on('error', () => undefined);
    await new Promise((resolve) => waiting.once('connect', resolve));
    const extra = connect({ port: h.grpcPort, host: '127.0.0.1' });
    extra.on('error', () => undefined);
    assert.equal(await closedByServer(extra), true);
    // The waiting one leaves: the real client keeps being served on its channel.
    waiting.destroy();
    await h.grpc().publish({ topic: 'cap', data: 'still served' });
    assert.deepEqual(await watcher.sync(), ['still served']);
  });
});
