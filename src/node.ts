import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { HeraldMetrics, type Transport, type TransportTotals } from './api/metrics.js';
import { PushApis } from './api/push-apis.js';
import type { LoginVerifier } from './auth/login-verifier.js';
import { HeraldCloseCode } from './codes.js';
import { NODE_SETTING_KEYS, OPTION_DEFAULTS, type HeraldConfig, type NodeSettingKey } from './config/index.js';
import { listening } from './listen-error.js';
import { consolePages, consoleWsAddress, type ConsoleWsAddress } from './console/console-routes.js';
import { ConnectionEventLog } from './logging/connection-events.js';
import type { HandshakeError } from './protocol/errors.js';
import type { UpgradeRequest } from './protocol/upgrade-request.js';
import type { ControlPlane } from './control/control-plane.js';
import { MemoryControlPlane } from './control/memory-control-plane.js';
import type { Engine } from './engine/engine.js';
import { MemoryEngine } from './engine/memory-engine.js';
import { OrderedDelivery } from './engine/ordered-delivery.js';
import type { WebSocketConnection } from './gateway/connection.js';
import type { TcpHandle } from './gateway/raw-tcp.js';
import type { TransportMode } from './gateway/transport-choice.js';
import type { TlsCertificates } from './tls/tls-certificates.js';
import { WebSocketServer } from './gateway/websocket-server.js';
import { Hub, type HubCounters, type HubPublication } from './hub/hub.js';
import { NodeControl } from './node-control.js';
import { GpushSession, type SessionClient } from './session/gpush-session.js';
import { HttpStreamSession } from './session/http-stream-session.js';
import type { HttpStreamRequest } from './gateway/http-stream.js';
import type { ClientPresence } from './session/presence-requests.js';
import type { ConnectProxy, SubscribeProxy } from './session/proxy-hooks.js';
import { Namespaces } from './util/namespaces.js';
import { streamOf } from './streams.js';
import { heraldVersion } from './version.js';
import { createNodeWebhooks, hasWebhooks, withWebhooks, type NodeWebhookOptions } from './webhooks/node-webhooks.js';
import type { Webhooks } from './webhooks/webhooks.js';
import { stageTiming, type StageTiming } from './util/stage-timing.js';

/** The WebSocket subprotocol of Herald's own protocol (envelopes, request ids, resume). */
export const HERALD_V1 = 'herald.v1';

/** The metrics' per-transport figures: the streams count their own; WebSocket's are the rest of the server's and hub's. */
function transportTotals(ws: WebSocketServer, hub: HubCounters): Record<Transport, TransportTotals> {
  const { sse, stream } = ws.streamTotals;
  const websocket: TransportTotals = {
    open: ws.connectionCount - sse.open - stream.open,
    opened: ws.websocketsOpened,
    messages: hub.deliveries - sse.messages - stream.messages,
    bytes: hub.deliveredBytes - sse.hubBytes - stream.hubBytes,
  };
  return { websocket, sse, stream };
}

/**
 * What a node runs with: every option of scope `node` (see the option table,
 * src/config/option-definitions.ts), resolved. A field the embedder leaves out
 * takes the table's default, so `new HeraldNode()` runs as `npm start` with no
 * options (test/config/node-defaults.test.ts) — except `grpcPort`: an embedder
 * opts in to the gRPC listener (the CLI always passes its default, 10067).
 */
export type NodeSettings = Omit<Pick<HeraldConfig, NodeSettingKey>, 'grpcPort'> & { readonly grpcPort: number | undefined };

/** The embedder's value of every node setting, else the option table's default (`grpcPort`: else none). */
export function resolveNodeSettings(options: HeraldNodeOptions): NodeSettings {
  const defaults: Partial<Record<NodeSettingKey, unknown>> = OPTION_DEFAULTS;
  const settings: Partial<Record<NodeSettingKey, unknown>> = {};
  for (const key of NODE_SETTING_KEYS) settings[key] = options[key] ?? (key === 'grpcPort' ? undefined : defaults[key]);
  return Object.freeze(settings) as NodeSettings;
}

/**
 * Options of a {@link HeraldNode}. Every option of scope `node` in the option
 * table is a field here, defaulting to the table's default (see
 * {@link NodeSettings}); the rest are for embedders, tests and the cluster.
 */
// `namespaces` is declared below: the node also takes the plain JSON list and parses it itself.
export interface HeraldNodeOptions extends Partial<Pick<HeraldConfig, Exclude<NodeSettingKey, 'namespaces' | 'webhooks'>>>,
    Pick<NodeWebhookOptions, 'webhooks' | 'webhookRedis' | 'webhookChannelEvents'> {
  /**
   * gRPC push API port. Unset: no gRPC listener (embedders and tests opt in);
   * the CLI always passes its own default, 10067.
   */
  grpcPort?: number;
  /** `auto`, `raw` or `net`: see WebSocketServerOptions.transport. */
  transport?: TransportMode;
  /** Clients walked per event-loop turn by one fan-out; default 16,384 (not an option: a tuning knob for tests). */
  fanOutSliceSize?: number;
  /** Where ops 7/8 read presence instead of the control plane (embedders, tests); without presence they answer 30008. */
  presenceSource?: ClientPresence;
  /**
   * Listen for WebSocket clients on this bound TCP handle instead of
   * `wsHost:wsPort` (cluster workers share the primary's handle).
   */
  wsHandle?: TcpHandle;
  /** Serve the HTTP push API (and gRPC if `grpcPort` is set); default true. Cluster workers leave it to the primary. */
  pushApi?: boolean;
  /** wss://, HTTPS and gRPC over TLS with these certificates; `reload()` on them reaches every listener. */
  tls?: TlsCertificates;
  /** Verifies op 3 credentials; none → logins answer 30003. */
  verifier?: LoginVerifier;
  /** Default: a new MemoryEngine (single process) keeping `historySize` publications per stream for `historyTtlMs`. */
  engine?: Engine;
  /**
   * Presence, cluster-wide commands, node list, join/leave (the server API).
   * Default: a new MemoryControlPlane (single process) with `nodeId` (unset: random).
   */
  controlPlane?: ControlPlane;
  logger?: Logger;
  /** Resolution of the gateway's deadline wheel (ms); default 250. Tests lower it. */
  timerResolutionMs?: number;
  /**
   * Topic namespaces (the config file's `namespaces`): compiled, or the JSON list, validated here
   * (a NamespaceError names the bad field). Default none: every topic as without namespaces.
   */
  namespaces?: Namespaces | readonly unknown[];
  /** Asked for each subscribe to a `"subscribe": "proxy"` namespace (the proxy branch builds it from options). */
  subscribeProxy?: SubscribeProxy;
  /** Admits each new connection (connect proxy); unset: connections are admitted as before. */
  connectProxy?: ConnectProxy;
  /** Upgrade headers shown to the connect proxy (lower-case names); default `["cookie"]`. */
  connectProxyHeaders?: readonly string[];
}

/** Where a started node listens. */
export interface NodeAddresses {
  ws: AddressInfo;
  /** Undefined when the push API is not served by this node. */
  api: AddressInfo | undefined;
  /** The gRPC port, or undefined when disabled. */
  grpcPort: number | undefined;
}

/**
 * The composition root of one gateway node: listener → session → hub, hub
 * interest → engine, engine deliveries → hub, push API → engine. Nothing
 * below this file knows about the others.
 */
export class HeraldNode {
  readonly hub: Hub;
  readonly engine: Engine;
  readonly controlPlane: ControlPlane;
  /** The control plane's view of this node: presence upkeep and the commands it applies here. */
  readonly control: NodeControl;
  readonly metrics: HeraldMetrics;
  readonly logger: Logger;
  readonly ws: WebSocketServer;
  /** The topic namespaces this node enforces (none unless configured). */
  readonly namespaces: Namespaces;
  /** The HTTP (and gRPC) push APIs; undefined when `pushApi` is false. */
  readonly pushApis: PushApis | undefined;
  private readonly session: GpushSession;
  /** Undefined without webhook URLs. */
  readonly webhooks: Webhooks | undefined;
  /** Gap filling for engines that can miss deliveries; undefined otherwise. */
  readonly orderedDelivery: OrderedDelivery | undefined;
  private readonly options: HeraldNodeOptions;
  /** Every node setting as this node runs with it (the embedder's, else the option table's default). */
  readonly settings: NodeSettings;
  private draining = false;
  private started = false;
  /** Where the web console connects, known once the WebSocket listener is bound. */
  private consoleWs: ConsoleWsAddress | undefined;
  private startedAt = 0;
  private wsAddress: AddressInfo | undefined;

  constructor(options: HeraldNodeOptions = {}) {
    this.options = options;
    const settings = (this.settings = resolveNodeSettings(options));
    this.logger = options.logger ?? pino({ level: 'silent' });
    const namespaces = (this.namespaces =
      options.namespaces instanceof Namespaces ? options.namespaces : Namespaces.parse(options.namespaces));
    const engine: Engine = (this.engine =
      options.engine ??
      new MemoryEngine({
        history: { size: settings.historySize, ttlMs: settings.historyTtlMs, historyFor: namespaces.historyLimits() },
      }));
    // Gap filling for engines that can miss deliveries. It learns the node's interest in each stream
    // right after the engine does, so a stream starts at its head when the node gains subscribers.
    const ordered = (this.orderedDelivery = engine.mayMissDeliveries
      ? new OrderedDelivery({
          history: (stream, since) => engine.history(stream, since),
          head: engine.head?.bind(engine),
          deliver: (delivery) => this.hub.publish(delivery),
          onLoss: (stream) => this.logger.warn({ stream }, 'publications missed during an engine outage are no longer in history'),
          onError: (error) => this.logger.error({ err: error }, 'delivering publications read from history failed (a bug)'),
          ttlMs: settings.historyTtlMs,
        })
      : undefined);
    const controlPlane = (this.controlPlane = options.controlPlane ?? new MemoryControlPlane({ nodeId: settings.nodeId }));
    const control = (this.control = new NodeControl({
      hub: () => this.hub,
      session: () => this.session,
      controlPlane,
      presence: settings.presence,
      joinLeave: settings.joinLeave,
      joinLeaveAllowed: (topic) => namespaces.namespaceOf(topic)?.joinLeave !== false,
      info: () => ({
        address: `${settings.wsHost}:${this.wsAddress?.port ?? settings.wsPort}`,
        connections: this.ws.connectionCount,
        subscriptions: this.hub.subscriptionCount,
        uptimeMs: this.started ? Date.now() - this.startedAt : 0,
        version: heraldVersion(),
      }),
    }));
    const track = (stream: string, interested: boolean, uid?: string): void => {
      if (ordered === undefined) return;
      if (interested) ordered.want(stream, uid);
      else ordered.unwant(stream);
    };
    this.hub = new Hub({
      interest: {
        onTopicInterest: (topic, interested) => {
          if (interested) engine.subscribeTopic(topic);
          else engine.unsubscribeTopic(topic);
          track(streamOf({ topic }), interested);
        },
        onUserInterest: (uid, interested) => {
          if (interested) engine.subscribeUser(uid);
          else engine.unsubscribeUser(uid);
          track(streamOf({ uid }), interested);
        },
        // Private topics travel with the user's subscription; only the stream positions care.
        onPrivateTopicInterest: ordered === undefined ? undefined : (uid, topic, interested) => track(streamOf({ uid, topic }), interested, uid),
      },
      // Presence: every (connection, topic) membership, public or private; then the webhooks (built below, with the metrics).
      membership: hasWebhooks(options) ? withWebhooks(control, () => this.webhooks as Webhooks, (client) => (client as SessionClient).clientId) : control,
      sliceSize: options.fanOutSliceSize,
      maxTopics: settings.maxTopics,
      maxSubscriptions: settings.maxSubscriptions,
    });
    const hub = this.hub;
    this.metrics = new HeraldMetrics({
      connections: () => this.ws.connectionCount,
      topics: () => hub.topicCount,
      users: () => hub.userCount,
      subscriptions: () => hub.subscriptionCount,
      hubCounters: () => hub.counters,
      slowConsumerEvents: () => this.ws.slowConsumerEvents,
      limitRejections: () => this.ws.limitRejections,
      transports: () => transportTotals(this.ws, hub.counters),
    });
    const topicRules = {
      maxTopicLength: settings.maxTopicLength,
      topicPattern: settings.topicPattern === undefined ? undefined : new RegExp(settings.topicPattern, 'u'),
    };
    const metrics = this.metrics;
    const webhooks = (this.webhooks = createNodeWebhooks({ ...settings, webhooks: options.webhooks, webhookRedis: options.webhookRedis, webhookChannelEvents: options.webhookChannelEvents }, controlPlane.nodeId, control, metrics.registry, this.logger));
    const logger = this.logger;
    this.session = new GpushSession({
      hub,
      verifier: options.verifier,
      topicRules,
      maxSubscriptionsPerConnection: settings.maxSubscriptionsPerConnection,
      replyMessages: settings.replyMessages,
      clientPresence: settings.clientPresence,
      // Ops 7/8 read the control plane's presence (when kept) unless the embedder gives another source.
      presence:
        options.presenceSource ??
        (settings.presence
          ? { list: (topic, limit) => controlPlane.presence(topic, limit), stats: (topic) => controlPlane.presenceStats(topic) }
          : undefined),
      history: (stream, since) => engine.history(stream, since),
      clientIdPrefix: controlPlane.nodeId,
      namespaces,
      subscribeProxy: options.subscribeProxy,
      connectProxy: options.connectProxy,
      connectProxyHeaders: options.connectProxyHeaders,
      // Op 9 goes the way of an HTTP push of the same JSON: through the engine, to every node.
      publish: (topic, data) => engine.publish({ topic, data }).then(() => undefined),
      maxPublishBytes: Math.min(settings.maxPushBytes, settings.maxMessageBytes),
      subscriberCount: (topic) => control.memberCount(topic),
      events: {
        onAuthFailure(reason, message) {
          metrics.authFailuresTotal.inc({ reason });
          logger.debug({ reason, err: message }, 'login failed');
        },
        onBadRequest() {
          metrics.badRequestsTotal.inc();
        },
        onError(error) {
          logger.error({ err: error }, 'connection closed with 1011: its login or resume failed');
        },
        onSubscriptionRefused(reason) {
          metrics.subscriptionsRefusedTotal.inc({ reason });
        },
        onJoinLeaveWatch(topic, watching) {
          controlPlane.watchJoinLeave(topic, watching);
        },
        // Webhooks: connect once admitted (after a connect proxy's verdict, with its uid), disconnect after the close's unsubscribes.
        onConnected: webhooks === undefined ? undefined : (client, uid) => webhooks.connected(client, uid),
        onDisconnected: webhooks === undefined ? undefined : (client, uid) => webhooks.disconnected(client, uid),
      },
    });
    const session = this.session;
    const httpStreams = new HttpStreamSession(session, settings.maxSubscriptionsPerConnection);
    const events = new ConnectionEventLog(logger);
    options.tls?.onReload((pair) => this.ws.setSecureContext(pair));
    this.ws = new WebSocketServer({
      path: settings.wsPath,
      maxRequestBytes: settings.maxRequestBytes,
      handshakeTimeoutMs: settings.handshakeTimeoutMs,
      closeTimeoutMs: settings.closeTimeoutMs,
      maxMessageSize: settings.maxMessageBytes,
      idleTimeoutMs: settings.heartbeatTimeoutMs,
      messageTimeoutMs: settings.messageTimeoutMs,
      idleCloseCode: HeraldCloseCode.HeartbeatTimeout,
      maxBufferedBytes: settings.maxBufferedBytes,
      mergeWindowMs: settings.mergeWindowMs,
      transport: settings.transport,
      limits: {
        maxConnections: settings.maxConnections,
        maxConnectionsPerIp: settings.maxConnectionsPerIp,
        newConnectionsPerSecondPerIp: settings.newConnectionsPerSecondPerIp,
      },
      allowedOrigins: settings.allowedOrigins,
      tls: options.tls?.current,
      perMessageDeflate: { enabled: settings.perMessageDeflate, threshold: settings.deflateThresholdBytes },
      slowConsumerPolicy: settings.slowConsumerPolicy,
      slowConsumerCloseCode: HeraldCloseCode.SlowConsumer,
      timerResolutionMs: options.timerResolutionMs,
      // Herald's own protocol is opt-in per connection; gpush clients offer no subprotocol.
      selectProtocol: (offered) => (offered.includes(HERALD_V1) ? HERALD_V1 : undefined),
      handler: {
        onOpen(conn: WebSocketConnection, request: UpgradeRequest) {
          metrics.connectionsTotal.inc();
          if (events.enabled) events.opened(conn);
          session.onOpen(conn, request);
        },
        onMessage(conn: WebSocketConnection, data: Buffer, isText: boolean) {
          session.onMessage(conn, data, isText);
        },
        // GET /v1/sse and POST /v1/stream: the same session, driven by the request (http-stream-session.ts).
        onHttpStream(conn: WebSocketConnection, request: HttpStreamRequest) {
          httpStreams.handle(conn, request);
          if (!conn.isOpen) return;
          metrics.connectionsTotal.inc();
          if (events.enabled) events.opened(conn);
        },
        onClose(conn: WebSocketConnection, code: number, reason: string) {
          session.onClose(conn);
          if (events.enabled) events.closed(conn, code, reason);
        },
        onRefused(conn: WebSocketConnection, error: HandshakeError) {
          if (events.enabled) events.refused(conn, error);
        },
        onError(error: unknown) {
          logger.error({ err: error }, 'connection handler failed');
        },
      },
    });
    this.pushApis =
      options.pushApi === false
        ? undefined
        : new PushApis({
            ...settings,
            tls: options.tls,
            engine,
            control: controlPlane,
            presenceAllowed: (topic) => namespaces.namespaceOf(topic)?.presence !== false,
            metrics,
            logger,
            limits: { maxPushBytes: settings.maxPushBytes, ...topicRules },
            isReady: () => this.started && !this.draining && engine.ready,
            pages: consolePages(() => this.consoleWs),
          });
  }

  /** Start the engine, then the WebSocket listener and the push API. */
  async start(): Promise<NodeAddresses> {
    const hub = this.hub;
    const ordered = this.orderedDelivery;
    const timing = stageTiming;
    await this.engine.start(
      ordered === undefined
        ? { onPublication: timing === null ? (delivery) => hub.publish(delivery) : (delivery) => timedPublish(timing, hub, delivery) }
        : { onPublication: (delivery) => ordered.accept(delivery), onResubscribed: (interest) => ordered.resubscribed(interest) },
    );
    // Every node subscribes to broadcasts from the start.
    ordered?.want(streamOf({}));
    await this.controlPlane.start(this.control);
    await this.webhooks?.start();
    const { wsHost, wsPort } = this.settings;
    const ws = (this.wsAddress =
      this.options.wsHandle !== undefined
        ? this.ws.listenOnHandle(this.options.wsHandle)
        : await listening('ws', wsHost, wsPort, () => this.ws.listen(wsPort, wsHost)));
    this.consoleWs = consoleWsAddress(this.options.wsHandle === undefined ? wsHost : undefined, ws.port, {
      wsPath: this.settings.wsPath,
      tls: this.options.tls,
    });
    const apis = await this.pushApis?.listen();
    this.startedAt = Date.now();
    this.started = true;
    return { ws, api: apis?.api, grpcPort: apis?.grpcPort };
  }

  /**
   * Graceful drain: readiness turns false, the WS listener stops accepting and
   * every client is closed with 1001, then the push API and the engine stop.
   * Bounded by `shutdownTimeoutMs` (default 10 s).
   */
  async stop(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    const timeoutMs = this.settings.shutdownTimeoutMs;
    await this.ws.close(1001, 'server shutting down', Math.max(1, timeoutMs - 500));
    this.session.close();
    // The clients' last events are queued: a short bound to deliver them, then they are dropped (counted).
    await this.webhooks?.close(Math.min(2_000, Math.max(100, timeoutMs / 4)));
    await this.pushApis?.close(500);
    // After the clients are gone, so their presence has been removed.
    await this.controlPlane.close();
    await this.engine.close();
    await this.options.verifier?.close?.();
  }
}

/** The hub's fan-out of a publication, stamped for stage timing (util/stage-timing.ts; only when it is on). */
function timedPublish(timing: StageTiming, hub: Hub, delivery: HubPublication): void {
  timing.hubStart();
  hub.publish(delivery);
  timing.hubEnd();
}
