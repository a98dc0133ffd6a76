/**
 * The console's presence panel, without the DOM (served as
 * `/console/presence-view.js`, imported by app.js; unit-tested in Node): read
 * `GET /v1/presence-stats` and `GET /v1/presence` for a topic the console
 * subscribes to and turn the answers into what the panel shows. A server
 * without those routes (404) shows "presence unavailable".
 */

/** One subscriber as the panel lists it. */
export interface PresenceRow {
  client: string;
  /** '' for an anonymous connection. */
  uid: string;
  node: string;
  connectedAt: number;
}

/** What the panel shows for one topic. */
export interface TopicPresence {
  topic: string;
  /** `ok`, or why there are no figures: no such routes, a token needed, another failure. */
  state: 'ok' | 'unavailable' | 'unauthorized' | 'error';
  /** "3 connections, 2 users", or the reason there are none. */
  summary: string;
  /** The first {@link PRESENCE_ROWS} subscribers. */
  rows: PresenceRow[];
  /** Subscribers counted but not listed. */
  more: number;
}

/** Most subscribers the panel lists per topic. */
export const PRESENCE_ROWS = 20;

/** An HTTP answer: its status and parsed JSON body (undefined when not JSON). */
export interface Answer {
  status: number;
  body: unknown;
}

type Fetch = (url: string, init: { headers: Record<string, string>; signal?: AbortSignal }) => Promise<{ status: number; json(): Promise<unknown> }>;

/** Ask both routes for `topic` (with the push API's bearer token in `headers`, when set). */
export async function readPresence(fetchFn: Fetch, topic: string, headers: Record<string, string>, signal?: AbortSignal): Promise<TopicPresence> {
  const query = `topic=${encodeURIComponent(topic)}`;
  const ask = async (path: string): Promise<Answer> => {
    const res = await fetchFn(`${path}?${query}`, { headers, signal });
    return { status: res.status, body: await res.json().catch(() => undefined) };
  };
  const [stats, list] = await Promise.all([ask('/v1/presence-stats'), ask('/v1/presence')]);
  return describePresence(topic, stats, list);
}

/** The panel's view of one topic from the two answers. */
export function describePresence(topic: string, stats: Answer, list: Answer): TopicPresence {
  const none = (state: TopicPresence['state'], summary: string): TopicPresence => ({ topic, state, summary, rows: [], more: 0 });
  if (stats.status === 404 || list.status === 404) return none('unavailable', 'presence unavailable');
  if (stats.status === 409 || list.status === 409) return none('unavailable', 'presence is off (start Herald with --presence)');
  if (stats.status === 401 || list.status === 401) return none('unauthorized', 'presence needs the push API token');
  const failed = [stats, list].find((answer) => answer.status !== 200);
  if (failed !== undefined) return none('error', `presence failed: ${errorOf(failed)}`);
  const { clients, users } = (stats.body ?? {}) as { clients?: unknown; users?: unknown };
  const listed = (list.body as { clients?: unknown } | undefined)?.clients;
  if (typeof clients !== 'number' || typeof users !== 'number' || !Array.isArray(listed)) {
    return none('error', 'presence failed: unexpected answer');
  }
  const rows = listed.filter(isRow).slice(0, PRESENCE_ROWS);
  const summary = `${plural(clients, 'connection')}, ${plural(users, 'user')}`;
  return { topic, state: 'ok', summary, rows, more: Math.max(0, clients - rows.length) };
}

function isRow(value: unknown): value is PresenceRow {
  if (typeof value !== 'object' || value === null) return false;
  const { client, uid, node, connectedAt } = value as Record<string, unknown>;
  return typeof client === 'string' && typeof uid === 'string' && typeof node === 'string' && typeof connectedAt === 'number';
}

function errorOf(answer: Answer): string {
  const error = (answer.body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  return typeof error?.code === 'string' ? `${error.code}: ${String(error.message)}` : `HTTP ${answer.status}`;
}

function plural(n: number, word: string): string {
  return `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;
}
