/**
 * formatPretty: one pino JSON record as one readable line (time, level,
 * message, key=value fields), an error's stack on indented lines, and no raw
 * control character from a field ever reaching the terminal.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatPretty } from '../../src/logging/pretty.js';

/** 2025-01-02 03:04:05.006 local time. */
const TIME = new Date(2025, 0, 2, 3, 4, 5, 6).getTime();
const record = (fields: Record<string, unknown>): string => `${JSON.stringify({ level: 30, time: TIME, service: 'herald', ...fields })}\n`;

describe('formatPretty', () => {
  it('writes time, level, message, then the other fields as key=value', () => {
    const line = formatPretty(record({ msg: 'herald started', ws: 'ws://0.0.0.0:9992/ws', grpcTls: false, workers: 2 }));
    assert.equal(line, '03:04:05.006 INFO  herald started ws=ws://0.0.0.0:9992/ws grpcTls=false workers=2\n');
  });

  it('names every pino level', () => {
    const names = [10, 20, 30, 40, 50, 60].map((level) => formatPretty(record({ level, msg: 'm' })).slice(13, 18));
    assert.deepEqual(names, ['TRACE', 'DEBUG', 'INFO ', 'WARN ', 'ERROR', 'FATAL']);
  });

  it('quotes strings holding spaces, quotes or =, and writes objects as JSON', () => {
    const line = formatPretty(record({ msg: 'connection closed', code: 1000, reason: 'going away', odd: 'a=b', obj: { a: [1] }, empty: '' }));
    assert.equal(line, '03:04:05.006 INFO  connection closed code=1000 reason="going away" odd="a=b" obj={"a":[1]} empty=""\n');
  });

  it('escapes control characters (a client-chosen close reason must not drive the terminal)', () => {
    const line = formatPretty(record({ msg: 'two\nlines', reason: '\u001b[2Jgone\u0085', plain: 'x\u007f' }));
    assert.equal(line.split('\n').length, 2, 'one line');
    assert.doesNotMatch(line, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    assert.match(line, /two lines reason="\\u001b\[2Jgone\\u0085" plain="x\\u007f"/);
  });

  it('puts an error message on the line and its stack on indented lines after it', () => {
    const err = { type: 'Error', message: 'boom', stack: 'Error: boom\n    at f (file.js:1:1)' };
    const line = formatPretty(record({ level: 50, msg: 'push API request failed', err }));
    assert.equal(line, '03:04:05.006 ERROR push API request failed err=boom\n    Error: boom\n        at f (file.js:1:1)\n');
  });

  it('colours the level only when asked', () => {
    assert.match(formatPretty(record({ level: 40, msg: 'w' }), { colors: true }), /\u001b\[33mWARN \u001b\[0m w/);
    assert.doesNotMatch(formatPretty(record({ level: 40, msg: 'w' })), /\u001b/);
  });

  it('passes a line that is not a JSON object through unchanged', () => {
    assert.equal(formatPretty('not json'), 'not json\n');
    assert.equal(formatPretty('[1,2]\n'), '[1,2]\n');
  });
});
