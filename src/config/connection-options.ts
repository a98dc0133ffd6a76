/**
 * Option table rows: one connection's timing, size limits, write bound and compression.
 * Assembled, in `--help` order, by `option-definitions.ts` (see its header).
 */
import type { OptionDefinition } from './option-types.js';

export const CONNECTION_OPTIONS = [
  // Connection timing and limits
  {
    scope: 'node',
    key: 'heartbeatTimeoutMs', flag: '--heartbeat-timeout', env: 'HERALD_HEARTBEAT_TIMEOUT', type: 'duration',
    default: 60_000, min: 1_000,
    description: 'Heartbeat: a client silent for half of this is sent a WebSocket ping (browsers answer it by themselves); '
      + 'one that stays silent (no pong, no data) for all of it is disconnected with 4000.',
  },
  {
    scope: 'node',
    key: 'messageTimeoutMs', flag: '--message-timeout', env: 'HERALD_MESSAGE_TIMEOUT', type: 'duration',
    default: 30_000, min: 100,
    description: 'Time a client message may take to arrive once its first byte has (a frame or a fragmented message '
      + 'in progress); slower ones are closed with 1008, so trickled bytes cannot hold a connection and its buffer forever.',
  },
  {
    scope: 'node',
    key: 'handshakeTimeoutMs', flag: '--handshake-timeout', env: 'HERALD_HANDSHAKE_TIMEOUT', type: 'duration',
    default: 5_000, min: 1, description: 'Time a new TCP connection has to send a complete upgrade request.',
  },
  {
    scope: 'node',
    key: 'maxRequestBytes', flag: '--max-request-bytes', env: 'HERALD_MAX_REQUEST_BYTES', type: 'bytes',
    default: 8 * 1024, min: 1024,
    description: 'Largest upgrade request head (request line and headers); larger requests get 431.',
  },
  {
    scope: 'node',
    key: 'maxMessageBytes', flag: '--max-message-bytes', env: 'HERALD_MAX_MESSAGE_BYTES', type: 'bytes',
    default: 64 * 1024, min: 1,
    description: 'Largest message a client may send, after reassembling fragments; '
      + 'a larger one closes the connection with 1009.',
  },
  {
    scope: 'node',
    key: 'closeTimeoutMs', flag: '--close-timeout', env: 'HERALD_CLOSE_TIMEOUT', type: 'duration', default: 3_000, min: 0,
    description: 'Time a closing connection has to finish the close handshake before its socket is destroyed.',
  },
  {
    scope: 'node',
    key: 'maxBufferedBytes', flag: '--max-buffered-bytes', env: 'HERALD_MAX_BUFFERED_BYTES', type: 'bytes',
    default: 1024 * 1024, min: 1024,
    description: 'Bound on the bytes waiting to be written to one client (queued plus the kernel backlog). '
      + 'A push that would pass it triggers the slow-consumer policy.',
  },
  {
    scope: 'node',
    key: 'slowConsumerPolicy', flag: '--slow-consumer-policy', env: 'HERALD_SLOW_CONSUMER_POLICY', type: 'enum',
    default: 'close', values: ['close', 'drop'], placeholder: 'policy',
    description: 'For a client past --max-buffered-bytes: close closes it with 4001 so it reconnects and resyncs; '
      + 'drop drops the pushes that do not fit (counted in herald_messages_dropped_total) and keeps it.',
  },
  {
    scope: 'node',
    key: 'mergeWindowMs', flag: '--merge-window', env: 'HERALD_MERGE_WINDOW', type: 'duration', default: 0, min: 0,
    max: 1_000,
    description: 'Write each client at most about once per window: a client written less than a window ago has '
      + 'what is queued for it held and written together when the window ends (fewer, larger writes under load, '
      + 'for at most that much added latency); a quiet client is written at once. 0 (default) writes once per '
      + 'event-loop turn.',
  },
  // Compression
  {
    scope: 'node',
    key: 'perMessageDeflate', flag: '--per-message-deflate', env: 'HERALD_PER_MESSAGE_DEFLATE', type: 'boolean',
    default: false,
    description: 'Offer permessage-deflate (RFC 7692). Negotiated without context takeover, so each push is '
      + 'compressed once and the same frame goes to every subscriber that accepted it; no connection keeps a '
      + 'compression window.',
  },
  {
    scope: 'node',
    key: 'deflateThresholdBytes', flag: '--deflate-threshold-bytes', env: 'HERALD_DEFLATE_THRESHOLD_BYTES', type: 'bytes',
    default: 256, min: 0, description: 'Messages smaller than this are sent uncompressed even when deflate is on.',
  },
] as const satisfies readonly OptionDefinition[];
