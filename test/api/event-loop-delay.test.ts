/**
 * `/metrics` event-loop delay gauges: no sentinel of an empty histogram
 * (9223372036.85, NaN) right after start or between two close scrapes, and
 * the sampling interval is not reported as delay.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { eventLoopDelaySeconds } from '../../src/api/event-loop-delay.js';
import { startNode, type TestNode } from '../helpers/herald-node.js';

describe('event-loop delay metrics', () => {
  let h: TestNode | undefined;
  after(async () => {
    await h?.stop();
  });

  it('/metrics right after start, and scraped again at once, has no NaN and no 9223372036', async () => {
    const node = (h = await startNode());
    for (let scrape = 0; scrape < 2; scrape++) {
      const res = await node.request('/metrics');
      assert.equal(res.status, 200);
      const lag = res.text.split('\n').filter((line) => line.startsWith('herald_nodejs_eventloop_lag'));
      assert.equal(lag.length, 8, res.text);
      assert.doesNotMatch(res.text, /\bnan\b/i);
      assert.doesNotMatch(res.text, /9223372036/);
      for (const line of lag) assert.ok(Number.isFinite(Number(line.split(' ')[1])), line);
    }
  });

  it('reads an empty histogram as 0 and takes the sampling interval off a sample', () => {
    assert.equal(eventLoopDelaySeconds(9223372036.854776, 1), 0, 'min of an empty histogram');
    assert.equal(eventLoopDelaySeconds(Number.NaN, 1), 0, 'mean of an empty histogram');
    assert.equal(eventLoopDelaySeconds(0, 1), 0, 'percentile of an empty histogram');
    assert.equal(eventLoopDelaySeconds(1.25, 1), 0.25);
    assert.equal(eventLoopDelaySeconds(0.9995, 1), 0, 'a timer run a little early is no delay');
    assert.equal(eventLoopDelaySeconds(0.003, 0), 0.003, 'the standard deviation keeps its value');
  });
});
