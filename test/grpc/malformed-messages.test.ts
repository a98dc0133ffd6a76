/**
 * Malformed protobuf sent as raw bytes (a grpc-js client whose serializer
 * passes the bytes through) is refused with INVALID_ARGUMENT on every push
 * method, nothing is delivered, and the server keeps serving. protobufjs alone
 * decoded `0a ff ff ff ff 0f 41` (field 1 claiming 4 GiB with one byte
 * present) as a push to uid "A".
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadProtos } from '../../src/api/grpc-push-api.js';
import { checkMessage, PUSH_SCHEMA } from '../../src/api/strict-protobuf.js';
import { fakeVerifier, type TestClient } from '../helpers/herald-node.js';
import { CALL_DEADLINE_MS, expectStatus, grpc, startGrpcNode, type GrpcTestNode, type PublishSummary } from '../helpers/grpc-client.js';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const passThrough = (bytes: Buffer): Buffer => bytes;

/** The bytes from the report: field 1 (uid), length varint 0xffffffff, then one byte "A". */
const OVERLONG_LENGTH = hex('0a ff ff ff ff 0f 41');
const MALFORMED: Record<string, Buffer> = {
  'overlong length (the report)': OVERLONG_LENGTH,
  'length past the end': hex('0a 05 41 42'),
  'truncated length varint': hex('12 ff'),
  'uid that is not UTF-8': hex('0a 02 c3 28'),
  'topic that is a lone surrogate in CESU form': hex('12 03 ed a0 80'),
  'uid sent as a varint': hex('08 41'),
  'unknown field with an overlong length': hex('0a 01 41 22 ff ff ff ff 0f'),
  'a group (wire type 3)': hex('0a 01 41 23 24'),
  'field number 0': hex('02 00'),
  'an 11-byte varint': hex('20 ff ff ff ff ff ff ff ff ff ff 01'),
};

describe('strict protobuf checks', () => {
  it('refuse each malformed message and accept well-formed ones, unknown fields included', () => {
    for (const [name, bytes] of Object.entries(MALFORMED)) assert.notEqual(checkMessage(bytes, PUSH_SCHEMA), undefined, name);
    assert.match(checkMessage(OVERLONG_LENGTH, PUSH_SCHEMA) ?? '', /field 1 claims 4294967295 bytes but 1 remain/);
    assert.equal(checkMessage(hex(''), PUSH_SCHEMA), undefined);
    assert.equal(checkMessage(hex('0a 01 41 12 01 74 1a 02 ff 00'), PUSH_SCHEMA), undefined);
    // Unknown fields of every wire type but groups are skipped.
    assert.equal(checkMessage(hex('0a 01 41 20 96 01 29 0102030405060708 35 01020304 42 02 ff ff'), PUSH_SCHEMA), undefined);
  });
});

describe('gRPC: malformed messages → INVALID_ARGUMENT', () => {
  let h: GrpcTestNode;
  let raw: grpc.Client;
  let userA: TestClient;
  let watcher: TestClient;
  const protos = loadProtos();
  const summaryOf = protos.herald.herald.v1.Push.service.PublishStream.responseDeserialize as (b: Buffer) => PublishSummary;

  function unary(path: string, bytes: Buffer): Promise<unknown> {
    return new Promise((resolve, reject) => {
      raw.makeUnaryRequest(path, passThrough, passThrough, bytes, new grpc.Metadata(), { deadline: Date.now() + CALL_DEADLINE_MS }, (error, value) =>
        error ? reject(error) : resolve(value),
      );
    });
  }

  function stream(messages: Buffer[]): Promise<PublishSummary> {
    return new Promise((resolve, reject) => {
      const call = raw.makeClientStreamRequest(
        '/herald.v1.Push/PublishStream',
        passThrough,
        summaryOf,
        new grpc.Metadata(),
        { deadline: Date.now() + CALL_DEADLINE_MS },
        (error, value) => (error ? reject(error) : resolve(value as PublishSummary)),
      );
      for (const message of messages) call.write(message);
      call.end();
    });
  }

  /** Nothing reached user A or the topic watcher; a well-formed push still does. */
  async function nothingDeliveredAndStillServing(marker: string): Promise<void> {
    assert.deepEqual(await userA.sync(), []);
    assert.deepEqual(await watcher.sync(), []);
    await h.grpc().publish({ topic: 't', data: marker });
    assert.deepEqual(await watcher.sync(), [marker]);
  }

  before(async () => {
    h = await startGrpcNode({ verifier: fakeVerifier() });
    raw = new grpc.Client(`127.0.0.1:${h.grpcPort}`, grpc.credentials.createInsecure());
    userA = await h.connect();
    await userA.login('user:A', 'A');
    watcher = await h.connect();
    await watcher.subscribe('t');
  });
  after(async () => {
    raw.close();
    await h.stop();
  });

  it('well-formed raw bytes go through the same client (the pass-through works)', async () => {
    await unary('/order.Proxy/PushData', hex('0a 01 41 1a 02 68 69')); // uid "A", data "hi"
    assert.deepEqual(await userA.sync(), ['hi']);
  });

  for (const path of ['/order.Proxy/PushData', '/herald.v1.Push/Publish']) {
    it(`${path}: 0a ff ff ff ff 0f 41 and other malformed messages → INVALID_ARGUMENT, nothing delivered`, async () => {
      for (const [name, bytes] of Object.entries(MALFORMED)) {
        const error = await expectStatus(unary(path, bytes), grpc.status.INVALID_ARGUMENT, /^MALFORMED_MESSAGE: /);
        assert.ok(error.details.length > 'MALFORMED_MESSAGE: '.length, name);
      }
      await nothingDeliveredAndStillServing(`after ${path}`);
    });
  }

  it('/herald.v1.Push/PublishBatch: a malformed item inside the batch → INVALID_ARGUMENT, no item delivered', async () => {
    const good = hex('12 01 74 1a 02 6f 6b'); // topic "t", data "ok"
    const batch = Buffer.concat([hex('0a'), Buffer.from([good.length]), good, hex('0a 07'), OVERLONG_LENGTH]);
    await expectStatus(unary('/herald.v1.Push/PublishBatch', batch), grpc.status.INVALID_ARGUMENT, /^MALFORMED_MESSAGE: field 1: field 1 claims/);
    await expectStatus(unary('/herald.v1.Push/PublishBatch', OVERLONG_LENGTH), grpc.status.INVALID_ARGUMENT, /^MALFORMED_MESSAGE: /);
    await nothingDeliveredAndStillServing('after batch');
  });

  it('/herald.v1.Push/PublishStream: a malformed message is that item\'s failure (MALFORMED_MESSAGE); the others are published', async () => {
    const summary = await stream([hex('12 01 74 1a 02 61 31'), OVERLONG_LENGTH, hex('12 01 74 1a 02 61 32')]);
    assert.equal(summary.accepted, 2);
    assert.equal(summary.failed, 1);
    assert.deepEqual(summary.failures.map((f) => [Number(f.index), f.code]), [[1, 'MALFORMED_MESSAGE']]);
    assert.deepEqual(await watcher.sync(), ['a1', 'a2']);
    assert.deepEqual(await userA.sync(), []);
  });
});
