import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ThrottledLog } from '../../src/proxy/proxy-metrics.js';

describe('ThrottledLog', () => {
  it('writes one line per interval and counts the ones it left out in the next', async () => {
    const lines: [object, string][] = [];
    const log = new ThrottledLog({ warn: (object, message) => void lines.push([object, message]) }, 50);
    log.warn({ n: 1 }, 'first');
    log.warn({ n: 2 }, 'second');
    log.warn({ n: 3 }, 'third');
    assert.deepEqual(lines, [[{ n: 1 }, 'first']]);
    await sleep(60); // only ever longer than the interval: no assertion on how much longer
    log.warn({ n: 4 }, 'fourth');
    assert.deepEqual(lines[1], [{ n: 4, suppressed: 2 }, 'fourth']);
  });

  it('is silent without a logger', () => {
    new ThrottledLog(undefined).warn({}, 'nobody listens');
  });
});
