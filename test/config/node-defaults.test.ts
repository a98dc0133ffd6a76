/**
 * Defaults live in one place, the option table: `new HeraldNode()` with no
 * options runs with the same settings as `npm start` with no flags, no
 * HERALD_* variables and no config file, and the standalone defaults of the
 * layers below the node (which may not import the config layer) equal the
 * table's.
 *
 * The one listener difference is deliberate and asserted as such: an embedder
 * opts in to the gRPC listener (`grpcPort` unset: none), while `npm start`
 * always passes the table's 10067. `transport` is `auto` on both paths; main.ts
 * resolves it before building the node (to log the choice) with the same
 * chooseTransport() the node's WebSocketServer runs at listen.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import {
  loadConfig,
  NODE_SETTING_KEYS,
  OPTION_DEFAULTS,
  OPTION_DEFINITIONS,
  type HeraldConfig,
  type OptionDefinition,
} from '../../src/config/index.js';
import { createControlPlane } from '../../src/control/create-control-plane.js';
import { REDIS_CONTROL_PLANE_DEFAULTS } from '../../src/control/redis-control-plane.js';
import { createEngine } from '../../src/engine/create-engine.js';
import { HISTORY_DEFAULTS } from '../../src/engine/stream-history.js';
import { WEBSOCKET_SERVER_DEFAULTS } from '../../src/gateway/server-options.js';
import { HeraldNode } from '../../src/node.js';
import { DEFAULT_DEFLATE_THRESHOLD } from '../../src/protocol/permessage-deflate.js';
import { WEBHOOK_DISPATCHER_DEFAULTS } from '../../src/webhooks/dispatcher.js';

const rows: readonly OptionDefinition[] = OPTION_DEFINITIONS;

/** What `npm start` loads with nothing set (main.ts: loadConfig over argv and process.env). */
function cliConfig(): HeraldConfig {
  return loadConfig({ argv: [], env: {}, cwd: '/' });
}

/** The node main.ts's runSingle builds from that config (no verifier, TLS or transport choice: none is set). */
function cliNode(): HeraldNode {
  const config = cliConfig();
  const logger = pino({ level: 'silent' });
  return new HeraldNode({
    ...config,
    logger,
    engine: createEngine(config, logger),
    controlPlane: createControlPlane(config, logger),
  });
}

describe('defaults in one place', () => {
  it('classifies every row, and the node rows are exactly the settings HeraldNode resolves', () => {
    for (const { key, scope } of rows) assert.ok(scope === 'node' || scope === 'process', `${key} has no scope`);
    const nodeRows = rows.filter((row) => row.scope === 'node').map((row) => row.key);
    assert.deepEqual([...NODE_SETTING_KEYS], nodeRows);
    assert.deepEqual(Object.keys(new HeraldNode().settings).sort(), [...nodeRows].sort());
  });

  it('gives new HeraldNode() the settings npm start gives its node, field by field', () => {
    const bare = new HeraldNode().settings;
    const cli = cliNode().settings;
    const config = cliConfig();
    for (const key of NODE_SETTING_KEYS) {
      if (key === 'grpcPort') continue;
      assert.deepEqual(bare[key], cli[key], `${key}: new HeraldNode() has ${String(bare[key])}, npm start ${String(cli[key])}`);
      assert.deepEqual(cli[key], config[key], `${key}: npm start's node has ${String(cli[key])}, the config ${String(config[key])}`);
    }
    // The deliberate listener difference (see the header).
    assert.equal(bare.grpcPort, undefined);
    assert.equal(cli.grpcPort, config.grpcPort);
    assert.equal(config.grpcPort, 10067);
  });

  it('builds the gateway of both nodes from those settings', () => {
    const config = cliConfig();
    for (const node of [new HeraldNode(), cliNode()]) {
      assert.equal(node.ws.maxMessageSize, config.maxMessageBytes);
      assert.equal(node.ws.maxBufferedBytes, config.maxBufferedBytes);
      assert.equal(node.controlPlane.nodeId.length, 10, 'a random node id, as with --node-id unset');
    }
  });

  it('keeps the standalone defaults of the layers below the node equal to the table', () => {
    assert.deepEqual(
      { ...WEBSOCKET_SERVER_DEFAULTS },
      {
        maxRequestBytes: OPTION_DEFAULTS.maxRequestBytes,
        handshakeTimeoutMs: OPTION_DEFAULTS.handshakeTimeoutMs,
        closeTimeoutMs: OPTION_DEFAULTS.closeTimeoutMs,
        maxMessageSize: OPTION_DEFAULTS.maxMessageBytes,
        maxBufferedBytes: OPTION_DEFAULTS.maxBufferedBytes,
        slowConsumerPolicy: OPTION_DEFAULTS.slowConsumerPolicy,
        mergeWindowMs: OPTION_DEFAULTS.mergeWindowMs,
        transport: OPTION_DEFAULTS.transport,
      },
    );
    assert.deepEqual({ ...HISTORY_DEFAULTS }, { size: OPTION_DEFAULTS.historySize, ttlMs: OPTION_DEFAULTS.historyTtlMs });
    assert.equal(DEFAULT_DEFLATE_THRESHOLD, OPTION_DEFAULTS.deflateThresholdBytes);
    assert.deepEqual(
      { ...WEBHOOK_DISPATCHER_DEFAULTS },
      {
        batchSize: OPTION_DEFAULTS.webhookBatchSize,
        batchWaitMs: OPTION_DEFAULTS.webhookBatchWaitMs,
        maxQueuedEvents: OPTION_DEFAULTS.webhookMaxQueuedEvents,
        timeoutMs: OPTION_DEFAULTS.webhookTimeoutMs,
        retryMinMs: OPTION_DEFAULTS.webhookRetryMinMs,
        retryMaxMs: OPTION_DEFAULTS.webhookRetryMaxMs,
      },
    );
    assert.deepEqual(
      { ...REDIS_CONTROL_PLANE_DEFAULTS },
      { prefix: OPTION_DEFAULTS.redisPrefix, presenceTtlMs: OPTION_DEFAULTS.presenceTtlMs, url: OPTION_DEFAULTS.redisUrl },
    );
  });
});
