import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OPTION_DEFINITIONS, type OptionDefinition } from '../../src/config/option-definitions.js';
import { checkValue } from '../../src/config/value-parsers.js';

const definitions: readonly OptionDefinition[] = OPTION_DEFINITIONS;

function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}

describe('OPTION_DEFINITIONS', () => {
  it('has unique keys, flags and environment variables', () => {
    for (const field of ['key', 'flag', 'env'] as const) {
      const names = definitions.map((definition) => definition[field]);
      assert.equal(new Set(names).size, names.length, `duplicate ${field}`);
    }
  });
  it('derives every flag and environment variable from the key', () => {
    for (const { key, flag, env, type } of definitions) {
      const stem = type === 'duration' ? key.replace(/Ms$/, '') : key;
      assert.equal(flag, `--${kebab(stem)}`, key);
      assert.equal(env, `HERALD_${kebab(stem).replaceAll('-', '_').toUpperCase()}`, key);
    }
  });
  it('names durations ...Ms and sizes ...Bytes, and nothing else so', () => {
    for (const { key, type } of definitions) {
      assert.equal(key.endsWith('Ms'), type === 'duration', key);
      assert.equal(key.endsWith('Bytes'), type === 'bytes', key);
    }
  });
  it('has defaults that pass their own checks', () => {
    for (const definition of definitions) {
      if (definition.default === undefined) continue;
      const result = checkValue(definition, definition.default);
      assert.ok(result.ok, `${definition.key}: ${result.ok ? '' : result.problem}`);
    }
  });
  it('classifies every row as a node setting or process-only', () => {
    for (const { key, scope } of definitions) assert.ok(scope === 'node' || scope === 'process', `${key}: scope ${String(scope)}`);
  });
  it('describes every option in a sentence', () => {
    for (const { key, description } of definitions) assert.match(description, /^[A-Z].*\.$/s, key);
  });
  it('has the documented defaults', () => {
    const defaults = Object.fromEntries(definitions.map((definition) => [definition.key, definition.default]));
    assert.deepEqual(defaults, {
      wsHost: '0.0.0.0', wsPort: 9992, wsPath: '/ws', apiHost: '127.0.0.1', apiPort: 10068,
      grpcHost: '127.0.0.1', grpcPort: 10067, grpcMaxConnections: 1000, pushTokens: undefined, insecurePushApi: false,
      heartbeatTimeoutMs: 60_000, messageTimeoutMs: 30_000, handshakeTimeoutMs: 5_000, maxRequestBytes: 8192, maxMessageBytes: 65536,
      closeTimeoutMs: 3_000, maxBufferedBytes: 1048576, slowConsumerPolicy: 'close', mergeWindowMs: 0, perMessageDeflate: false, deflateThresholdBytes: 256, tlsCertFile: undefined, tlsKeyFile: undefined, maxConnections: undefined, maxConnectionsPerIp: undefined,
      newConnectionsPerSecondPerIp: undefined, allowedOrigins: undefined, jwtSecret: undefined, jwtPublicKeyFile: undefined, jwtJwksFile: undefined,
      jwtAlgorithms: undefined, jwtIssuer: undefined, jwtAudience: undefined, authUrl: undefined,
      authTimeoutMs: 3_000, maxTopicLength: 256, topicPattern: undefined, maxSubscriptionsPerConnection: 1024, replyMessages: 'english', clientPresence: false, maxTopics: 1_000_000, maxSubscriptions: 5_000_000, maxPushBytes: 1048576,
      maxBatchItems: 1000, pushRequestTimeoutMs: 5_000, pushRequestsPerSecond: undefined, engine: 'memory', redisUrl: 'redis://127.0.0.1:6379', natsUrl: 'nats://127.0.0.1:4222', natsPrefix: 'herald',
      subscribeProxyUrl: undefined, subscribeProxyTimeoutMs: 2_000, subscribeProxyConcurrency: 64, subscribeProxyQueue: 1000, subscribeProxyCacheMs: 0,
      connectProxyUrl: undefined, connectProxyTimeoutMs: 2_000, connectProxyConcurrency: 64, connectProxyQueue: 1000, connectProxyHeaders: ['cookie'],
      redisPrefix: 'herald:', redisCluster: false, nodeId: undefined, presence: false, presenceTtlMs: 30_000, joinLeave: false, historySize: 100, historyTtlMs: 300_000, workers: 1, transport: 'auto', shutdownTimeoutMs: 10_000, logLevel: 'info',
      logFormat: undefined,
      namespaces: undefined,
      webhooks: undefined, webhookBatchSize: 100, webhookBatchWaitMs: 100, webhookMaxQueuedEvents: 100_000, webhookTimeoutMs: 5_000, webhookRetryMinMs: 500, webhookRetryMaxMs: 30_000,
    });
  });
});
