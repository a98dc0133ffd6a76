import { matchGlob } from './glob.js';

/**
 * Topic namespaces: the `namespaces` key of the config file, an ordered list of
 * `{"topics": "<glob>", …rules}`. The first namespace whose glob matches a
 * topic rules it; a topic matching none keeps Herald's behaviour without
 * namespaces (gpush clients see no change). See PROTOCOL.md, Namespaces.
 */

/** Who may subscribe to a namespace's topics. */
export const SUBSCRIBE_RULES = ['anyone', 'login', 'token', 'proxy'] as const;
export type SubscribeRule = (typeof SUBSCRIBE_RULES)[number];

/** One compiled namespace. */
export interface Namespace {
  /** Its place in the list (0-based), for logs and errors. */
  readonly index: number;
  /** The glob: `*` any run of characters, `?` one character, everything else literal. */
  readonly topics: string;
  readonly subscribe: SubscribeRule;
  /** Publications kept per stream; undefined: the global history size. */
  readonly historySize: number | undefined;
  /** Idle time after which a stream's history is forgotten (ms); undefined: the global one. */
  readonly historyTtlMs: number | undefined;
  /** herald.v1 clients may ask for join/leave events (default true). */
  readonly joinLeave: boolean;
  /** Presence may be read, by clients (ops 7/8) and the server API (default true). */
  readonly presence: boolean;
  /** Most subscriptions to one topic of the namespace on one node; undefined: no limit. */
  readonly maxSubscribers: number | undefined;
  /** herald.v1 clients may publish (op 9) to its topics (default false). */
  readonly publish: boolean;
}

/** A `namespaces` value that is not valid; the message names the field (`namespaces[1].subscribe: …`). */
export class NamespaceError extends Error {
  override readonly name = 'NamespaceError';
}

const FIELDS = ['topics', 'subscribe', 'historySize', 'historyTtl', 'joinLeave', 'presence', 'maxSubscribers', 'publish'];
/** Longest glob accepted (topics are at most a few hundred characters). */
const MAX_GLOB_LENGTH = 1024;
/** Topics whose namespace is remembered; the map is emptied when it fills (bounded, no per-entry bookkeeping). */
const CACHE_LIMIT = 10_000;
const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
/** Largest timer delay Node accepts (ms). */
const MAX_DURATION_MS = 2 ** 31 - 1;
/**
 * `historyTtl`'s floor, as `--history-ttl`'s: the memory engine sweeps its streams at least as
 * often as the shortest TTL, walking all of them, so a 1 ms TTL would walk them on every publish.
 */
const MIN_HISTORY_TTL_MS = 1_000;

interface Compiled {
  readonly namespace: Namespace;
  /** The glob as code points (so `?` takes one whole character). */
  readonly pattern: readonly string[];
  /** A glob without wildcards is compared as a string. */
  readonly literal: boolean;
}

/**
 * The compiled namespace list. {@link namespaceOf} is called on every
 * subscribe (and by the engines on every publish for history limits), so its
 * answer is cached per topic string in a bounded map.
 */
export class Namespaces {
  /** No namespaces: every topic keeps the behaviour of before. */
  static readonly NONE = new Namespaces([]);
  private readonly compiled: readonly Compiled[];
  private readonly cache = new Map<string, Namespace | null>();

  private constructor(list: readonly Namespace[]) {
    this.compiled = list.map((namespace) => ({
      namespace,
      pattern: Array.from(namespace.topics),
      literal: !/[*?]/.test(namespace.topics),
    }));
  }

  /**
   * Validate a `namespaces` value (the parsed JSON) and compile it. Throws a
   * {@link NamespaceError} whose message starts with the path of the bad field,
   * `path` (default `namespaces`) followed by `[i].field`.
   */
  static parse(value: unknown, path = 'namespaces'): Namespaces {
    if (value === undefined || value === null) return Namespaces.NONE;
    if (!Array.isArray(value)) throw new NamespaceError(`${path}: must be an array of {"topics": "<glob>", …} objects`);
    return new Namespaces(value.map((item, index) => parseOne(item, index, `${path}[${index}]`)));
  }

  /** The namespaces, in order. */
  get list(): readonly Namespace[] {
    return this.compiled.map((c) => c.namespace);
  }

  get size(): number {
    return this.compiled.length;
  }

  /** The first namespace whose glob matches `topic`, or undefined. */
  namespaceOf(topic: string): Namespace | undefined {
    if (this.compiled.length === 0) return undefined;
    const cached = this.cache.get(topic);
    if (cached !== undefined) return cached ?? undefined;
    const found = this.match(topic);
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(topic, found ?? null);
    return found;
  }

  /**
   * For the engines: a function giving a topic's namespace when it sets
   * history limits (`historySize`/`historyTtlMs`; one left undefined keeps the
   * engine's default), or undefined when no namespace sets any (the
   * engines then do not look topics up at all).
   */
  historyLimits(): ((topic: string) => Namespace | undefined) | undefined {
    if (!this.compiled.some((c) => c.namespace.historySize !== undefined || c.namespace.historyTtlMs !== undefined)) return undefined;
    return (topic) => {
      const ns = this.namespaceOf(topic);
      if (ns === undefined || (ns.historySize === undefined && ns.historyTtlMs === undefined)) return undefined;
      return ns;
    };
  }

  private match(topic: string): Namespace | undefined {
    // Code points only when the topic has characters outside the BMP (rare): `?` then takes a whole one.
    const text: ArrayLike<string> = /[\uD800-\uDFFF]/.test(topic) ? Array.from(topic) : topic;
    for (const c of this.compiled) {
      if (c.literal ? c.namespace.topics === topic : matchGlob(c.pattern, text, true)) return c.namespace;
    }
    return undefined;
  }
}

/** Whether `text` matches the namespace glob `glob` (`*`, `?`); for subscription tokens' `channel_glob`. */
export function matchTopicGlob(glob: string, text: string): boolean {
  const surrogates = /[\uD800-\uDFFF]/;
  return matchGlob(surrogates.test(glob) ? Array.from(glob) : glob, surrogates.test(text) ? Array.from(text) : text, true);
}

function parseOne(item: unknown, index: number, at: string): Namespace {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) {
    throw new NamespaceError(`${at}: must be an object like {"topics": "order:*", "subscribe": "token"}`);
  }
  const o = item as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!FIELDS.includes(key)) throw new NamespaceError(`${at}.${key}: unknown field (known: ${FIELDS.join(', ')})`);
  }
  const topics = o.topics;
  if (typeof topics !== 'string' || topics.length === 0 || topics.length > MAX_GLOB_LENGTH) {
    throw new NamespaceError(`${at}.topics: must be a non-empty glob string of at most ${MAX_GLOB_LENGTH} characters`);
  }
  const subscribe = o.subscribe ?? 'anyone';
  if (typeof subscribe !== 'string' || !(SUBSCRIBE_RULES as readonly string[]).includes(subscribe)) {
    throw new NamespaceError(`${at}.subscribe: must be one of ${SUBSCRIBE_RULES.join(', ')}`);
  }
  return {
    index,
    topics,
    subscribe: subscribe as SubscribeRule,
    historySize: optionalInt(o.historySize, 0, `${at}.historySize`),
    historyTtlMs: optionalDuration(o.historyTtl, MIN_HISTORY_TTL_MS, `${at}.historyTtl`),
    joinLeave: optionalBool(o.joinLeave, true, `${at}.joinLeave`),
    presence: optionalBool(o.presence, true, `${at}.presence`),
    maxSubscribers: optionalInt(o.maxSubscribers, 1, `${at}.maxSubscribers`),
    publish: optionalBool(o.publish, false, `${at}.publish`),
  };
}

function optionalInt(value: unknown, min: number, at: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new NamespaceError(`${at}: must be an integer >= ${min}`);
  }
  return value;
}

function optionalBool(value: unknown, fallback: boolean, at: string): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new NamespaceError(`${at}: must be true or false`);
  return value;
}

/** A duration: milliseconds as a number, or a string like `500ms`, `90s`, `5m`, `1h` (a bare number: ms). */
function optionalDuration(value: unknown, minMs: number, at: string): number | undefined {
  if (value === undefined) return undefined;
  let ms: number | undefined;
  if (typeof value === 'number') ms = value;
  else if (typeof value === 'string') {
    const match = /^(\d+(?:\.\d+)?) ?(ms|s|m|h)?$/i.exec(value.trim());
    if (match !== null) ms = Math.round(Number(match[1]) * DURATION_UNITS[(match[2] ?? 'ms').toLowerCase()]);
  }
  if (ms === undefined || !Number.isSafeInteger(ms) || ms < minMs || ms > MAX_DURATION_MS) {
    throw new NamespaceError(`${at}: must be a duration from ${minMs}ms to ${MAX_DURATION_MS}ms, like "5m", "90s" or a number of ms`);
  }
  return ms;
}
