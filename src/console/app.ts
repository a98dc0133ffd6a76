/**
 * The web console's script (runs in the browser, served as `/console/app.js`):
 * live counters from `GET /v1/stats`, a subscriber on the client SDK, the
 * presence of its topics (`GET /v1/presence`, `/v1/presence-stats`) and
 * their join/leave events, and a push form for `POST /v1/push`. This file
 * holds the subscriber, its log and presence, and wires the page; the DOM
 * typings and helpers are in dom.ts, the counters in stats-view.ts, the push
 * form in push-form.ts (each served beside it, see console-routes.ts).
 */
import type { ClientStatus, GapInfo, HeraldClient as Client, HeraldClientOptions, JoinLeaveInfo, Message, Subscription } from '../client/index.js';
import type { WebSocketConstructor, WebSocketLike } from '../client/types.js';
import {
  BrowserSocket,
  document,
  element,
  field,
  history,
  location,
  make,
  sessionStorage,
  type CloseEventLike,
  type DomElement,
  type ObservableSocket,
} from './dom.js';
import { readPresence, type TopicPresence } from './presence-view.js';
import { apiHeaders, push, showPushResult, TOKEN_KEY } from './push-form.js';
import { pollStats, STATS_TIMEOUT_MS } from './stats-view.js';

const { HeraldClient } = (await import(new URL('sdk/index.js', import.meta.url).href)) as typeof import('../client/index.js');

/** The log keeps this many entries; older ones are removed. */
const LOG_LIMIT = 500;
/** The presence of the subscribed topics is read this often (ms). */
const PRESENCE_INTERVAL_MS = 2000;

// ---- message log ----

const log = element('log');

function addEntry(entry: DomElement): void {
  const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
  log.append(entry);
  while (log.childElementCount > LOG_LIMIT) log.firstElementChild?.remove();
  if (atBottom) log.scrollTop = log.scrollHeight;
}

function timeOf(date: Date): DomElement {
  const time = make('time', '', date.toTimeString().slice(0, 8) + '.' + String(date.getMilliseconds()).padStart(3, '0'));
  time.setAttribute('datetime', date.toISOString());
  return time;
}

/** Where a message was sent, as shown in the log. */
function targetOf(message: Message): string {
  if (message.all === true) return '(everyone)';
  if (message.topic === undefined) return message.user === true ? '(user)' : '(unknown)';
  return message.private === true ? `${message.topic} (private)` : message.topic;
}

function showData(data: string | Uint8Array): string {
  if (typeof data === 'string') return data;
  let hex = '';
  for (const byte of data.subarray(0, 64)) hex += byte.toString(16).padStart(2, '0');
  return `(${data.length} bytes) ${hex}${data.length > 64 ? '…' : ''}`;
}

function logMessage(message: Message): void {
  const entry = document.createElement('li');
  entry.className = 'msg';
  entry.dataset.target = targetOf(message);
  if (message.seq !== undefined) entry.dataset.seq = String(message.seq);
  entry.append(
    timeOf(new Date()),
    make('span', 'topic', targetOf(message)),
    make('span', 'seq', message.seq === undefined ? '' : `#${message.seq}`),
    make('span', 'data', showData(message.data)),
  );
  addEntry(entry);
}

/** A line about the connection itself (status changes, gaps, errors). */
function logEvent(kind: string, text: string): void {
  const entry = document.createElement('li');
  entry.className = 'event';
  entry.dataset.kind = kind;
  entry.append(timeOf(new Date()), make('span', 'data', text));
  addEntry(entry);
}

// ---- connection and subscriptions ----

interface Wanted {
  topic: string;
  private: boolean;
  subscription: Subscription | undefined;
  /** `pending` until the server first confirms. */
  state: 'pending' | 'subscribed';
}

let client: Client | undefined;
/** Bumped whenever the client is replaced or closed, so the sockets of an old one are not reported on. */
let clientGeneration = 0;
/** Subscriptions asked for, by `topic` or `private:topic`; renewed on every new client. */
const wanted = new Map<string, Wanted>();
const keyOf = (topic: string, isPrivate: boolean) => (isPrivate ? `private:${topic}` : topic);
const ignore = (): void => {};

function showStatus(status: ClientStatus): void {
  const out = element('ws-status');
  out.textContent = status;
  out.dataset.state = status;
  logEvent('status', `connection ${status}`);
  if (status === 'open') showProblem(undefined);
}

// ---- why the connection is down ----

/**
 * The browser's WebSocket class, watched: every socket the SDK opens reports
 * how it ended, so the page can say why it is reconnecting instead of only
 * that it is. A browser does not tell a refused TCP connection from a refused
 * upgrade (both close with 1006 before opening), so those read "cannot reach".
 */
function watchedSocketClass(generation: number): WebSocketConstructor {
  return function WatchedSocket(url: string, protocols?: string | string[]): WebSocketLike {
    const socket = new BrowserSocket(url, protocols) as ObservableSocket;
    let opened = false;
    let closedHere = false;
    const close = socket.close.bind(socket);
    socket.close = (code?: number, reason?: string) => {
      closedHere = true;
      close(code, reason);
    };
    socket.addEventListener('open', () => (opened = true));
    socket.addEventListener('close', (event) => {
      if (closedHere || generation !== clientGeneration) return;
      showProblem(closeProblem(url, opened, event.code, event.reason));
    });
    return socket;
  } as unknown as WebSocketConstructor;
}

function closeProblem(url: string, opened: boolean, code: number, reason: string): string {
  if (!opened) return `cannot reach ${url}: the server is down, or there is no WebSocket endpoint at that address`;
  if (code === 1006) return `connection to ${url} lost (1006: no close frame)`;
  return `closed by the server: ${code}${reason === '' ? '' : ` ${reason}`}`;
}

/** Show (or, with undefined, clear) why the connection is down; a new reason is also logged once. */
function showProblem(text: string | undefined): void {
  const out = element('ws-problem');
  if (text !== undefined && text !== out.textContent) logEvent('problem', text);
  out.textContent = text ?? '';
  out.hidden = text === undefined;
}

/** Replace the client with one for the URL and credential in the form; a bad URL is shown, not thrown. */
function connect(): void {
  try {
    openClient();
  } catch (error) {
    client = undefined;
    const out = element('ws-status');
    out.textContent = 'not connected';
    out.dataset.state = 'closed';
    showProblem(describe(error));
  }
}

function openClient(): void {
  client?.close();
  client = undefined;
  const generation = ++clientGeneration;
  showProblem(undefined);
  const url = field('ws-url').value.trim();
  const login = field('login').value;
  // A console is watched by a person: retry at least every 5 s rather than backing off to 30 s.
  const options: HeraldClientOptions = {
    url,
    protocol: 'herald.v1',
    reconnect: { maxMs: 5000 },
    WebSocket: watchedSocketClass(generation),
  };
  if (login !== '') options.token = login;
  const next = (client = new HeraldClient(options));
  next.on('status', showStatus);
  next.on('message', logMessage);
  next.on('gap', logGap);
  next.on('error', (error) => {
    logEvent('error', `error: ${error.message}`);
    // A terminal failure (status closed) says why here; while reconnecting the close reason does.
    if (next === client && next.status === 'closed') showProblem(error.message);
  });
  next.on('join', (info) => logJoinLeave('joined', info));
  next.on('leave', (info) => logJoinLeave('left', info));
  next.on('serverSubscribe', ({ topic }) => logEvent('server', `subscribed to ${topic} by the server`));
  next.on('serverUnsubscribe', ({ topic }) => logEvent('server', `unsubscribed from ${topic} by the server`));
  for (const want of wanted.values()) track(want, next.subscribe(want.topic, ignore, { private: want.private, joinLeave: true }));
  next.connect();
}

function logJoinLeave(what: string, info: JoinLeaveInfo): void {
  logEvent('presence', `${info.uid === '' ? 'an anonymous client' : info.uid} (${info.client}) ${what} ${info.topic}`);
}

function logGap(gap: GapInfo): void {
  const name = gap.private ? `private topic ${gap.topic}` : `topic ${gap.topic}`;
  logEvent('gap', `${name}: messages may have been missed; live again from #${gap.position.seq + 1}`);
}

function describe(value: unknown): string {
  return value instanceof Error ? value.message : String(value);
}

function disconnect(): void {
  client?.close();
  client = undefined;
  clientGeneration++;
  showProblem(undefined);
  for (const want of wanted.values()) {
    want.subscription = undefined;
    want.state = 'pending';
  }
  renderSubscriptions();
  const out = element('ws-status');
  out.textContent = 'not connected';
  out.dataset.state = 'idle';
}

function subscribe(topic: string, isPrivate: boolean): void {
  const key = keyOf(topic, isPrivate);
  if (wanted.has(key)) return;
  const want: Wanted = { topic, private: isPrivate, subscription: undefined, state: 'pending' };
  wanted.set(key, want);
  if (client !== undefined) track(want, client.subscribe(topic, ignore, { private: isPrivate, joinLeave: true }));
  renderSubscriptions();
}

/** Follow the server's answer to a subscription: confirmed, or refused (then it leaves the list). */
function track(want: Wanted, subscription: Subscription): void {
  want.subscription = subscription;
  subscription.ready.then(
    () => {
      if (want.subscription !== subscription) return;
      want.state = 'subscribed';
      renderSubscriptions();
    },
    () => {
      // The client reports why as an `error` event (logged) and drops the subscription.
      if (want.subscription !== subscription) return;
      wanted.delete(keyOf(want.topic, want.private));
      renderSubscriptions();
    },
  );
}

async function unsubscribe(key: string): Promise<void> {
  const want = wanted.get(key);
  if (want === undefined) return;
  wanted.delete(key);
  renderSubscriptions();
  try {
    await want.subscription?.unsubscribe();
  } catch (error) {
    logEvent('error', `unsubscribe ${want.topic}: ${describe(error)}`);
  }
}

function renderSubscriptions(): void {
  const items = [...wanted].map(([key, want]) => {
    const item = document.createElement('li');
    item.dataset.key = key;
    item.dataset.state = want.state;
    const name = document.createElement('span');
    name.append(make('code', '', want.topic));
    if (want.private) name.append(make('span', 'tag', 'private'));
    if (want.state === 'pending') name.append(make('span', 'tag', 'pending'));
    const button = make('button', '', 'Unsubscribe');
    button.setAttribute('type', 'button');
    button.setAttribute('aria-label', `Unsubscribe from ${want.private ? 'private topic' : 'topic'} ${want.topic}`);
    button.addEventListener('click', () => void unsubscribe(key));
    item.append(name, button);
    return item;
  });
  element('subs').replaceChildren(...items);
  element('subs-empty').hidden = items.length > 0;
}

// ---- presence ----

/** Read the presence of every subscribed topic, show it, and poll again (not a server without the routes). */
async function pollPresence(): Promise<void> {
  const topics = [...new Set([...wanted.values()].map((want) => want.topic))];
  let views: TopicPresence[];
  try {
    const signal = AbortSignal.timeout(STATS_TIMEOUT_MS);
    views = await Promise.all(topics.map((topic) => readPresence(fetch, topic, apiHeaders(), signal)));
  } catch (error) {
    views = topics.map((topic) => ({ topic, state: 'error', summary: `presence failed: ${describe(error)}`, rows: [], more: 0 }));
  }
  renderPresence(views);
  // A server without the routes (404) will not grow them: say "presence unavailable" once and stop asking.
  if (views.some((view) => view.state === 'unavailable')) return;
  setTimeout(() => void pollPresence(), PRESENCE_INTERVAL_MS);
}

function renderPresence(views: TopicPresence[]): void {
  const items = views.map((view) => {
    const item = document.createElement('li');
    item.dataset.topic = view.topic;
    item.dataset.state = view.state;
    item.append(make('code', '', view.topic), make('span', 'summary', view.summary));
    if (view.rows.length > 0) {
      const rows = document.createElement('ul');
      for (const row of view.rows) {
        const since = new Date(row.connectedAt).toLocaleTimeString();
        rows.append(make('li', '', `${row.uid === '' ? '(anonymous)' : row.uid} · ${row.client} · node ${row.node} · since ${since}`));
      }
      if (view.more > 0) rows.append(make('li', 'hint', `and ${view.more} more`));
      item.append(rows);
    }
    return item;
  });
  element('presence').replaceChildren(...items);
  element('presence-empty').hidden = items.length > 0;
}

// ---- wiring ----

/**
 * `?ws=` if given, else the server's own WebSocket listener as the page
 * describes it (`data-ws-*`: scheme, port, path, and host when the listener is
 * bound to one address), else gpush's default port on this host.
 */
function defaultWsUrl(): string {
  const fromQuery = new URLSearchParams(location.search).get('ws');
  if (fromQuery !== null && fromQuery !== '') return fromQuery;
  const ws = document.body.dataset;
  const scheme = ws.wsScheme ?? (location.protocol === 'https:' ? 'wss' : 'ws');
  const host = ws.wsHost ?? location.hostname;
  // location.hostname already brackets an IPv6 address; a configured one is bare.
  const authority = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `${scheme}://${authority}:${ws.wsPort ?? '9992'}${ws.wsPath ?? '/ws'}`;
}

/** Keep `?ws=` in the address bar, so a reload or a shared link keeps the URL. */
function rememberWsUrl(url: string): void {
  const address = new URL(location.href);
  address.searchParams.set('ws', url);
  history.replaceState(null, '', address.href);
}

function onSubmit(id: string, action: () => void | Promise<void>): void {
  element(id).addEventListener('submit', (event) => {
    event.preventDefault();
    void action();
  });
}

function start(): void {
  field('ws-url').value = defaultWsUrl();
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token !== null) field('push-token').value = token;
  element('push-token-row').hidden = document.body.dataset.pushAuth !== 'required' && token === null;
  onSubmit('connect-form', () => {
    rememberWsUrl(field('ws-url').value.trim());
    connect();
  });
  element('disconnect').addEventListener('click', disconnect);
  onSubmit('subscribe-form', () => subscribe(field('sub-topic').value.trim(), field('sub-private').checked));
  element('unsubscribe').addEventListener('click', () => {
    void unsubscribe(keyOf(field('sub-topic').value.trim(), field('sub-private').checked));
  });
  onSubmit('push-form', () => push().catch((error: unknown) => showPushResult(`failed: ${describe(error)}`, false)));
  element('clear-log').addEventListener('click', () => log.replaceChildren());
  renderSubscriptions();
  connect();
  void pollStats();
  void pollPresence();
}

start();
