import { endianness } from 'node:os';

const LITTLE_ENDIAN = endianness() === 'LE';

/** Byte `k` (0–3, network order) of a 32-bit masking key. */
function maskByte(mask: number, k: number): number {
  return (mask >>> (24 - 8 * (k & 3))) & 0xff;
}

/** Below this length, creating a Uint32Array view costs more than the word loop saves. */
const WORD_THRESHOLD = 256;

/**
 * XOR `buf` in place with a 32-bit masking key (RFC 6455 §5.3), big-endian
 * packed: `mask = key[0] << 24 | key[1] << 16 | key[2] << 8 | key[3]`.
 * Masking is an involution, so the same call masks and unmasks.
 *
 * From 256 bytes the aligned middle goes a 32-bit word at a time (~2× a byte
 * loop in V8); shorter payloads and the ends use a byte loop unrolled by 4.
 */
export function applyMask(buf: Uint8Array, mask: number): void {
  const n = buf.length;
  let i = 0;
  if (n >= WORD_THRESHOLD) {
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
    let w = 0;
    for (const end = words - 3; w < end; w += 4) {
      view[w] ^= m32;
      view[w + 1] ^= m32;
      view[w + 2] ^= m32;
      view[w + 3] ^= m32;
    }
    for (; w < words; w++) view[w] ^= m32;
    i += words * 4;
  }
  // Key bytes in the phase of position i.
  const m0 = maskByte(mask, i);
  const m1 = maskByte(mask, i + 1);
  const m2 = maskByte(mask, i + 2);
  const m3 = maskByte(mask, i + 3);
  for (const end = n - 3; i < end; i += 4) {
    buf[i] ^= m0;
    buf[i + 1] ^= m1;
    buf[i + 2] ^= m2;
    buf[i + 3] ^= m3;
  }
  if (i < n) buf[i++] ^= m0;
  if (i < n) buf[i++] ^= m1;
  if (i < n) buf[i] ^= m2;
}
