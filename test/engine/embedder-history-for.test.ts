/**
 * An embedder's engine and the namespaces' history limits: the engine must be
 * built with `historyFor: namespaces.historyLimits()`; the node warns at
 * construction when namespaces set limits and the engine given has none.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { MemoryEngine } from '../../src/engine/memory-engine.js';
import { HeraldNode } from '../../src/node.js';
import { Namespaces } from '../../src/util/namespaces.js';

/** A warn-level logger and the messages it wrote. */
function recordingLogger(): { logger: pino.Logger; messages: string[] } {
  const messages: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') messages.push((JSON.parse(line) as { msg: string }).msg);
      done();
    },
  });
  return { logger: pino({ level: 'warn' }, sink), messages };
}

const WITH_LIMITS = Namespaces.parse([{ topics: 'chat:*', historySize: 10 }]);
const WITHOUT_LIMITS = Namespaces.parse([{ topics: 'chat:*', subscribe: 'login' }]);

function warnings(options: ConstructorParameters<typeof HeraldNode>[0]): Promise<string[]> {
  const { logger, messages } = recordingLogger();
  new HeraldNode({ ...options, logger });
  // pino writes to a stream asynchronously: let it flush.
  return new Promise((resolve) => setImmediate(() => resolve(messages.filter((m) => m.includes('historyFor')))));
}

describe('an embedder engine and namespace history limits', () => {
  it('warns when namespaces set history limits and the engine was built without historyFor', async () => {
    assert.equal((await warnings({ namespaces: WITH_LIMITS, engine: new MemoryEngine() })).length, 1);
  });

  it('does not warn when the engine has historyFor, when no namespace sets limits, or for the default engine', async () => {
    const historyFor = WITH_LIMITS.historyLimits();
    assert.deepEqual(await warnings({ namespaces: WITH_LIMITS, engine: new MemoryEngine({ history: { historyFor } }) }), []);
    assert.deepEqual(await warnings({ namespaces: WITHOUT_LIMITS, engine: new MemoryEngine() }), []);
    assert.deepEqual(await warnings({ namespaces: WITH_LIMITS }), []);
  });

  it('MemoryEngine exposes the historyFor it was given', () => {
    const historyFor = WITH_LIMITS.historyLimits();
    assert.equal(new MemoryEngine({ history: { historyFor } }).historyFor, historyFor);
    assert.equal(new MemoryEngine().historyFor, undefined);
  });
});
