/**
 * A scripted herald.v1 server for the SDK's token tests, speaking the wire
 * format of CONTRACT-13 / PROTOCOL.md (subscription tokens, 30009, op 9)
 * over a bare `ws` server, so the client side can be tested before the
 * gateway has it. Tokens are real JWTs verified with jose; a topic under
 * `order:` needs one (`channel` claim, `sub` "" or the login's uid), a
 * topic under `chat:` may be published to (op 9). Each topic keeps its whole
 * history, so a `since` resumes exactly.
 */
import { jwtVerify, SignJWT, errors as joseErrors } from 'jose';
import type WebSocket from 'ws';
import { BareServers } from './client-harness.js';

export const SECRET = new TextEncoder().encode('sdk-token-test-secret-of-32-bytes!!');
const EPOCH = 'Ep0chTst';

/** An HS256 JWT; `expiresIn` in seconds from now (negative: expired). */
export function sign(claims: Record<string, unknown>, expiresIn: number): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt(now)
    .setExpirationTime(now + expiresIn)
    .sign(SECRET);
}

interface Conn {
  ws: WebSocket;
  uid: string | undefined;
  topics: Set<string>;
}

export class TokenServer {
  readonly bare = new BareServers();
  url = '';
  readonly conns: Conn[] = [];
  /** Every command received, parsed. */
  readonly commands: Record<string, unknown>[] = [];
  private readonly history = new Map<string, string[]>();

  async start(): Promise<this> {
    const { url } = await this.bare.start((ws) => this.connected(ws));
    this.url = url;
    return this;
  }

  stop(): Promise<void> {
    return this.bare.closeAll();
  }

  /** Subscribe commands for `topic`, in order. */
  subscribes(topic: string): Record<string, unknown>[] {
    return this.commands.filter((c) => c.code === 1 && c.topic === topic);
  }

  /** Publish `text` to `topic` (kept in its history, sent to its subscribers). */
  push(topic: string, text: string): void {
    const list = this.history.get(topic) ?? [];
    list.push(text);
    this.history.set(topic, list);
    const frame = JSON.stringify({ topic, seq: list.length, epoch: EPOCH, data: text });
    for (const conn of this.conns) if (conn.topics.has(topic)) conn.ws.send(frame);
  }

  /** The subscription token of every connection subscribed to `topic` expired: unsubscribe them, unprompted 30009. */
  expire(topic: string): void {
    for (const conn of this.conns) {
      if (!conn.topics.delete(topic)) continue;
      conn.ws.send(JSON.stringify({ code: 30009, message: 'subscription expired', topic, private: false }));
    }
  }

  private connected(ws: WebSocket): void {
    const conn: Conn = { ws, uid: undefined, topics: new Set() };
    this.conns.push(conn);
    ws.send(JSON.stringify({ code: 20000, message: 'connected' }));
    ws.on('message', (data) => {
      const command = JSON.parse(String(data)) as Record<string, unknown>;
      this.commands.push(command);
      void this.handle(conn, command);
    });
  }

  private reply(conn: Conn, code: number, id: unknown, extra: Record<string, unknown> = {}): void {
    conn.ws.send(JSON.stringify({ code, message: String(code), id, ...extra }));
  }

  private async handle(conn: Conn, c: Record<string, unknown>): Promise<void> {
    const topic = c.topic as string;
    if (c.code === 3) {
      const verdict = await verify(c.data);
      if (typeof verdict === 'string') return this.reply(conn, 30003, c.id, { detail: verdict });
      conn.uid = verdict.sub as string;
      return this.reply(conn, 20003, c.id, { detail: { uid: conn.uid } });
    }
    if (c.code === 9) {
      if (!topic.startsWith('chat:')) return this.reply(conn, 30008, c.id, { detail: 'publish not allowed' });
      this.push(topic, JSON.stringify(c.data));
      return this.reply(conn, 20009, c.id);
    }
    if (c.code !== 1) return this.reply(conn, 30001, c.id, { detail: 'not scripted' });
    const extra: Record<string, unknown> = {};
    if (topic.startsWith('order:')) {
      if (c.token === undefined) return this.reply(conn, 30003, c.id, { detail: 'subscription token missing' });
      const claims = await verify(c.token);
      if (claims === 'expired') return this.reply(conn, 30003, c.id, { detail: 'subscription token expired' });
      if (typeof claims === 'string') return this.reply(conn, 30003, c.id, { detail: 'subscription token invalid' });
      if (claims.channel !== topic) return this.reply(conn, 30003, c.id, { detail: 'subscription token is for another channel' });
      if (claims.sub !== (conn.uid ?? '')) return this.reply(conn, 30003, c.id, { detail: 'subscription token is for another user' });
      extra.expiresAt = (claims.exp as number) * 1000;
    }
    const list = this.history.get(topic) ?? [];
    const since = c.since as { seq: number; epoch: string };
    const recovered = since.epoch === EPOCH && since.seq <= list.length;
    this.reply(conn, 20001, c.id, { recovered, position: { seq: list.length, epoch: EPOCH }, ...extra });
    if (recovered) {
      for (let seq = since.seq + 1; seq <= list.length; seq++) {
        conn.ws.send(JSON.stringify({ topic, seq, epoch: EPOCH, data: list[seq - 1] }));
      }
    }
    conn.topics.add(topic);
  }
}

/** The claims of a valid token, or the reason it is not: 'expired' / 'invalid'. */
async function verify(token: unknown): Promise<Record<string, unknown> | 'expired' | 'invalid'> {
  if (typeof token !== 'string') return 'invalid';
  try {
    return (await jwtVerify(token, SECRET, { clockTolerance: 0 })).payload;
  } catch (error) {
    return error instanceof joseErrors.JWTExpired ? 'expired' : 'invalid';
  }
}
