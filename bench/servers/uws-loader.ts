/**
 * Loading uWebSockets.js (`@btc-vision/uwebsockets.js`, a bench-only
 * devDependency) on this Debian: the stock `uws_linux_x64_<abi>.node` first;
 * only when that fails because the binary wants `GLIBC_2.38`, a patched copy
 * written to a cache directory under os.tmpdir() (never a tracked file).
 *
 * Why a patch works (see /work/shared/bench-peers/README.md): the binary
 * needs glibc 2.38 only for three C23 symbols, `__isoc23_strtol`,
 * `__isoc23_strtoul` and `__isoc23_sscanf`. They differ from the classic
 * functions only in also accepting `0b` prefixes, which uWS never parses. The
 * rewrite, on the ELF64 dynamic tables only (System V gABI, "Dynamic Symbol
 * Table"; LSB "Symbol Versioning"):
 * - each of those `.dynsym` entries gets the name 9 bytes further on in
 *   `.dynstr` (the same string without `__isoc23_`, i.e. `strtol`…);
 * - its `.gnu.version` index becomes the one of the `GLIBC_2.2.5` need;
 * - the `GLIBC_2.38` vernaux entry of `.gnu.version_r` becomes a second
 *   `GLIBC_2.2.5` (hash and name), so the loader asks for nothing newer.
 * Nothing else changes; the file size stays the same.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
export const UWS_PACKAGE = '@btc-vision/uwebsockets.js';
const C23_PREFIX = '__isoc23_';
/** The classic functions the `__isoc23_` names may stand for here. */
const C23_CLASSIC = new Set(['strtol', 'strtoul', 'strtoll', 'strtoull', 'sscanf']);

const SHT_DYNSYM = 11;
const SHT_GNU_VERNEED = 0x6ffffffe;
const SHT_GNU_VERSYM = 0x6fffffff;
const SYM_SIZE = 24; // Elf64_Sym
const VERSYM_HIDDEN = 0x8000;

/** Which binary a bench run loaded: reported in its output and JSON. */
export interface UwsBinary {
  kind: 'stock' | 'patched';
  /** The `.node` file actually loaded. */
  path: string;
  /** The stock file it comes from. */
  stockPath: string;
  /** Version of the npm package. */
  version: string;
  /** For `patched`: the symbols rewritten, and why the stock one failed. */
  renamed?: string[];
  stockError?: string;
}

interface Section {
  type: number;
  offset: number;
  size: number;
  link: number;
  info: number;
}

function sections(elf: Buffer): Section[] {
  if (elf.length < 64 || elf.readUInt32BE(0) !== 0x7f454c46) throw new Error('not an ELF file');
  if (elf[4] !== 2 || elf[5] !== 1) throw new Error('not a little-endian ELF64 file');
  const shoff = Number(elf.readBigUInt64LE(0x28));
  const shentsize = elf.readUInt16LE(0x3a);
  const shnum = elf.readUInt16LE(0x3c);
  if (shoff + shnum * shentsize > elf.length) throw new Error('section headers beyond the end of the file');
  const list: Section[] = [];
  for (let i = 0; i < shnum; i++) {
    const at = shoff + i * shentsize;
    list.push({
      type: elf.readUInt32LE(at + 4),
      offset: Number(elf.readBigUInt64LE(at + 0x18)),
      size: Number(elf.readBigUInt64LE(at + 0x20)),
      link: elf.readUInt32LE(at + 0x28),
      info: elf.readUInt32LE(at + 0x2c),
    });
  }
  return list;
}

function cString(elf: Buffer, at: number): string {
  const end = elf.indexOf(0, at);
  if (end < 0) throw new Error('unterminated string in .dynstr');
  return elf.toString('latin1', at, end);
}

interface Need {
  /** File offset of the Elf64_Vernaux entry. */
  at: number;
  hash: number;
  nameOffset: number;
  versionIndex: number;
}

/**
 * The rewrite described at the top, on a copy of `input`. Throws when the
 * binary does not need GLIBC_2.38 from libc.so.6, or needs it for a symbol
 * other than the C23 ones.
 */
export function patchGlibc238(input: Buffer): { bytes: Buffer; renamed: string[] } {
  const elf = Buffer.from(input);
  const all = sections(elf);
  const dynsym = all.find((s) => s.type === SHT_DYNSYM);
  const versym = all.find((s) => s.type === SHT_GNU_VERSYM);
  const verneed = all.find((s) => s.type === SHT_GNU_VERNEED);
  if (!dynsym || !versym || !verneed) throw new Error('no .dynsym, .gnu.version or .gnu.version_r section');
  const dynstr = all[dynsym.link];
  const name = (offset: number) => cString(elf, dynstr.offset + offset);

  // Walk the Elf64_Verneed list (sh_info entries) and each one's Elf64_Vernaux chain.
  let glibc238: Need | undefined;
  let glibc225: Need | undefined;
  let need = verneed.offset;
  for (let n = 0; n < verneed.info; n++) {
    const auxCount = elf.readUInt16LE(need + 2);
    const file = name(elf.readUInt32LE(need + 4));
    let aux = need + elf.readUInt32LE(need + 8);
    for (let k = 0; k < auxCount; k++) {
      const entry: Need = { at: aux, hash: elf.readUInt32LE(aux), versionIndex: elf.readUInt16LE(aux + 6), nameOffset: elf.readUInt32LE(aux + 8) };
      if (file === 'libc.so.6') {
        const version = name(entry.nameOffset);
        if (version === 'GLIBC_2.38') glibc238 = entry;
        else if (version === 'GLIBC_2.2.5') glibc225 = entry;
      }
      aux += elf.readUInt32LE(aux + 12);
    }
    need += elf.readUInt32LE(need + 12);
  }
  if (glibc238 === undefined) throw new Error('the binary does not need GLIBC_2.38 from libc.so.6');
  if (glibc225 === undefined) throw new Error('the binary has no GLIBC_2.2.5 need to reuse');

  const renamed: string[] = [];
  const count = Math.floor(dynsym.size / SYM_SIZE);
  for (let i = 0; i < count; i++) {
    const versionAt = versym.offset + 2 * i;
    if ((elf.readUInt16LE(versionAt) & ~VERSYM_HIDDEN) !== glibc238.versionIndex) continue;
    const symbolAt = dynsym.offset + SYM_SIZE * i;
    const nameOffset = elf.readUInt32LE(symbolAt);
    const symbol = name(nameOffset);
    if (elf.readUInt16LE(symbolAt + 6) !== 0) throw new Error(`${symbol}@GLIBC_2.38 is defined here, not imported`);
    const classic = symbol.startsWith(C23_PREFIX) ? symbol.slice(C23_PREFIX.length) : '';
    if (!C23_CLASSIC.has(classic)) throw new Error(`${symbol}@GLIBC_2.38 has no older equivalent`);
    elf.writeUInt32LE(nameOffset + C23_PREFIX.length, symbolAt);
    elf.writeUInt16LE(glibc225.versionIndex, versionAt);
    renamed.push(`${symbol} → ${classic}@GLIBC_2.2.5`);
  }
  elf.writeUInt32LE(glibc225.hash, glibc238.at);
  elf.writeUInt32LE(glibc225.nameOffset, glibc238.at + 8);
  return { bytes: elf, renamed };
}

/** The stock binary of `UWS_PACKAGE` for this platform and Node ABI, and the package version. */
export function stockBinary(): { path: string; version: string } {
  // The package's `exports` hides package.json; its main file sits beside it.
  const packageJson = join(dirname(require.resolve(UWS_PACKAGE)), 'package.json');
  const version = (JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string }).version;
  const file = `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;
  return { path: join(dirname(packageJson), file), version };
}

/** Where the patched copy lives: a cache directory keyed by the stock file's hash (not the repository). */
export function patchedPath(stock: Buffer, version: string): string {
  const digest = createHash('sha256').update(stock).digest('hex').slice(0, 16);
  return join(tmpdir(), 'herald-bench-uws', `uws-${version}-${process.versions.modules}-${digest}.patched.node`);
}

let loaded: { uws: unknown; binary: UwsBinary } | undefined;

/**
 * uWS.js for this process (the module object the package would export),
 * and which binary it is. Loads the stock binary; patches only on the
 * GLIBC_2.38 failure; any other failure is thrown as is.
 */
export function loadUws<T = unknown>(): { uws: T; binary: UwsBinary } {
  if (loaded !== undefined) return loaded as { uws: T; binary: UwsBinary };
  const stock = stockBinary();
  try {
    loaded = { uws: require(stock.path), binary: { kind: 'stock', path: stock.path, stockPath: stock.path, version: stock.version } };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (!message.includes('GLIBC_2.38')) throw error;
    const bytes = readFileSync(stock.path);
    const target = patchedPath(bytes, stock.version);
    const { bytes: patched, renamed } = patchGlibc238(bytes);
    if (!existsSync(target) || !readFileSync(target).equals(patched)) {
      mkdirSync(dirname(target), { recursive: true });
      const tmp = `${target}.${process.pid}.tmp`;
      writeFileSync(tmp, patched);
      renameSync(tmp, target);
    }
    loaded = {
      uws: require(target),
      binary: { kind: 'patched', path: target, stockPath: stock.path, version: stock.version, renamed, stockError: message.split('\n')[0] },
    };
  }
  return loaded as { uws: T; binary: UwsBinary };
}

/** One line for logs: `uWS.js 20.57.0, patched binary /tmp/…`. */
export function describeBinary(binary: UwsBinary): string {
  return `uWS.js ${binary.version}, ${binary.kind} binary ${binary.path}`;
}
