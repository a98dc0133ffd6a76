import { OpCode } from './constants.js';
import { encodeFrame } from './frame-encoder.js';
import { renderSseEvent, sseIdLine } from './event-stream.js';
import { encodeMessageFrame, type DeflateParams } from './permessage-deflate.js';

/**
 * Where an enveloped message came from, for `herald.v1` deliveries. An engine's
 * `Delivery` is one structurally: the hub passes it as is, so a push costs no
 * second object repeating its uid, topic and position.
 */
export interface MessageOrigin {
  readonly uid?: string;
  readonly topic?: string;
  /** Position in its stream, when the engine keeps history. */
  readonly position?: { readonly seq: number; readonly epoch?: string };
}

/**
 * One outgoing message framed once for every kind of receiver:
 * - the raw payload (gpush protocol), built up front;
 * - the `herald.v1` envelope `{"topic","seq","epoch","data"|"dataBase64",…}`, on first demand;
 * - each of those compressed for permessage-deflate, on first demand, once per
 *   server window size (with `server_no_context_takeover` the compressed bytes
 *   depend on nothing else).
 * - the Server-Sent Events block (without its per-connection `id:` line) and
 *   the NDJSON line (the envelope and LF), on first demand;
 * Every variant is then shared by all the connections that need it.
 */
export class PreparedMessage {
  readonly plain: Buffer;
  /** The stream the message belongs to (see `streamOf`), or '' when unknown. */
  readonly stream: string;
  readonly origin: MessageOrigin;
  private readonly opcode: OpCode;
  private readonly payload: Uint8Array;
  /**
   * The variants built on demand, in one object made at the first: most
   * messages (a push to one raw-protocol connection) need none, and seven
   * empty fields on each would be allocated and cleared per push for nothing.
   */
  private built: Variants | null = null;

  constructor(opcode: OpCode, payload: Uint8Array, origin: MessageOrigin = {}, stream = '') {
    this.opcode = opcode;
    this.payload = payload;
    this.origin = origin;
    this.stream = stream;
    this.plain = encodeFrame(opcode, payload);
  }

  /** Frames compressed so far, over all PreparedMessages (for metrics and tests). */
  static compressions = 0;

  /** The epoch of its stream, when it has a position. */
  get epoch(): string | undefined {
    return this.origin.position?.epoch;
  }

  /** The sequence number in its stream, or 0. */
  get seq(): number {
    return this.origin.position?.seq ?? 0;
  }

  /**
   * The frame for a connection: raw payload or `herald.v1` envelope, compressed
   * if it negotiated permessage-deflate (`params`), else plain.
   */
  frameFor(params: DeflateParams | null, envelope = false): Buffer {
    if (params === null) return envelope ? this.envelopeFrame() : this.plain;
    const slots = (this.variants().compressed ??= [[], []])[envelope ? 1 : 0];
    let frame = slots[params.serverMaxWindowBits];
    if (frame === undefined) {
      frame = envelope
        ? encodeMessageFrame(OpCode.Text, this.envelope(), params)
        : encodeMessageFrame(this.opcode, this.payload, params);
      slots[params.serverMaxWindowBits] = frame;
      PreparedMessage.compressions++;
    }
    return frame;
  }

  /** The SSE event for this message, minus its `id:` line (event-stream.ts); built once. */
  sseEvent(): Buffer {
    const v = this.variants();
    return (v.sse ??= renderSseEvent(this.opcode, this.payload));
  }

  /** `<seq>:<epoch>`, this message's entry in an SSE cursor (or '' without a position); built once. */
  positionEntry(): string {
    const v = this.variants();
    if (v.positionText !== null) return v.positionText;
    const seq = this.origin.position?.seq;
    const epoch = this.origin.position?.epoch;
    return (v.positionText = seq === undefined || seq === 0 || epoch === undefined ? '' : `${seq}:${epoch}`);
  }

  /**
   * The SSE event behind the `id:` line of a cursor that is this message's
   * position alone — what every one-stream SSE subscriber is sent, so it too
   * is built once and shared (no per-connection bytes). Built on first demand.
   */
  sseEventWithOwnId(): Buffer {
    const v = this.variants();
    return (v.sseWithId ??= Buffer.concat([sseIdLine(this.positionEntry()), this.sseEvent()]));
  }

  /** The `herald.v1` envelope as one NDJSON line; built once. */
  ndjsonLine(): Buffer {
    const v = this.variants();
    return (v.ndjson ??= Buffer.from(`${this.envelope()}\n`, 'utf8'));
  }

  private envelopeFrame(): Buffer {
    const v = this.variants();
    return (v.envelopePlain ??= encodeFrame(OpCode.Text, this.envelope()));
  }

  /** The `herald.v1` delivery envelope (JSON text). */
  envelope(): string {
    const v = this.variants();
    if (v.envelopeText !== null) return v.envelopeText;
    const { uid, topic, position } = this.origin;
    const body: Record<string, unknown> = {};
    if (topic !== undefined) body.topic = topic;
    if (uid !== undefined) body[topic !== undefined ? 'private' : 'user'] = true;
    if (uid === undefined && topic === undefined) body.all = true;
    if (position !== undefined) {
      body.seq = position.seq;
      body.epoch = position.epoch;
    }
    const payload = Buffer.from(this.payload.buffer, this.payload.byteOffset, this.payload.byteLength);
    if (this.opcode === OpCode.Text) body.data = payload.toString('utf8');
    else body.dataBase64 = payload.toString('base64');
    return (v.envelopeText = JSON.stringify(body));
  }

  private variants(): Variants {
    return (this.built ??= {
      envelopeText: null,
      envelopePlain: null,
      sse: null,
      sseWithId: null,
      positionText: null,
      ndjson: null,
      compressed: null,
    });
  }
}

/** A PreparedMessage's variants, each built on first demand (null until then). */
interface Variants {
  envelopeText: string | null;
  envelopePlain: Buffer | null;
  sse: Buffer | null;
  sseWithId: Buffer | null;
  positionText: string | null;
  ndjson: Buffer | null;
  /** Compressed frames: [raw by window bits, envelope by window bits]. */
  compressed: [(Buffer | undefined)[], (Buffer | undefined)[]] | null;
}
