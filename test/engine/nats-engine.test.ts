import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it, type TestContext } from 'node:test';
import { streamOf, type StreamPosition } from '../../src/engine/engine.js';
import { NatsEngine, type NatsEngineOptions } from '../../src/engine/nats-engine.js';
import { NatsProcess } from '../helpers/nats.js';
import { barrier, DeliveryRecorder, runEngineSuite, unique } from './engine-suite.js';

const server = await NatsProcess.start();
after(() => server.dispose());

/** A fresh prefix (= JetStream stream name), so fixtures never share streams. */
const freshPrefix = (): string => `hrt${randomBytes(5).toString('hex')}`;

runEngineSuite('NatsEngine', async ({ historySize }) => {
  const engine = new NatsEngine({ servers: [server.url], prefix: freshPrefix(), historySize });
  return {
    engine,
    routesByInterest: true,
    interestSettled: () => engine.settled(),
    cleanup: () => engine.close(),
  };
});
