/**
 * Clients and small utilities for the multi-node tests (test/cluster-redis).
 *
 * A {@link ClusterClient} speaks gpush (raw payloads) or `herald.v1`
 * (envelopes `{topic, seq, epoch, data}`) and records replies and deliveries
 * separately. Waits are event-driven with generous safety bounds; nothing
 * here measures time.
 */
import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import type { HeraldProcess } from '../helpers/herald-process.js';
import { waitUntil, withTimeout } from '../helpers/server.js';

/** Safety bound for anything a multi-node test waits for; never a timing assertion. */
export const CLUSTER_WAIT_MS = 20_000;

/** The shared secret the nodes verify logins with (HS256, at least 32 bytes). */
export const JWT_SECRET = 'cluster-redis-test-secret-0123456789abcdef';

/** An HS256 JWT for `uid` (sub), valid for an hour. */
export function tokenFor(uid: string): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(uid)
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(JWT_SECRET));
}

export interface Position {
  seq: number;
  epoch: string;
}

/** A herald.v1 delivery. */
export interface Envelope {
  topic?: string;
  seq: number;
  epoch: string;
  data?: string;
  dataBase64?: string;
  private?: boolean;
  user?: boolean;
  all?: boolean;
}

/** A reply `{code, message, …}` (herald.v1 adds id, recovered, position). */
export interface Reply {
  code: number;
  message: string;
  detail?: unknown;
  id?: number | string;
  recovered?: boolean;
  position?: Position;
}

/** One push as the client got it: its payload text, and the envelope under herald.v1. */
export interface Delivery {
  data: string;
  envelope?: Envelope;
}

export class ClusterClient {
  readonly replies: Reply[] = [];
  readonly deliveries: Delivery[] = [];
  closeEvent: { code: number; reason: string } | undefined;
  private replyCursor = 0;
  private nextId = 1;

  private constructor(
    readonly ws: WebSocket,
    readonly name: string,
    readonly heraldV1: boolean,
  ) {
    ws.on('message', (raw, isBinary) => this.onFrame(Buffer.isBuffer(raw) ? raw : Buffer.from(raw as ArrayBuffer), isBinary));
    ws.on('close', (code, reason) => (this.closeEvent = { code, reason: reason.toString() }));
    ws.on('error', () => {}); // a killed node resets the socket; the close event records it
  }

  /** Connect (gpush by default, `herald.v1` with `heraldV1`) and check the 20000 greeting. */
  static async connect(url: string, options: { name?: string; heraldV1?: boolean } = {}): Promise<ClusterClient> {
    const heraldV1 = options.heraldV1 ?? false;
    const ws = new WebSocket(url, heraldV1 ? ['herald.v1'] : []);
    const client = new ClusterClient(ws, options.name ?? url, heraldV1);
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
      }),
      `${client.name} to connect to ${url}`,
      CLUSTER_WAIT_MS,
    );
    if (heraldV1) assert.equal(ws.protocol, 'herald.v1', `${client.name}: herald.v1 was not selected`);
    const greeting = await client.nextReply();
    assert.equal(greeting.code, 20000, `${client.name}: greeting ${JSON.stringify(greeting)}`);
    return client;
  }

  /** Payloads received so far, in order. */
  get data(): string[] {
    return this.deliveries.map((d) => d.data);
  }

  /** Envelopes received so far (herald.v1), in order. */
  get envelopes(): Envelope[] {
    return this.deliveries.map((d) => {
      assert.ok(d.envelope !== undefined, `${this.name}: a delivery without an envelope`);
      return d.envelope;
    });
  }

  /** The position of the last envelope received, or undefined. */
  get lastPosition(): Position | undefined {
    const last = this.deliveries.at(-1)?.envelope;
    return last === undefined ? undefined : { seq: last.seq, epoch: last.epoch };
  }

  /** The next reply not yet taken, in order; with `code`, it must have that code. */
  async nextReply(code?: number): Promise<Reply> {
    await waitUntil(
      () => this.replies.length > this.replyCursor || this.closeEvent !== undefined,
      `${this.name}: a reply`,
      CLUSTER_WAIT_MS,
    );
    const reply = this.replies[this.replyCursor];
    if (reply === undefined) throw new Error(`${this.name}: closed (${JSON.stringify(this.closeEvent)}) before a reply arrived`);
    this.replyCursor++;
    if (code !== undefined) assert.equal(reply.code, code, `${this.name}: expected reply ${code}, got ${JSON.stringify(reply)}`);
    return reply;
  }

  /** Send a command and return its reply (matched by id under herald.v1), checked against `expect`. */
  async command(fields: Record<string, unknown>, expect?: number): Promise<Reply> {
    if (!this.heraldV1) {
      this.ws.send(JSON.stringify(fields));
      return this.nextReply(expect);
    }
    const id = this.nextId++;
    this.ws.send(JSON.stringify({ ...fields, id }));
    const reply = await this.nextReply(expect);
    assert.equal(reply.id, id, `${this.name}: reply to another command: ${JSON.stringify(reply)}`);
    return reply;
  }

  subscribe(topic: string, since?: Position): Promise<Reply> {
    return this.command(since === undefined ? { code: 1, topic } : { code: 1, topic, since }, 20001);
  }

  unsubscribe(topic: string): Promise<Reply> {
    return this.command({ code: 2, topic }, 20002);
  }

  async login(token: string, uid: string): Promise<Reply> {
    const reply = await this.command({ code: 3, data: token }, 20003);
    assert.deepEqual(reply.detail, { uid }, `${this.name}: logged in as someone else`);
    return reply;
  }

  subscribePrivate(topic: string): Promise<Reply> {
    return this.command({ code: 5, topic }, 20001);
  }

  /** Wait until `check` holds on what was received (fails early if the connection closes). */
  async waitFor(check: (client: this) => boolean, what: string, timeoutMs = CLUSTER_WAIT_MS): Promise<void> {
    await waitUntil(() => check(this) || this.closeEvent !== undefined, `${this.name}: ${what}`, timeoutMs);
    if (!check(this)) throw new Error(`${this.name}: closed (${JSON.stringify(this.closeEvent)}) while waiting for ${what}`);
  }

  /** Wait until the payload `data` has arrived. */
  waitForData(data: string, timeoutMs = CLUSTER_WAIT_MS): Promise<void> {
    return this.waitFor((c) => c.data.includes(data), `the push ${JSON.stringify(data)}`, timeoutMs);
  }

  /** Wait until the connection has closed (e.g. its node was killed). */
  async closed(): Promise<{ code: number; reason: string }> {
    await waitUntil(() => this.closeEvent !== undefined, `${this.name} to close`, CLUSTER_WAIT_MS);
    return this.closeEvent as { code: number; reason: string };
  }

  terminate(): void {
    if (this.closeEvent === undefined) this.ws.terminate();
  }

  private onFrame(raw: Buffer, isBinary: boolean): void {
    const text = isBinary ? `0x${raw.toString('hex')}` : raw.toString('utf8');
    let parsed: unknown;
    try {
      parsed = isBinary ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    const object = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
    if (object !== undefined && typeof object.code === 'number') {
      this.replies.push(object as unknown as Reply);
      return;
    }
    if (this.heraldV1) {
      assert.ok(object !== undefined, `${this.name}: herald.v1 frame that is neither a reply nor an envelope: ${text}`);
      const envelope = object as unknown as Envelope;
      const data = envelope.data ?? `0x${Buffer.from(envelope.dataBase64 ?? '', 'base64').toString('hex')}`;
      this.deliveries.push({ data, envelope });
      return;
    }
    this.deliveries.push({ data: text });
  }
}

/** Terminate every client (never throws). */
export function terminateAll(clients: Iterable<ClusterClient | undefined>): void {
  for (const client of clients) client?.terminate();
}

/** A short random suffix for topic and user names. */
export function uniqueName(base: string): string {
  return `${base}-${Math.random().toString(36).slice(2, 10)}`;
}

/** Assert `seqs` are `first, first+1, …` (contiguous, no duplicate), naming the first break. */
export function assertContiguous(seqs: readonly number[], first: number, what: string): void {
  for (let i = 0; i < seqs.length; i++) {
    if (seqs[i] !== first + i) {
      assert.fail(`${what}: expected seq ${first + i} at index ${i}, got ${seqs[i]} (seqs ${JSON.stringify(seqs.slice(Math.max(0, i - 3), i + 4))}…)`);
    }
  }
}

/** One push that was not acknowledged: its payload and the API's answer (status 0: no HTTP answer). */
export interface FailedPush {
  payload: string;
  status: number;
  json: any;
  text: string;
}

/**
 * Pushes `<label>-<n>` to one target through one node, one request at a time,
 * until stopped or a bound is reached, recording in order which pushes were
 * acknowledged (200) and which failed (anything else, or no answer).
 */
export class Pusher {
  readonly acked: string[] = [];
  readonly failed: FailedPush[] = [];
  /** Every payload attempted, in order. */
  readonly attempted: string[] = [];
  /** The payload whose request is under way, if any. */
  inFlight: string | undefined;
  private stopping = false;
  private ended = false;
  private readonly loop: Promise<void>;

  constructor(
    private readonly node: { pushData(target: { uid?: string; topic?: string }, payload: string): Promise<{ status: number; json: any; text: string }> },
    private readonly target: { uid?: string; topic?: string },
    private readonly options: { label: string; pauseMs?: number; maxPushes?: number; maxMs?: number },
  ) {
    this.loop = this.run();
  }

  /** Stop after the push in flight; resolves when the loop has ended. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.loop;
  }

  /** False once the loop has ended (a bound reached, or stopped). */
  get running(): boolean {
    return !this.ended;
  }

  private async run(): Promise<void> {
    const { label, pauseMs = 0, maxPushes = 100_000, maxMs = 60_000 } = this.options;
    const deadline = Date.now() + maxMs;
    for (let n = 1; !this.stopping && n <= maxPushes && Date.now() < deadline; n++) {
      const payload = `${label}-${n}`;
      this.attempted.push(payload);
      this.inFlight = payload;
      try {
        const answer = await this.node.pushData(this.target, payload);
        if (answer.status === 200) this.acked.push(payload);
        else this.failed.push({ payload, status: answer.status, json: answer.json, text: answer.text });
      } catch (error) {
        this.failed.push({ payload, status: 0, json: undefined, text: String(error) });
      }
      this.inFlight = undefined;
      if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
    this.ended = true;
  }
}

/** One client in a `/v1/presence` answer. */
export interface PresenceEntry {
  client: string;
  uid: string;
  node: string;
}

/** GET `path` of `node`'s server API, asserting 200; its JSON body. */
export async function apiGet(node: HeraldProcess, path: string): Promise<any> {
  const res = await node.request(path);
  assert.equal(res.status, 200, `${path}: ${res.text}`);
  return res.json;
}

/** POST `body` as JSON to `path` of `node`'s server API, asserting 200; its JSON body. */
export async function apiPost(node: HeraldProcess, path: string, body: unknown): Promise<any> {
  const res = await node.request(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  assert.equal(res.status, 200, `${path}: ${res.text}`);
  return res.json;
}
