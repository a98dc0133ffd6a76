import { endianness } from 'node:os';

const LITTLE_ENDIAN = endianness() === 'LE';

/** Byte `k` (0–3, network order) of a 32-bit masking key. */
function maskByte(mask: number, k: number): number {
  return (mask >>> (24 - 8 * (k & 3))) & 0xff;
}

/**
 * XOR `buf` in place with a 32-bit masking key (RFC 6455 §5.3), big-endian
 * packed: `mask = key[0] << 24 | key[1] << 16 | key[2] << 8 | key[3]`.
 * Masking is an involution, so the same call masks and unmasks.
 *
 * Payloads of 32 bytes and more are processed a 32-bit word at a time on the
 * aligned middle part, which is ~4× faster than a byte loop in V8.
 */
export function applyMask(buf: Uint8Array, mask: number): void {
  const n = buf.length;
  let i = 0;
  if (n >= 32) {
    const head = (4 - (buf.byteOffset & 3)) & 3;
    for (; i < head; i++) buf[i] ^= maskByte(mask, i);
    const words = (n - i) >>> 2;
    const b0 = maskByte(mask, i);
    const b1 = maskByte(mask, i + 1);
    const b2 = maskByte(mask, i + 2);
    const b3 = maskByte(mask, i + 3);
    const m32 = LITTLE_ENDIAN
      ? (b0 | (b1 << 8) | (b2 << 16) | (b3 << 24)) >>> 0
      : ((b0 << 24) | (b1 << 16) | (b2 << 8) | b3) >>> 0;
    const view = new Uint32Array(buf.buffer, buf.byteOffset + i, words);
    for (let w = 0; w < words; w++) view[w] ^= m32;
    i += words * 4;
  }
  const m0 = maskByte(mask, 0);
  const m1 = maskByte(mask, 1);
  const m2 = maskByte(mask, 2);
  const m3 = maskByte(mask, 3);
  for (; i < n; i++) {
    const k = i & 3;
    buf[i] ^= k === 0 ? m0 : k === 1 ? m1 : k === 2 ? m2 : m3;
  }
}
