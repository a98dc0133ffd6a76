import { MemoryEngine } from '../../src/engine/memory-engine.js';
import { runEngineSuite } from './engine-suite.js';

// One node: MemoryEngine documents that it delivers every publication (its interest calls are no-ops).
runEngineSuite('MemoryEngine', async ({ historySize }) => {
  const engine = new MemoryEngine({ history: { size: historySize } });
  return {
    engine,
    routesByInterest: false,
    interestSettled: async () => {},
    cleanup: () => engine.close(),
  };
});
