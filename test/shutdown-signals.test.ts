import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { REPEAT_SIGNAL_GRACE_MS, watchShutdownSignals } from '../src/shutdown-signals.js';

/** A signal source, a clock the test moves, and what the watcher did. */
function setup(): { signal: (name: NodeJS.Signals) => void; advance: (ms: number) => void; calls: string[] } {
  const source = new EventEmitter();
  let clock = 5_000;
  const calls: string[] = [];
  watchShutdownSignals(source, {
    onDrain: (signal) => calls.push(`drain ${signal}`),
    onForce: () => calls.push('force'),
    now: () => clock,
  });
  return { signal: (name) => source.emit(name, name), advance: (ms) => (clock += ms), calls };
}

describe('shutdown signals', () => {
  it('drains on the first SIGTERM and ignores every later one (a supervisor signalling the whole group, then npm forwarding it)', () => {
    const { signal, advance, calls } = setup();
    signal('SIGTERM');
    signal('SIGTERM');
    advance(REPEAT_SIGNAL_GRACE_MS * 5);
    signal('SIGTERM');
    assert.deepEqual(calls, ['drain SIGTERM']);
  });

  it('takes a SIGINT repeated within the grace as the same Ctrl-C (the terminal and npm both deliver it)', () => {
    const { signal, advance, calls } = setup();
    signal('SIGINT');
    signal('SIGINT');
    advance(REPEAT_SIGNAL_GRACE_MS - 1);
    signal('SIGINT');
    assert.deepEqual(calls, ['drain SIGINT']);
  });

  it('forces the exit on a SIGINT after the grace (a second Ctrl-C), also during a drain begun by SIGTERM', () => {
    const first = setup();
    first.signal('SIGINT');
    first.advance(REPEAT_SIGNAL_GRACE_MS);
    first.signal('SIGINT');
    assert.deepEqual(first.calls, ['drain SIGINT', 'force']);

    const second = setup();
    second.signal('SIGTERM');
    second.advance(REPEAT_SIGNAL_GRACE_MS + 1);
    second.signal('SIGINT');
    assert.deepEqual(second.calls, ['drain SIGTERM', 'force']);
  });
});
