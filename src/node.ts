import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { HeraldMetrics } from './api/metrics.js';
import { PushApis } from './api/push-apis.js';
import type { LoginVerifier } from './auth/login-verifier.js';
import { HeraldCloseCode } from './codes.js';
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
import { Hub } from './hub/hub.js';
import { NodeControl } from './node-control.js';
import { GpushSession, type SessionClient } from './session/gpush-session.js';
import type { ClientPresence } from './session/presence-requests.js';
import type { ConnectProxy, SubscribeProxy } from './session/proxy-hooks.js';
import { Namespaces } from './util/namespaces.js';
import { streamOf } from './streams.js';
import { heraldVersion } from './version.js';
import { createNodeWebhooks, hasWebhooks, withWebhooks, type NodeWebhookOptions } from './webhooks/node-webhooks.js';
import type { Webhooks } from './webhooks/webhooks.js';

/** The WebSocket subprotocol of Herald's own protocol (envelopes, request ids, resume). */
export const HERALD_V1 = 'herald.v1';

/** Options of a {@link HeraldNode}; unless noted, every field defaults as the CLI option of the same name. */
export interface HeraldNodeOptions extends NodeWebhookOptions {
  wsHost?: string;
  wsPort?: number;
  wsPath?: string;
  apiHost?: string;
  apiPort?: number;
  grpcHost?: string;
  /**
   * gRPC push API port. Unset: no gRPC listener (embedders and tests opt in);
   * the CLI always passes its own default, 10067.
   */
  grpcPort?: number;
  /** Bearer tokens for the push APIs; none → open (main.ts refuses that off loopback). */
  pushTokens?: readonly string[];
  heartbeatTimeoutMs?: number;
  /** A client message must arrive whole within this once begun; default 30 s. */
  messageTimeoutMs?: number;
  handshakeTimeoutMs?: number;
  maxRequestBytes?: number;
  maxMessageBytes?: number;
  closeTimeoutMs?: number;
  maxBufferedBytes?: number;
  mergeWindowMs?: number;
  /** Offer permessage-deflate; default false. */
  perMessageDeflate?: boolean;
  /** Messages below this many bytes go uncompressed; default 256. */
  deflateThresholdBytes?: number;
  /** Clients walked per event-loop turn by one fan-out; default 16,384. */
  fanOutSliceSize?: number;
  slowConsumerPolicy?: 'close' | 'drop';
  maxTopicLength?: number;
  /** Regular expression (source) every topic must match. */
  topicPattern?: string;
  maxConnections?: number;
  maxConnectionsPerIp?: number;
  newConnectionsPerSecondPerIp?: number;
  allowedOrigins?: readonly string[];
  pushRequestsPerSecond?: number;
  maxSubscriptionsPerConnection?: number;
  /** Reply texts: `english` (default) or gpush's exact `gpush` ones. */
  replyMessages?: 'english' | 'gpush';
  /** Let herald.v1 clients ask for the presence of topics they subscribe to (ops 7/8); default false. */
  clientPresence?: boolean;
  /**
   * Keep presence (who is subscribed to each topic) in the control plane, for
   * `/v1/presence`, `/v1/presence-stats` and ops 7/8; default false (`--presence`).
   */
  presence?: boolean;
  /** Where ops 7/8 read presence instead of the control plane (embedders, tests); without presence they answer 30008. */
  presenceSource?: ClientPresence;
  /** Most topics with a public subscriber on this node; default 1,000,000. */
  maxTopics?: number;
  /** Most subscriptions (public plus private, all connections) on this node; default 5,000,000. */
  maxSubscriptions?: number;
  maxPushBytes?: number;
  maxBatchItems?: number;
  /** Time an HTTP push request has for its headers, and then for its body; default 5 s. */
  pushRequestTimeoutMs?: number;
  shutdownTimeoutMs?: number;
  /** `auto` (default), `raw` or `net`: see WebSocketServerOptions.transport. */
  transport?: TransportMode;
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
  /** Publications kept per stream for resume (memory engine); default 100. */
  historySize?: number;
  /** A stream idle this long loses its history (memory engine); default 5 min. */
  historyTtlMs?: number;
  /** Default: a new MemoryEngine (single process). */
  engine?: Engine;
  /**
   * Presence, cluster-wide commands, node list, join/leave (the server API).
   * Default: a new MemoryControlPlane (single process) with `nodeId`.
   */
  controlPlane?: ControlPlane;
  /** This node's id when the default control plane is built; default random. */
  nodeId?: string;
  /** Publish join/leave events of every subscription change (`--join-leave`); default false. */
  joinLeave?: boolean;
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
  private draining = false;
  private started = false;
  /** Where the web console connects, known once the WebSocket listener is bound. */
  private consoleWs: ConsoleWsAddress | undefined;
  private startedAt = 0;
  private wsAddress: AddressInfo | undefined;

  constructor(options: HeraldNodeOptions = {}) {
    this.options = options;
    this.logger = options.logger ?? pino({ level: 'silent' });
    const namespaces = (this.namespaces =
      options.namespaces instanceof Namespaces ? options.namespaces : Namespaces.parse(options.namespaces));
    const engine: Engine = (this.engine =
      options.engine ??
      new MemoryEngine({
        history: { size: options.historySize, ttlMs: options.historyTtlMs, historyFor: namespaces.historyLimits() },
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
          ttlMs: options.historyTtlMs,
        })
      : undefined);
    const controlPlane = (this.controlPlane = options.controlPlane ?? new MemoryControlPlane({ nodeId: options.nodeId }));
    const control = (this.control = new NodeControl({
      hub: () => this.hub,
      session: () => this.session,
      controlPlane,
      presence: options.presence ?? false,
      joinLeave: options.joinLeave ?? false,
      info: () => ({
        address: `${options.wsHost ?? '0.0.0.0'}:${this.wsAddress?.port ?? options.wsPort ?? 0}`,
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
      maxTopics: options.maxTopics ?? 1_000_000,
      maxSubscriptions: options.maxSubscriptions ?? 5_000_000,
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
    });
    const topicRules = {
      maxTopicLength: options.maxTopicLength ?? 256,
      topicPattern: options.topicPattern === undefined ? undefined : new RegExp(options.topicPattern, 'u'),
    };
    const metrics = this.metrics;
    const webhooks = (this.webhooks = createNodeWebhooks(options, controlPlane.nodeId, metrics.registry, this.logger));
    const logger = this.logger;
    this.session = new GpushSession({
      hub,
      verifier: options.verifier,
      topicRules,
      maxSubscriptionsPerConnection: options.maxSubscriptionsPerConnection ?? 1024,
      replyMessages: options.replyMessages,
      clientPresence: options.clientPresence,
      // Ops 7/8 read the control plane's presence (when kept) unless the embedder gives another source.
      presence:
        options.presenceSource ??
        (options.presence === true
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
      maxPublishBytes: Math.min(options.maxPushBytes ?? 1024 * 1024, options.maxMessageBytes ?? 64 * 1024),
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
      },
    });
    const session = this.session;
    const events = new ConnectionEventLog(logger);
    options.tls?.onReload((pair) => this.ws.setSecureContext(pair));
    this.ws = new WebSocketServer({
      path: options.wsPath ?? '/ws',
      maxRequestBytes: options.maxRequestBytes,
      handshakeTimeoutMs: options.handshakeTimeoutMs,
      closeTimeoutMs: options.closeTimeoutMs,
      maxMessageSize: options.maxMessageBytes ?? 64 * 1024,
      idleTimeoutMs: options.heartbeatTimeoutMs ?? 60_000,
      messageTimeoutMs: options.messageTimeoutMs ?? 30_000,
      idleCloseCode: HeraldCloseCode.HeartbeatTimeout,
      maxBufferedBytes: options.maxBufferedBytes,
      mergeWindowMs: options.mergeWindowMs,
      transport: options.transport,
      limits: {
        maxConnections: options.maxConnections,
        maxConnectionsPerIp: options.maxConnectionsPerIp,
        newConnectionsPerSecondPerIp: options.newConnectionsPerSecondPerIp,
      },
      allowedOrigins: options.allowedOrigins,
      tls: options.tls?.current,
      perMessageDeflate: { enabled: options.perMessageDeflate ?? false, threshold: options.deflateThresholdBytes },
      slowConsumerPolicy: options.slowConsumerPolicy,
      slowConsumerCloseCode: HeraldCloseCode.SlowConsumer,
      timerResolutionMs: options.timerResolutionMs,
      // Herald's own protocol is opt-in per connection; gpush clients offer no subprotocol.
      selectProtocol: (offered) => (offered.includes(HERALD_V1) ? HERALD_V1 : undefined),
      handler: {
        onOpen(conn: WebSocketConnection, request: UpgradeRequest) {
          metrics.connectionsTotal.inc();
          if (events.enabled) events.opened(conn);
          session.onOpen(conn, request);
          if (webhooks !== undefined) webhooks.connected((conn.context as SessionClient).clientId, null);
        },
        onMessage(conn: WebSocketConnection, data: Buffer, isText: boolean) {
          session.onMessage(conn, data, isText);
        },
        onClose(conn: WebSocketConnection, code: number, reason: string) {
          const client = webhooks === undefined ? undefined : (conn.context as SessionClient | undefined);
          // Read before the session forgets the login; the event follows the unsubscribes of the close.
          const uid = client?.uid ?? null;
          session.onClose(conn);
          if (client !== undefined) webhooks?.disconnected(client.clientId, uid);
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
            ...options,
            engine,
            control: controlPlane,
            presenceAllowed: (topic) => namespaces.namespaceOf(topic)?.presence !== false,
            metrics,
            logger,
            limits: { maxPushBytes: options.maxPushBytes ?? 1024 * 1024, ...topicRules },
            isReady: () => this.started && !this.draining && engine.ready,
            pages: consolePages(() => this.consoleWs),
          });
  }

  /** Start the engine, then the WebSocket listener and the push API. */
  async start(): Promise<NodeAddresses> {
    const hub = this.hub;
    const ordered = this.orderedDelivery;
    await this.engine.start(
      ordered === undefined
        ? { onPublication: (delivery) => hub.publish(delivery) }
        : { onPublication: (delivery) => ordered.accept(delivery), onResubscribed: (interest) => ordered.resubscribed(interest) },
    );
    // Every node subscribes to broadcasts from the start.
    ordered?.want(streamOf({}));
    await this.controlPlane.start(this.control);
    await this.webhooks?.start();
    const wsHost = this.options.wsHost ?? '0.0.0.0';
    const wsPort = this.options.wsPort ?? 9992;
    const ws = (this.wsAddress =
      this.options.wsHandle !== undefined
        ? this.ws.listenOnHandle(this.options.wsHandle)
        : await listening('ws', wsHost, wsPort, () => this.ws.listen(wsPort, wsHost)));
    this.consoleWs = consoleWsAddress(this.options.wsHandle === undefined ? wsHost : undefined, ws.port, this.options);
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
    const timeoutMs = this.options.shutdownTimeoutMs ?? 10_000;
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
