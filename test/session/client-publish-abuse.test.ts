/**
 * Op 9 with data a client shapes against the server, on a real node: JSON
 * nested so deep that JSON.parse reads it but the recursive JSON.stringify
 * cannot write it back (32,000 levels fit in the default 64 KiB message).
 * That is the client's bad request (30001), not a bug that closes its
 * connection with 1011 and is reported as an internal error.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { HERALD_V1 } from '../../src/node.js';
import { startNode, type TestNode } from '../helpers/herald-node.js';

describe('op 9: data nested too deeply for JSON.stringify', () => {
  let h: TestNode;

  before(async () => {
    h = await startNode({ namespaces: [{ topics: 'open:*', publish: true }] });
  });
  after(() => h.stop());

  it('is answered 30001 and the connection goes on', async () => {
    const c = await h.connect({ protocol: HERALD_V1 });
    const depth = 32_000;
    c.send(`{"code":9,"id":1,"topic":"open:deep","data":${'['.repeat(depth)}${']'.repeat(depth)}}`);
    const reply = await c.nextReply();
    assert.equal(reply.code, 30001, JSON.stringify(reply));
    assert.equal(reply.detail, 'data is nested too deeply');
    assert.equal((reply as { id?: unknown }).id, 1);
    // Still open and serving.
    c.send({ code: 9, id: 2, topic: 'open:deep', data: [[1]] });
    assert.equal(((await c.nextReply(20009)) as { id?: unknown }).id, 2);
    await c.close();
  });
});
