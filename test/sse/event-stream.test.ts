import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OpCode } from '../../src/protocol/constants.js';
import { encodeFrame } from '../../src/protocol/frame-encoder.js';
import { renderSseEvent, unframe } from '../../src/protocol/event-stream.js';
import { PreparedMessage } from '../../src/protocol/prepared-message.js';

const text = (s: string) => renderSseEvent(OpCode.Text, Buffer.from(s)).toString();

describe('event-stream rendering (HTML §9.2.6)', () => {
  it('writes UTF-8 text as one data line per LF-separated line, then the dispatching blank line', () => {
    assert.equal(text('hello'), 'data: hello\n\n');
    assert.equal(text('a\nb\n'), 'data: a\ndata: b\ndata: \n\n');
    assert.equal(text(''), 'data: \n\n');
    assert.equal(text(' leading space'), 'data:  leading space\n\n');
    assert.equal(text('héllo ✓'), 'data: héllo ✓\n\n');
  });

  it('writes binary payloads, and text holding CR or NUL, as event: binary in base64', () => {
    const bytes = Buffer.from([0, 1, 0xfe, 0xff]);
    assert.equal(renderSseEvent(OpCode.Binary, bytes).toString(), `event: binary\ndata: ${bytes.toString('base64')}\n\n`);
    assert.equal(text('a\r\nb'), `event: binary\ndata: ${Buffer.from('a\r\nb').toString('base64')}\n\n`);
    assert.equal(text('a\0b'), `event: binary\ndata: ${Buffer.from('a\0b').toString('base64')}\n\n`);
  });

  it('renders a prepared message once per format and shares it', () => {
    const message = new PreparedMessage(OpCode.Text, Buffer.from('x'), { topic: 't', position: { seq: 3, epoch: 'e' } }, 't:t');
    assert.equal(message.sseEvent(), message.sseEvent());
    assert.equal(message.ndjsonLine(), message.ndjsonLine());
    assert.equal(message.ndjsonLine().toString(), '{"topic":"t","seq":3,"epoch":"e","data":"x"}\n');
  });

  it('shares the event with its own id line, for one-stream cursors, built once', () => {
    const message = new PreparedMessage(OpCode.Text, Buffer.from('x'), { topic: 't', position: { seq: 3, epoch: 'e' } }, 't:t');
    assert.equal(message.positionEntry(), '3:e');
    assert.equal(message.sseEventWithOwnId(), message.sseEventWithOwnId());
    assert.equal(message.sseEventWithOwnId().toString(), 'id: 3:e\ndata: x\n\n');
    const unpositioned = new PreparedMessage(OpCode.Text, Buffer.from('x'), {}, '');
    assert.equal(unpositioned.positionEntry(), '');
  });

  it('reads back the payload of frames this server encodes, at every length form', () => {
    for (const size of [0, 125, 126, 65535, 65536]) {
      const payload = Buffer.alloc(size, 0x61);
      const { opcode, payload: back } = unframe(encodeFrame(OpCode.Text, payload));
      assert.equal(opcode, OpCode.Text);
      assert.deepEqual(back, payload);
    }
  });
});
