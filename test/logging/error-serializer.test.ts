import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { logSerializers } from '../../src/logging/error-serializer.js';

/** What a logger built as main.ts builds it writes for `{ err }`. */
function logged(err: unknown): { message: string; stack: string } {
  const lines: string[] = [];
  const logger = pino({ base: null, serializers: logSerializers }, { write: (line: string) => void lines.push(line) });
  logger.fatal({ err }, 'could not start');
  return (JSON.parse(lines[0]) as { err: { message: string; stack: string } }).err;
}

describe('error serializer', () => {
  it('says a cause once when the error message already names it', () => {
    const cause = new Error('no connection to the redis cluster within 10000 ms');
    const err = logged(new Error(`redis cluster not ready: ${cause.message}`, { cause }));
    assert.equal(err.message, 'redis cluster not ready: no connection to the redis cluster within 10000 ms');
    assert.match(err.stack, /caused by: Error: no connection to the redis cluster/);
  });

  it('appends a cause the message does not name, through a chain and a cycle', () => {
    const root = new Error('ECONNREFUSED');
    const middle = new Error('connect failed', { cause: root });
    const top = new Error('engine unavailable', { cause: middle });
    (root as { cause?: unknown }).cause = top;
    assert.equal(logged(top).message, 'engine unavailable: connect failed: ECONNREFUSED');
  });

  it('leaves what is not an Error as pino does', () => {
    assert.deepEqual(logged({ code: 1 }), { code: 1 } as never);
  });
});
