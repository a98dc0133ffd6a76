import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_UID_LENGTH, checkTopic, checkUid, DEFAULT_TOPIC_RULES } from '../../src/util/topic-rules.js';

const CONTROL = /control characters/;
const SURROGATE = /lone surrogate/;

describe('checkUid / checkTopic characters', () => {
  it('accept ordinary names in any language, emoji (surrogate pairs) included', () => {
    for (const name of ['u1', 'inbox', 'ユーザー', 'chat:général', 'a😀b', '😀', 'x\u00a0y', '\u00a0']) {
      assert.equal(checkUid(name), undefined, name);
      assert.equal(checkTopic(name, DEFAULT_TOPIC_RULES), undefined, name);
    }
  });

  it('refuse C0 and C1 control characters and DEL anywhere', () => {
    for (const name of ['\x00', 'a\x1f', '\x7fa', 'a\x80b', 'a\x9f', 'tab\there', 'line\n']) {
      assert.match(checkUid(name) ?? '', CONTROL, JSON.stringify(name));
      assert.match(checkTopic(name, DEFAULT_TOPIC_RULES) ?? '', CONTROL, JSON.stringify(name));
    }
  });

  it('refuse a surrogate that is not part of a pair', () => {
    for (const name of ['\ud800', 'a\udfff', 'a\ud83d', '\ude00a', '\ud83d\ud83d', '\ude00\ud83d', 'ok😀\ud800']) {
      assert.match(checkUid(name) ?? '', SURROGATE, JSON.stringify(name));
      assert.match(checkTopic(name, DEFAULT_TOPIC_RULES) ?? '', SURROGATE, JSON.stringify(name));
    }
  });

  it('report a control character before a lone surrogate, wherever each is', () => {
    assert.match(checkUid('\ud800 then \x01') ?? '', CONTROL);
    assert.match(checkTopic('\x01 then \ud800', DEFAULT_TOPIC_RULES) ?? '', CONTROL);
  });

  it('keep the other rules: type, empty, length', () => {
    assert.match(checkUid(5) ?? '', /must be a string/);
    assert.match(checkUid('') ?? '', /must not be empty/);
    assert.equal(checkUid('u'.repeat(MAX_UID_LENGTH)), undefined);
    assert.match(checkUid('u'.repeat(MAX_UID_LENGTH + 1)) ?? '', /longer than/);
    assert.match(checkTopic('t'.repeat(257), DEFAULT_TOPIC_RULES) ?? '', /longer than 256 bytes/);
    assert.match(checkTopic('x', { maxTopicLength: 256, topicPattern: /^a$/ }) ?? '', /pattern/);
  });
});
