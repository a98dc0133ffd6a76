import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { StageTiming, leadingNanoseconds, parseStageTiming, stageTiming, type PushSample } from '../../src/util/stage-timing.js';

describe('stage timing', () => {
  it('is off unless HERALD_STAGE_TIMING names a positive sampling interval', () => {
    assert.equal(process.env.HERALD_STAGE_TIMING === undefined ? stageTiming : null, null);
    assert.equal(parseStageTiming(undefined), undefined);
    assert.equal(parseStageTiming(''), undefined);
    assert.equal(parseStageTiming('0'), undefined);
    assert.equal(parseStageTiming('-3'), undefined);
    assert.equal(parseStageTiming('yes'), undefined);
    assert.equal(parseStageTiming('1'), 1);
    assert.equal(parseStageTiming('100'), 100);
  });

  it('reads a bench stamp (a monotonic ns count and a space) from the front of a payload, else 0', () => {
    assert.equal(leadingNanoseconds(Buffer.from('1234567890123 xxxx')), 1234567890123);
    assert.equal(leadingNanoseconds(Buffer.from('12345 xxxx')), 0, 'too short to be a stamp');
    assert.equal(leadingNanoseconds(Buffer.from('1234567890123x')), 0, 'no space after it');
    assert.equal(leadingNanoseconds(Buffer.from('{"a":1}')), 0);
    assert.equal(leadingNanoseconds(Buffer.alloc(0)), 0);
  });

  it('samples one push in N, and records a push once its lists are written and it is answered', () => {
    const timing = new StageTiming(2);
    const lists = [['a'], ['b']];
    timing.watch({ snapshot: (sample: PushSample) => lists.forEach((l) => sample.waiting.add(l)) });
    const samples = [timing.begin(), timing.begin(), timing.begin(), timing.begin()];
    assert.deepEqual(samples.map((s) => s !== null), [true, false, true, false]);
    const sample = samples[0] as PushSample;
    timing.parsed(sample, Buffer.from('not a stamp'));
    timing.current = sample;
    timing.hubStart();
    timing.hubEnd();
    timing.current = null;
    assert.equal(sample.listsAtQueue, 2);
    assert.equal(timing.inFlight.size, 1);
    timing.answered(sample);
    timing.sliceStarted(lists[0], performance.now());
    assert.ok(!Number.isNaN(sample.firstWrite));
    timing.listFinished(lists[0], performance.now());
    assert.equal(timing.report(), '', 'not recorded while a list holding it is unwritten');
    timing.listMerged(lists[1], lists[0]);
    timing.listFinished(lists[0], performance.now());
    assert.equal(timing.inFlight.size, 0);
    const report = timing.report();
    assert.match(report, /1 push in 2 sampled/);
    assert.match(report, /queued → all written\s+n=\s+1 /);
    assert.doesNotMatch(report, /pusher stamp/, 'no bench stamp, no such stage');
  });

  it('times a handshake from accept to the 101 written, once per connection', () => {
    const timing = new StageTiming(1);
    const conn = {};
    timing.upgraded(conn);
    assert.equal(timing.report(), '', 'never accepted: nothing recorded');
    timing.accepted(conn);
    timing.upgraded(conn);
    timing.upgraded(conn);
    assert.match(timing.report(), /accepted → 101 written\s+n=\s+1 /);
  });
});
