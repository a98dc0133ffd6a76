import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatExtension, parseExtensionHeader } from '../../src/protocol/extension-header.js';

describe('parseExtensionHeader', () => {
  it('splits extensions and parameters, lower-casing names and keeping values as sent', () => {
    assert.deepEqual(parseExtensionHeader('Foo; A=1; b="X\\"y", bar ,baz;c'), [
      { name: 'foo', params: [['a', '1'], ['b', 'X"y']] },
      { name: 'bar', params: [] },
      { name: 'baz', params: [['c', true]] },
    ]);
  });

  it('returns an empty list for a header of only separators and undefined on a syntax error', () => {
    assert.deepEqual(parseExtensionHeader(' , '), []);
    for (const bad of ['a b', 'a;', 'a;=1', 'a; b=', 'a; b="', 'a; b="x\\', 'a=1', 'a, @', 'é']) {
      assert.equal(parseExtensionHeader(bad), undefined, bad);
    }
  });
});

describe('formatExtension', () => {
  it('writes name; param; param=value, quoting a value that is not a token', () => {
    assert.equal(formatExtension({ name: 'permessage-deflate', params: [] }), 'permessage-deflate');
    assert.equal(
      formatExtension({ name: 'permessage-deflate', params: [['server_no_context_takeover', true], ['server_max_window_bits', '10']] }),
      'permessage-deflate; server_no_context_takeover; server_max_window_bits=10',
    );
    assert.equal(formatExtension({ name: 'x', params: [['p', 'a b"c']] }), 'x; p="a b\\"c"');
  });

  it('round-trips through parseExtensionHeader', () => {
    const offer = { name: 'foo', params: [['a', '1'], ['b', 'X"y z'], ['c', true]] as const };
    assert.deepEqual(parseExtensionHeader(formatExtension(offer)), [{ name: 'foo', params: [['a', '1'], ['b', 'X"y z'], ['c', true]] }]);
  });
});
