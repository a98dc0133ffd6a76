/**
 * The benchmark scenarios `npm run bench` knows, in the order they run when
 * none is named. To add one: write `bench/<name>.ts` exporting a `Scenario`
 * (`{ name, description, run(ctx): Promise<Result> }`, see lib/types.ts) and
 * add it to this table.
 */
import { parserScenario } from './parser.js';
import type { Scenario } from './lib/types.js';

export const SCENARIOS: readonly Scenario[] = [
  parserScenario,
  // S1 idle connections, S2 fan-out, S3 connect storm, S4 many topics, S5 unicast: to come.
];
