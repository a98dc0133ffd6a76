/**
 * `--reply-messages gpush`: replies byte-for-byte as gpush wrote them
 * (internal/socket/model/response of gpush), against a real node.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fakeVerifier, startNode, type TestNode } from '../helpers/herald-node.js';

describe('session: gpush reply texts', () => {
  let h: TestNode;
  before(async () => {
    h = await startNode({ verifier: fakeVerifier(), replyMessages: 'gpush' });
  });
  after(() => h.stop());

  it('greets, answers and refuses with gpush’s exact texts', async () => {
    const c = await h.connect({ greeting: false });
    assert.equal(await c.nextText(), '{"code":20000,"message":"连接成功"}');
    c.send({ code: 1, topic: 'news' });
    assert.equal(await c.nextText(), '{"code":20001,"message":"订阅成功"}');
    c.send({ code: 2, topic: 'news' });
    assert.equal(await c.nextText(), '{"code":20002,"message":"取消订阅成功"}');
    c.send('not json');
    assert.equal(await c.nextText(), '{"code":30001,"message":"操作有误","detail":"数据格式不正确"}');
    c.send({ code: 5, topic: 'inbox' });
    assert.equal(await c.nextText(), '{"code":30002,"message":"操作有误","detail":"未登录"}');
    c.send({ code: 3, data: 'bad credential' });
    assert.equal(await c.nextText(), '{"code":30003,"message":"token验证失败","detail":"token验证失败"}');
    c.send({ code: 3, data: 'user:alice' });
    assert.equal(await c.nextText(), '{"code":20003,"message":"登录成功","detail":{"uid":"alice"}}');
    c.send({ code: 4 });
    assert.equal(await c.nextText(), '{"code":20004,"message":"退出成功"}');
    c.send({ code: 1, topic: '' });
    const invalid = JSON.parse(await c.nextText()) as { code: number; message: string; detail: string };
    assert.equal(invalid.code, 30004);
    assert.equal(invalid.message, '主题无效');
    assert.equal(typeof invalid.detail, 'string', 'Herald’s own codes keep their reason');
    await c.close();
  });

  it('english is the default', async (t) => {
    const plain = await startNode({});
    t.after(() => plain.stop());
    const c = await plain.connect({ greeting: false });
    assert.equal(await c.nextText(), '{"code":20000,"message":"connected"}');
    await c.close();
  });
});
