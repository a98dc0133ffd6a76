import { isUtf8 } from 'node:buffer';

/**
 * Incremental UTF-8 validator for text messages that arrive in fragments
 * (RFC 6455 §5.6, §8.1: an endpoint receiving invalid UTF-8 in a text message
 * MUST fail the connection — and it may do so as soon as the bytes seen so far
 * cannot be a prefix of valid UTF-8, without waiting for the final fragment).
 *
 * The bulk of each chunk is checked with Node's native `isUtf8`; only the
 * 1–3 bytes of a code point split across chunks go through the byte-wise
 * state machine below (the well-formed ranges of Unicode Table 3-7).
 */
export class Utf8Validator {
  /** Continuation bytes still expected for the current code point. */
  private need = 0;
  /** Allowed range of the next continuation byte. */
  private lo = 0x80;
  private hi = 0xbf;

  /** Forget any partial code point (start of a new message). */
  reset(): void {
    this.need = 0;
    this.lo = 0x80;
    this.hi = 0xbf;
  }

  /** True when no code point is left incomplete: the message may end here. */
  get complete(): boolean {
    return this.need === 0;
  }

  /**
   * Feed the next chunk of a message. Returns false as soon as the bytes seen
   * so far cannot be a prefix of valid UTF-8.
   */
  write(chunk: Uint8Array): boolean {
    const len = chunk.length;
    let i = 0;
    while (this.need !== 0 && i < len) {
      if (!this.step(chunk[i++])) return false;
    }
    if (i === len) return true;
    const rest = i === 0 ? chunk : chunk.subarray(i);
    if (isUtf8(rest)) return true;
    // Either invalid, or a valid prefix with a code point cut at the end:
    // back up over at most 3 continuation bytes to the last lead byte.
    let tail = rest.length - 1;
    const stop = Math.max(0, rest.length - 4);
    while (tail > stop && (rest[tail] & 0xc0) === 0x80) tail--;
    if (tail > 0 && !isUtf8(rest.subarray(0, tail))) return false;
    for (let j = tail; j < rest.length; j++) {
      if (!this.step(rest[j])) return false;
    }
    return true;
  }

  private step(b: number): boolean {
    if (this.need === 0) {
      if (b < 0x80) return true;
      if (b >= 0xc2 && b <= 0xdf) return this.expect(1, 0x80, 0xbf);
      if (b === 0xe0) return this.expect(2, 0xa0, 0xbf);
      if (b === 0xed) return this.expect(2, 0x80, 0x9f); // no UTF-16 surrogates
      if (b >= 0xe1 && b <= 0xef) return this.expect(2, 0x80, 0xbf);
      if (b === 0xf0) return this.expect(3, 0x90, 0xbf);
      if (b >= 0xf1 && b <= 0xf3) return this.expect(3, 0x80, 0xbf);
      if (b === 0xf4) return this.expect(3, 0x80, 0x8f); // nothing above U+10FFFF
      return false;
    }
    if (b < this.lo || b > this.hi) return false;
    this.need--;
    this.lo = 0x80;
    this.hi = 0xbf;
    return true;
  }

  private expect(need: number, lo: number, hi: number): boolean {
    this.need = need;
    this.lo = lo;
    this.hi = hi;
    return true;
  }
}
