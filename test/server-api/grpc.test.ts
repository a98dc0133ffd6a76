/**
 * The gRPC server API (`herald.v1.Server`, proto/herald/v1/server.proto) on a
 * real node (memory engine): every RPC, INVALID_ARGUMENT for bad input with
 * nothing touched, UNAUTHENTICATED without the token, and malformed wire data.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { PROTO_DIR } from '../../src/api/grpc-push-api.js';
import { fakeVerifier, type TestClient } from '../helpers/herald-node.js';
import { CALL_DEADLINE_MS, expectStatus, startGrpcNode, type GrpcTestNode } from '../helpers/grpc-client.js';

const TOKEN = 'grpc-server-api-token-0123456789';

type Unary = (request: unknown, metadata: grpc.Metadata, options: grpc.CallOptions, done: (e: grpc.ServiceError | null, r?: unknown) => void) => void;

function serverClient(port: number): grpc.Client {
  const definition = grpc.loadPackageDefinition(
    protoLoader.loadSync('herald/v1/server.proto', { keepCase: true, longs: Number, enums: String, defaults: true, includeDirs: [PROTO_DIR] }),
  ) as unknown as { herald: { v1: { Server: grpc.ServiceClientConstructor } } };
  return new definition.herald.v1.Server(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
}

let h: GrpcTestNode;
let client: grpc.Client;

function call(method: string, request: unknown, token: string | null = TOKEN): Promise<any> {
  const metadata = new grpc.Metadata();
  if (token !== null) metadata.set('authorization', `Bearer ${token}`);
  const fn = (client as unknown as Record<string, Unary>)[method];
  return new Promise((resolve, reject) => {
    fn.call(client, request, metadata, { deadline: Date.now() + CALL_DEADLINE_MS }, (error, response) => (error ? reject(error) : resolve(response)));
  });
}

async function push(target: { uid?: string; topic?: string }, text: string): Promise<void> {
  const res = await h.request('/v1/pushData', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify({ ...target, data: Buffer.from(text).toString('base64') }),
  });
  assert.equal(res.status, 200, res.text);
}

async function loggedIn(uid: string): Promise<TestClient> {
  const c = await h.connect();
  await c.login(`user:${uid}`, uid);
  return c;
}

describe('server API over gRPC (herald.v1.Server)', { timeout: 60_000 }, () => {
  before(async () => {
    h = await startGrpcNode({ verifier: fakeVerifier(), pushTokens: [TOKEN], nodeId: 'grpcNode', presence: true });
    client = serverClient(h.grpcPort);
  });
  after(async () => {
    client.close();
    await h.stop();
  });
  afterEach(async () => h.closeClients());

  it('refuses every RPC without the token', async () => {
    for (const method of ['Disconnect', 'Subscribe', 'Unsubscribe', 'Presence', 'PresenceStats', 'Channels', 'History', 'HistoryRemove', 'Info']) {
      await expectStatus(call(method, { uid: "a", topic: "t" }, null), grpc.status.UNAUTHENTICATED);
    }
  });

  it('Subscribe, Presence, PresenceStats, Channels, Unsubscribe, Disconnect', async () => {
    const alice = await loggedIn('alice');
    const bob = await loggedIn('bob');
    assert.deepEqual(await call('Subscribe', { uid: 'alice', topic: 'room' }), { subscribed: 1 });
    assert.deepEqual(JSON.parse(await alice.nextText()), { code: 20005, message: 'subscribed by server', topic: 'room', private: false });
    await push({ topic: 'room' }, 'hello');
    assert.deepEqual(await alice.sync(), ['hello']);
    await bob.subscribePrivate('room');

    const presence = await call('Presence', { topic: 'room' });
    assert.equal(presence.clients.length, 2);
    assert.deepEqual(presence.clients.map((c: { uid: string }) => c.uid).sort(), ['alice', 'bob']);
    for (const c of presence.clients) {
      assert.match(c.client, /^grpcNode\.\d+$/);
      assert.equal(c.node, 'grpcNode');
      assert.ok(c.connected_at > 0);
    }
    assert.equal((await call('Presence', { topic: 'room', limit: 1 })).clients.length, 1);
    assert.deepEqual(await call('PresenceStats', { topic: 'room' }), { clients: 2, users: 2 });
    assert.deepEqual(await call('Channels', {}), { channels: [{ topic: 'room', subscribers: 2 }], cursor: '' });
    assert.deepEqual(await call('Channels', { pattern: 'x*' }), { channels: [], cursor: '' });

    assert.deepEqual(await call('Unsubscribe', { uid: 'alice', topic: 'room' }), { unsubscribed: 1 });
    assert.deepEqual(JSON.parse(await alice.nextText()), { code: 20006, message: 'unsubscribed by server', topic: 'room', private: false });
    assert.deepEqual(await call('Disconnect', { uid: 'nobody' }), { disconnected: 0 });
    assert.deepEqual(await call('Disconnect', { uid: 'alice', code: 4321, reason: 'bye' }), { disconnected: 1 });
    assert.deepEqual(await alice.closed(), { code: 4321, reason: 'bye' });
    assert.deepEqual(await call('Disconnect', { uid: 'bob' }), { disconnected: 1 });
    assert.deepEqual(await bob.closed(), { code: 4100, reason: 'disconnected by server' });
  });

  it('History, HistoryRemove and Info', async () => {
    await push({ topic: 'g-hist' }, 'one');
    await push({ topic: 'g-hist' }, 'two');
    const all = await call('History', { topic: 'g-hist' });
    assert.equal(all.recovered, true);
    assert.deepEqual(all.publications.map((p: { data: Buffer }) => p.data.toString()), ['one', 'two']);
    const { epoch } = all.position;
    assert.deepEqual(all.position, { seq: 2, epoch });
    const page = await call('History', { topic: 'g-hist', since: { seq: 1, epoch }, limit: 5 });
    assert.deepEqual(page.publications.map((p: { seq: number }) => p.seq), [2]);
    assert.deepEqual(await call('HistoryRemove', { topic: 'g-hist' }), {});
    assert.equal((await call('History', { topic: 'g-hist', since: { seq: 1, epoch } })).recovered, false);

    await h.connect();
    const info = await call('Info', {});
    assert.equal(info.nodes.length, 1);
    assert.equal(info.nodes[0].id, 'grpcNode');
    assert.equal(info.nodes[0].connections, 1);
    assert.equal(typeof info.nodes[0].uptime_ms, 'number');
  });

  it('bad input → INVALID_ARGUMENT with the HTTP error code, nothing touched', async () => {
    const alice = await loggedIn('alice');
    await alice.subscribe('keep');
    const cases: [string, unknown, RegExp][] = [
      ['Disconnect', {}, /^BAD_REQUEST|^INVALID_UID/],
      ['Disconnect', { uid: 'alice', code: 1000 }, /^INVALID_CODE/],
      ['Disconnect', { uid: 'alice', code: 5000 }, /^INVALID_CODE/],
      ['Disconnect', { uid: 'alice', reason: 'x'.repeat(200) }, /^INVALID_REASON/],
      ['Subscribe', { uid: 'alice', topic: '' }, /^INVALID_TOPIC|^BAD_REQUEST/],
      ['Subscribe', { uid: 'alice', topic: 'a\u0001' }, /^INVALID_TOPIC/],
      ['Unsubscribe', { uid: '', topic: 'keep' }, /^INVALID_UID/],
      ['Presence', { topic: 'keep', limit: 1001 }, /^INVALID_LIMIT/],
      ['PresenceStats', { topic: '' }, /^INVALID_TOPIC/],
      ['Channels', { limit: 5000 }, /^INVALID_LIMIT/],
      ['History', { topic: 'keep', limit: 1001 }, /^INVALID_LIMIT/],
      ['History', { topic: '' }, /^INVALID_TOPIC/],
      ['HistoryRemove', { topic: 'x'.repeat(300) }, /^INVALID_TOPIC/],
    ];
    for (const [method, request, details] of cases) await expectStatus(call(method, request), grpc.status.INVALID_ARGUMENT, details);
    assert.equal(alice.closeEvent, undefined);
    assert.deepEqual(await alice.sync(), []);
    assert.deepEqual(await call('PresenceStats', { topic: 'keep' }), { clients: 1, users: 1 });
  });

  it('malformed wire data → INVALID_ARGUMENT (MALFORMED_MESSAGE)', async () => {
    const raw = new grpc.Client(`127.0.0.1:${h.grpcPort}`, grpc.credentials.createInsecure());
    const passThrough = (bytes: Buffer): Buffer => bytes;
    const send = (path: string, bytes: Buffer): Promise<unknown> => {
      const metadata = new grpc.Metadata();
      metadata.set('authorization', `Bearer ${TOKEN}`);
      return new Promise((resolve, reject) =>
        raw.makeUnaryRequest(path, passThrough, passThrough, bytes, metadata, { deadline: Date.now() + CALL_DEADLINE_MS }, (e, v) =>
          e ? reject(e) : resolve(v),
        ),
      );
    };
    try {
      // Field 1 (uid) claiming 4 GiB with one byte present.
      await expectStatus(send('/herald.v1.Server/Disconnect', Buffer.from('0affffffff0f41', 'hex')), grpc.status.INVALID_ARGUMENT, /^MALFORMED_MESSAGE/);
      // Field 2 (code) sent length-delimited instead of as a varint.
      await expectStatus(send('/herald.v1.Server/Disconnect', Buffer.from('0a0161120141', 'hex')), grpc.status.INVALID_ARGUMENT, /varint/);
      // since.seq sent length-delimited.
      await expectStatus(send('/herald.v1.Server/History', Buffer.from('0a01741a030a0141', 'hex')), grpc.status.INVALID_ARGUMENT, /MALFORMED/);
    } finally {
      raw.close();
    }
  });
});
