import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { didYouMean, editDistance, suggest } from '../../src/config/suggest.js';

describe('suggest', () => {
  it('counts an adjacent transposition as one edit', () => {
    assert.equal(editDistance('wsprot', 'wsport'), 1);
    assert.equal(editDistance('', 'abc'), 3);
    assert.equal(editDistance('kitten', 'sitting'), 3);
  });
  it('ignores case, dashes and underscores', () => {
    assert.equal(suggest('ws-port', ['wsPort', 'apiPort']), 'wsPort');
    assert.equal(suggest('WS_PORT', ['wsPort', 'apiPort']), 'wsPort');
    assert.equal(suggest('wsprot', ['wsPort', 'wsPath']), 'wsPort');
  });
  it('suggests nothing when no candidate is close', () => {
    assert.equal(suggest('verbose', ['info', 'debug']), undefined);
    assert.equal(suggest('x', ['wsPort']), undefined);
    assert.equal(didYouMean('zzz', ['wsPort']), '');
  });
  it('formats a suggestion for appending to a message', () => {
    assert.equal(didYouMean('--ws-prot', ['--ws-port']), ' (did you mean "--ws-port"?)');
  });
});
