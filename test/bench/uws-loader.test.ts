/**
 * The bench's uWS.js loader: its GLIBC_2.38 rewrite must produce exactly the
 * bytes of the reference patcher in /work/shared/bench-peers (when that file
 * is there), change only the dynamic tables, refuse a binary it cannot
 * patch, and load a uWS.js that can make an App. Writes to os.tmpdir() only.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadUws, patchGlibc238, stockBinary } from '../../bench/servers/uws-loader.js';

const REFERENCE = '/work/shared/bench-peers/patch-uws-glibc.mjs';

function needsGlibc238(elf: Buffer): boolean {
  return elf.includes(Buffer.from('GLIBC_2.38\0', 'latin1'));
}

describe('uWS.js loader', () => {
  const stock = stockBinary();
  const bytes = readFileSync(stock.path);

  it('rewrites the three C23 symbols and nothing outside the dynamic tables', { skip: !needsGlibc238(bytes) && 'stock binary needs no patch' }, () => {
    const { bytes: patched, renamed } = patchGlibc238(bytes);
    assert.equal(patched.length, bytes.length);
    assert.deepEqual(renamed.map((r) => r.split(' ')[0]).sort(), ['__isoc23_sscanf', '__isoc23_strtol', '__isoc23_strtoul']);
    assert.equal(needsGlibc238(patched), true, 'the string stays in .dynstr; only references to it change');
    let changed = 0;
    for (let i = 0; i < bytes.length; i++) if (bytes[i] !== patched[i]) changed++;
    assert.ok(changed > 0 && changed <= 3 * 6 + 8, `${changed} bytes changed`);
    assert.throws(() => patchGlibc238(patched), /does not need GLIBC_2\.38/);
  });

  it('matches the reference patcher byte for byte', { skip: (!existsSync(REFERENCE) || !needsGlibc238(bytes)) && 'no reference or no patch needed' }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-uws-test-'));
    try {
      const out = join(dir, 'reference.node');
      execFileSync(process.execPath, [REFERENCE, stock.path, out], { stdio: 'pipe' });
      assert.ok(patchGlibc238(bytes).bytes.equals(readFileSync(out)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses input that is not ELF64', () => {
    assert.throws(() => patchGlibc238(Buffer.from('not an elf file at all, just text; long enough to read a header from it....')), /not an ELF/);
  });

  it('loads uWS.js and says which binary it ran', () => {
    const { uws, binary } = loadUws<{ App: () => unknown }>();
    assert.equal(typeof uws.App, 'function');
    assert.equal(binary.version, stock.version);
    const header = (process.report.getReport() as { header: { glibcVersionRuntime?: string } }).header;
    const [major, minor] = (header.glibcVersionRuntime ?? '0.0').split('.').map(Number);
    const oldGlibc = major < 2 || (major === 2 && minor < 38);
    assert.equal(binary.kind, needsGlibc238(bytes) && oldGlibc ? 'patched' : 'stock');
    if (binary.kind === 'patched') assert.ok(binary.path.startsWith(tmpdir()));
    else assert.equal(binary.path, stock.path);
  });
});
