/**
 * The README's SDK snippet, run as written (only its URL pointed at a test
 * node) in a child Node process from inside this package, so `herald/client`
 * and `ws` resolve as they do for a reader of the README in a checkout.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { fakeVerifier, startNode, waitUntil } from '../helpers/herald-node.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const README_URL = 'ws://127.0.0.1:9992/ws';

/** The first ```js block after the "Client SDK" heading of README.md. */
function readmeSnippet(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Client SDK'));
  const match = /```js\n([\s\S]*?)```/.exec(section);
  assert.ok(match, 'README has a js block in its Client SDK section');
  assert.ok(match[1].includes(README_URL), 'the snippet connects to the default WebSocket address');
  return match[1];
}

interface Run {
  child: ChildProcess;
  out: () => string;
  err: () => string;
}

function runSnippet(wsUrl: string, token: string | undefined): Run {
  // dist/ is ignored by git and inside the package: self-reference (`herald/client`) resolves there.
  const file = join(root, 'dist', `readme-snippet-${process.pid}-${Math.random().toString(36).slice(2)}.mjs`);
  writeFileSync(file, readmeSnippet().replace(README_URL, wsUrl));
  const env = { ...process.env };
  delete env.HERALD_TOKEN;
  if (token !== undefined) env.HERALD_TOKEN = token;
  const child = spawn(process.execPath, [file], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  child.on('exit', () => rmSync(file, { force: true }));
  return { child, out: () => out, err: () => err };
}

describe('README: the SDK snippet runs as written', { timeout: 60_000 }, () => {
  const children: ChildProcess[] = [];
  after(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  });

  it('without a token: receives a public push, and reports the private subscription refused', async (t) => {
    const h = await startNode({});
    t.after(() => h.stop());
    const run = runSnippet(h.wsUrl, undefined);
    children.push(run.child);
    await waitUntil(() => run.out().includes('status: open'), 'the snippet to connect', 15_000);
    await waitUntil(() => h.node.hub.subscriptionCount === 1, 'its public subscription');
    await h.send({ topic: 'news' }, 'hello');
    await waitUntil(() => run.out().includes('news 1 hello'), 'the push printed', 15_000);
    await waitUntil(() => /error: .*needs a login/.test(run.err()), 'the refused private subscription reported', 15_000);
    assert.equal(run.child.exitCode, null, 'still running');
    run.child.kill('SIGTERM');
  });

  it('with HERALD_TOKEN: logs in and receives a private push', async (t) => {
    const h = await startNode({ verifier: fakeVerifier() });
    t.after(() => h.stop());
    const run = runSnippet(h.wsUrl, 'user:alice');
    children.push(run.child);
    await waitUntil(() => h.node.hub.subscriptionCount === 2, 'public and private subscriptions', 15_000);
    await h.send({ uid: 'alice', topic: 'inbox' }, 'secret');
    await waitUntil(() => run.out().includes('private: secret'), 'the private push printed', 15_000);
    assert.equal(run.err(), '', 'no error printed');
    run.child.kill('SIGTERM');
  });
});
