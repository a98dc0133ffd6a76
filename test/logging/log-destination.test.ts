/**
 * The log destination: a write error (EPIPE) ends logging without throwing or
 * retrying, a reader that stops reading costs a bounded amount of memory
 * (lines past the bound are dropped, then reported once it drains), and the
 * pretty format is applied. With pino on top: what main.ts builds.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { createLogDestination, defaultLogFormat } from '../../src/logging/log-destination.js';

/** A stand-in for process.stdout whose backlog the test controls. */
class FakeOutput extends EventEmitter {
  written: string[] = [];
  writableLength = 0;
  write(chunk: string): boolean {
    this.written.push(chunk);
    return true;
  }
}

describe('log destination', () => {
  it('stops writing, and never throws, once the output reports an error (EPIPE)', () => {
    const output = new FakeOutput();
    const destination = createLogDestination({ output });
    const logger = pino({ base: null }, destination);
    logger.info('before');
    output.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    logger.info('after');
    logger.fatal('fatal after');
    assert.equal(destination.broken, true);
    assert.equal(output.written.length, 1);
    assert.match(output.written[0], /"msg":"before"/);
  });

  it('treats a write that throws (a destroyed stream) like an error', () => {
    const destination = createLogDestination({
      output: Object.assign(new FakeOutput(), {
        write(): boolean {
          throw new Error('write after end');
        },
      }),
    });
    assert.doesNotThrow(() => destination.write('{"msg":"x"}\n'));
    assert.equal(destination.broken, true);
  });

  it('drops lines past the bound while the reader is behind, and reports how many once it drains', () => {
    const output = new FakeOutput();
    const destination = createLogDestination({ output, maxPendingBytes: 100 });
    destination.write('{"msg":"one"}\n');
    output.writableLength = 101;
    destination.write('{"msg":"two"}\n');
    destination.write('{"msg":"three"}\n');
    assert.equal(destination.dropped, 2);
    assert.equal(output.written.length, 1);
    output.writableLength = 0;
    output.emit('drain');
    destination.write('{"msg":"four"}\n');
    assert.equal(output.written.length, 3);
    const report = JSON.parse(output.written[1]) as { dropped: number; level: number };
    assert.equal(report.dropped, 2);
    assert.equal(report.level, 40);
    assert.match(output.written[2], /four/);
  });

  it('formats lines for a terminal in pretty format', () => {
    const output = new FakeOutput();
    const logger = pino({ base: { service: 'herald' } }, createLogDestination({ output, format: 'pretty', colors: false }));
    logger.info({ port: 9992 }, 'listening');
    assert.match(output.written[0], /^\d\d:\d\d:\d\d\.\d{3} INFO  listening port=9992\n$/);
  });

  it('defaults to pretty on a terminal and JSON otherwise', () => {
    assert.equal(defaultLogFormat({ isTTY: true }), 'pretty');
    assert.equal(defaultLogFormat({ isTTY: false }), 'json');
    assert.equal(defaultLogFormat({}), 'json');
  });
});
