/**
 * The layering of src/ (ARCHITECTURE.md, "Layers"), enforced: every import
 * between layers must be allowed by LAYERS below, which is the same table as
 * ARCHITECTURE.md's. A layer is a folder of src/ or a top-level module.
 * `types` lists layers that may be imported for types only (`import type`).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'src');

interface Rule {
  /** Layers this one may import. */
  imports: readonly string[];
  /** Layers it may import types from, and nothing else. */
  types?: readonly string[];
}

const ALL = '*';

/** Who may import whom. Shared vocabulary (codes, streams, util) imports nothing of ours. */
export const LAYERS: Readonly<Record<string, Rule>> = {
  codes: { imports: [] },
  streams: { imports: [] },
  util: { imports: [] },
  protocol: { imports: [] },
  config: { imports: ['util'] },
  tls: { imports: [] },
  auth: { imports: [] },
  client: { imports: ['codes'] },
  gateway: { imports: ['protocol', 'util'] },
  hub: { imports: ['protocol', 'streams'] },
  engine: { imports: ['streams'] },
  control: { imports: ['engine', 'streams', 'util', 'codes'] },
  session: { imports: ['gateway', 'hub', 'protocol', 'codes', 'streams', 'util', 'control'], types: ['auth'] },
  logging: { imports: ['codes'], types: ['gateway', 'protocol'] },
  'listen-error': { imports: ['config'] },
  api: { imports: ['engine', 'protocol', 'util', 'codes', 'control', 'listen-error', 'streams'], types: ['hub', 'tls'] },
  console: { imports: ['api'], types: ['client'] },
  proxy: { imports: ['util'], types: ['session'] },
  node: { imports: [ALL], types: [] },
  'node-control': { imports: [ALL] },
  cluster: { imports: ['node', 'api', 'gateway', 'engine', 'console', 'listen-error', 'control', 'proxy'], types: ['auth', 'config'] },
  cli: { imports: ['config', 'codes'] },
  webhooks: { imports: ['config', 'engine'], types: ['hub'] },
  main: { imports: [ALL] },
  index: { imports: [ALL] },
  internal: { imports: [ALL] },
};

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else if (name.endsWith('.ts')) out.push(path);
  }
  return out;
}

function layerOf(file: string): string {
  const parts = relative(SRC, file).split(sep);
  return parts.length > 1 ? parts[0] : parts[0].replace(/\.ts$/, '');
}

interface Edge {
  from: string;
  to: string;
  file: string;
  typeOnly: boolean;
}

/** Every import/export-from of a relative module crossing layers. */
export function crossLayerImports(files: readonly string[]): Edge[] {
  const edges: Edge[] = [];
  const statement = /^\s*(import|export)\s+(type\s+)?[^'"]*?\bfrom\s+['"](\.{1,2}\/[^'"]+)['"]/gm;
  const sideEffect = /^\s*import\s+['"](\.{1,2}\/[^'"]+)['"]/gm;
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const found: { spec: string; typeOnly: boolean }[] = [];
    for (const m of text.matchAll(statement)) found.push({ spec: m[3], typeOnly: m[2] !== undefined });
    for (const m of text.matchAll(sideEffect)) found.push({ spec: m[1], typeOnly: false });
    for (const { spec, typeOnly } of found) {
      const target = resolve(dirname(file), spec).replace(/\.js$/, '.ts');
      const from = layerOf(file);
      const to = layerOf(target);
      if (from !== to) edges.push({ from, to, file: relative(SRC, file), typeOnly });
    }
  }
  return edges;
}

function violations(edges: readonly Edge[]): string[] {
  const out: string[] = [];
  for (const e of edges) {
    const rule = LAYERS[e.from];
    if (rule === undefined) {
      out.push(`${e.file}: layer "${e.from}" is not in the layers table`);
      continue;
    }
    if (rule.imports.includes(ALL) || rule.imports.includes(e.to)) continue;
    if (e.typeOnly && rule.types?.includes(e.to)) continue;
    out.push(`${e.file}: ${e.from} must not import ${e.typeOnly ? 'types from ' : ''}${e.to}`);
  }
  return out;
}

describe('architecture: layers', () => {
  it('every import between layers of src/ is allowed by the layers table', () => {
    assert.deepEqual(violations(crossLayerImports(walk(SRC))), []);
  });

  it('no cycle between layers', () => {
    const graph = new Map<string, Set<string>>();
    for (const e of crossLayerImports(walk(SRC))) {
      if (!graph.has(e.from)) graph.set(e.from, new Set());
      (graph.get(e.from) as Set<string>).add(e.to);
    }
    const cycles: string[] = [];
    const visit = (node: string, path: string[]): void => {
      if (path.includes(node)) {
        cycles.push([...path.slice(path.indexOf(node)), node].join(' → '));
        return;
      }
      for (const next of graph.get(node) ?? []) visit(next, [...path, node]);
    };
    for (const node of graph.keys()) visit(node, []);
    assert.deepEqual([...new Set(cycles)], []);
  });

  it('catches a forbidden import (the check itself can fail)', () => {
    const edges: Edge[] = [
      { from: 'protocol', to: 'gateway', file: 'protocol/x.ts', typeOnly: false },
      { from: 'api', to: 'hub', file: 'api/y.ts', typeOnly: false },
      { from: 'api', to: 'hub', file: 'api/z.ts', typeOnly: true },
    ];
    assert.deepEqual(violations(edges), ['protocol/x.ts: protocol must not import gateway', 'api/y.ts: api must not import hub']);
  });
});

/**
 * ARCHITECTURE.md's "Layers" table, read back: each row's layers (the backticked `src/x/` or
 * `src/x.ts`) with what they may import ("nothing of ours", "everything", or a list, then
 * "; types: …"; parenthesised notes ignored).
 */
function documentedLayers(): Map<string, Rule> {
  const text = readFileSync(join(SRC, '..', 'ARCHITECTURE.md'), 'utf8');
  const section = text.slice(text.indexOf('## Layers'), text.indexOf('\n## ', text.indexOf('## Layers') + 1));
  const rows = new Map<string, Rule>();
  for (const line of section.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length < 5 || !cells[1]?.startsWith('`src/')) continue;
    const mayImport = (cells[3] ?? '').replace(/\([^)]*\)/g, '');
    const [imports, types] = mayImport.split(/;\s*types:/);
    const list = (part: string | undefined): string[] =>
      part === undefined || /nothing of ours/.test(part) ? [] : /everything/.test(part) ? [ALL] : part.split(',').map((l) => l.trim()).filter((l) => l !== '');
    for (const match of cells[1].matchAll(/`src\/([\w-]+)(?:\/|\.ts)`/g)) {
      rows.set(match[1] as string, { imports: list(imports), types: list(types) });
    }
  }
  return rows;
}

describe('ARCHITECTURE.md', () => {
  it('its layers table says what LAYERS enforces, row for row', () => {
    const documented = documentedLayers();
    assert.deepEqual([...documented.keys()].sort(), Object.keys(LAYERS).sort(), 'the same layers');
    for (const [layer, rule] of Object.entries(LAYERS)) {
      const doc = documented.get(layer) as Rule;
      assert.deepEqual([...doc.imports].sort(), [...rule.imports].sort(), `${layer}: may import`);
      assert.deepEqual([...(doc.types ?? [])].sort(), [...(rule.types ?? [])].sort(), `${layer}: types`);
    }
  });
});
