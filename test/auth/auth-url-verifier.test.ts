import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { AuthError, AuthFailure, AuthUrlVerifier, type AuthUrlVerifierOptions } from '../../src/auth/index.js';
import { okReply, replyJson, startAuthServer, type AuthHandler, type AuthServer } from '../helpers/auth-server.js';

/** Await a rejection with AuthError of `reason`; returns it for further checks. */
async function rejectsWith(promise: Promise<unknown>, reason: AuthFailure): Promise<AuthError> {
  const err = await promise.then(
    (value) => assert.fail(`expected an AuthError '${reason}', got ${JSON.stringify(value)}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof AuthError, `expected AuthError, got ${String(err)}`);
  assert.equal(err.reason, reason, err.message);
  return err;
}

/** Resolve once `socket` has closed, whatever error (e.g. ECONNRESET) preceded it. */
function closed(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) resolve();
    else socket.once('close', () => resolve());
  });
}

// A generous bound so that a regression (a connection never closed) fails instead of hanging.
describe('AuthUrlVerifier', { timeout: 30_000 }, () => {
  let auth: AuthServer | undefined;
  let verifier: AuthUrlVerifier | undefined;

  afterEach(async () => {
    verifier?.close();
    verifier = undefined;
    await auth?.close();
    auth = undefined;
  });

  /** Start a fake auth service with `handler` and a verifier pointing at it. */
  async function setup(handler: AuthHandler, options: Partial<AuthUrlVerifierOptions> = {}): Promise<AuthUrlVerifier> {
    auth = await startAuthServer(handler);
    verifier = new AuthUrlVerifier({ url: auth.url, ...options });
    return verifier;
  }

  /** A service answering `reply` (a JSON value, or raw text) to every request. */
  const answering = (reply: unknown, status = 200): AuthHandler => (_req, res) => replyJson(res, reply, status);

  describe('request', () => {
    it('POSTs {"token": <credential>} as JSON and resolves the uid of a code 0 reply', async () => {
      const v = await setup(answering(okReply('42')));
      assert.deepEqual(await v.verify('secret-token'), { uid: '42' });
      const [req] = auth!.requests;
      assert.equal(req.method, 'POST');
      assert.equal(req.url, '/account/v1/validate_token');
      assert.equal(req.headers['content-type'], 'application/json');
      assert.deepEqual(JSON.parse(req.body), { token: 'secret-token' });
    });

    it('sends any JSON credential as is, and a missing one as null', async () => {
      const v = await setup(answering(okReply('42')));
      const credential = { jwt: 'x', scopes: ['a', 1, null], nested: { ok: true } };
      await v.verify(credential);
      await v.verify(7);
      await v.verify(undefined);
      assert.deepEqual(auth!.requests.map((r) => JSON.parse(r.body)), [{ token: credential }, { token: 7 }, { token: null }]);
      for (const r of auth!.requests) assert.equal(r.headers['content-type'], 'application/json');
    });

    it('sends extra headers but keeps the JSON content type', async () => {
      const v = await setup(answering(okReply('42')), {
        headers: { Authorization: 'Bearer service', 'Content-Type': 'text/plain' },
      });
      await v.verify('t');
      assert.equal(auth!.requests[0].headers.authorization, 'Bearer service');
      assert.equal(auth!.requests[0].headers['content-type'], 'application/json');
    });
  });

  describe('replies', () => {
    it('accepts code "0" as a string, as gpush\'s int32 cast does', async () => {
      const v = await setup(answering({ code: '0', data: { user_info: { uid: 'u7' } } }));
      assert.deepEqual(await v.verify('t'), { uid: 'u7' });
    });

    it('accepts a safe-integer uid as its decimal string', async () => {
      const v = await setup(answering(okReply(123)));
      assert.deepEqual(await v.verify('t'), { uid: '123' });
    });

    it('rejects a uid number beyond 2^53, a fraction, or another type as invalid malformed data', async () => {
      for (const raw of ['9007199254740993', '1.5', 'true', '{"id":1}', '["a"]']) {
        const v = await setup(answering(`{"code":0,"data":{"user_info":{"uid":${raw}}}}`));
        const err = await rejectsWith(v.verify('t'), AuthFailure.Invalid);
        assert.match(err.message, /malformed/);
        v.close();
        await auth!.close();
      }
    });

    it('rejects a refusal (non-zero code) as invalid and keeps the service message', async () => {
      const v = await setup(answering({ code: 1, msg: 'bad token' }));
      const err = await rejectsWith(v.verify('t'), AuthFailure.Invalid);
      assert.match(err.message, /code 1: bad token/);
    });

    it('rejects code 0 without a usable data.user_info.uid as invalid', async () => {
      const replies = [
        { code: 0, data: null },
        { code: 0 },
        { code: 0, data: { user_info: null } },
        { code: 0, data: { user_info: {} } },
        { code: 0, data: { user_info: { uid: '' } } },
        { code: 0, data: 'uid' },
      ];
      for (const reply of replies) {
        const v = await setup(answering(reply));
        await rejectsWith(v.verify('t'), AuthFailure.Invalid);
        v.close();
        await auth!.close();
      }
    });

    it('rejects non-JSON and wrongly typed replies as invalid malformed data', async () => {
      const replies = ['not json', '', 'null', '[]', '"ok"', '{"data":{"user_info":{"uid":"1"}}}', '{"code":null}', '{"code":"zero"}'];
      for (const reply of replies) {
        const v = await setup(answering(reply));
        const err = await rejectsWith(v.verify('t'), AuthFailure.Invalid);
        assert.match(err.message, /malformed/, `reply ${JSON.stringify(reply)}`);
        v.close();
        await auth!.close();
      }
    });

    it('maps HTTP 5xx and 429 to unavailable, and 4xx and 3xx to invalid', async () => {
      const cases: Array<[number, AuthFailure]> = [
        [500, AuthFailure.Unavailable],
        [503, AuthFailure.Unavailable],
        [429, AuthFailure.Unavailable],
        [401, AuthFailure.Invalid],
        [404, AuthFailure.Invalid],
        [302, AuthFailure.Invalid],
      ];
      for (const [status, reason] of cases) {
        // Even a body that looks like a success must not count when the status is not 2xx.
        const v = await setup((_req, res) => {
          res.writeHead(status, { location: '/elsewhere', 'content-type': 'application/json' });
          res.end(JSON.stringify(okReply('42')));
        });
        const err = await rejectsWith(v.verify('t'), reason);
        assert.match(err.message, new RegExp(`HTTP ${status}`));
        v.close();
        await auth!.close();
      }
    });

    it('rejects a reply larger than maxResponseBytes, streamed or declared, and drops the connection', async () => {
      for (const declared of [false, true]) {
        let socket: Socket | undefined;
        const v = await setup(
          (req, res) => {
            socket = req.socket;
            res.on('error', () => {});
            const big = Buffer.alloc(1024 * 1024, 'x');
            res.writeHead(200, declared ? { 'content-length': big.length + 2 } : {});
            res.write('["');
            res.end(big);
          },
          { maxResponseBytes: 1024 },
        );
        const err = await rejectsWith(v.verify('t'), AuthFailure.Invalid);
        assert.match(err.message, /larger than 1024 bytes/);
        assert.ok(socket !== undefined);
        await closed(socket);
        v.close();
        await auth!.close();
      }
    });
  });

  describe('failures of the service', () => {
    it('times out on a service that never answers, and closes that connection', async () => {
      let serverSocket: Socket | undefined;
      const v = await setup((req) => {
        serverSocket = req.socket;
      }, { timeoutMs: 200 });
      const err = await rejectsWith(v.verify('t'), AuthFailure.Timeout);
      assert.match(err.message, /within 200 ms/);
      assert.ok(serverSocket !== undefined);
      await closed(serverSocket);
      assert.equal(v.inFlight, 0);
    });

    it('times out on a service that sends headers then stalls the body', async () => {
      const v = await setup((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"code":0,');
      }, { timeoutMs: 200 });
      await rejectsWith(v.verify('t'), AuthFailure.Timeout);
    });

    it('reports unavailable when the service closes the connection without answering', async () => {
      const v = await setup((req) => {
        req.socket.destroy();
      });
      const err = await rejectsWith(v.verify('t'), AuthFailure.Unavailable);
      assert.match(err.message, /unreachable/);
    });

    it('reports unavailable when nothing listens on the port', async () => {
      const server = createServer();
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const { port } = server.address() as AddressInfo;
      await new Promise<void>((resolve) => server.close(() => resolve()));
      verifier = new AuthUrlVerifier({ url: `http://127.0.0.1:${port}/auth` });
      const err = await rejectsWith(verifier.verify('t'), AuthFailure.Unavailable);
      assert.match(err.message, /ECONNREFUSED/);
    });
  });

  describe('concurrency', () => {
    it('resolves 50 concurrent verifications, each with its own uid', async () => {
      const v = await setup((_req, res, body) => replyJson(res, okReply(`u-${(JSON.parse(body) as { token: string }).token}`)));
      const tokens = Array.from({ length: 50 }, (_, i) => `t${i}`);
      const identities = await Promise.all(tokens.map((t) => v.verify(t)));
      assert.deepEqual(identities.map((i) => i.uid), tokens.map((t) => `u-${t}`));
      assert.equal(auth!.requests.length, 50);
    });

    it('never has more than maxConcurrent requests in flight and still completes every call', async () => {
      const total = 12;
      const held: Array<{ res: ServerResponse; token: string }> = [];
      let served = 0;
      let inFlight = 0;
      let maxInFlight = 0;
      // Release the oldest held request only once as many are in flight as the limit allows,
      // so a limiter that admitted fewer would stall and one that admitted more would be seen.
      const v = await setup((_req, res, body) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        res.on('finish', () => inFlight--);
        held.push({ res, token: (JSON.parse(body) as { token: string }).token });
        while (held.length > 0 && held.length >= Math.min(2, total - served)) {
          const next = held.shift()!;
          served++;
          replyJson(next.res, okReply(`u-${next.token}`));
        }
      }, { maxConcurrent: 2 });
      const tokens = Array.from({ length: total }, (_, i) => `t${i}`);
      const identities = await Promise.all(tokens.map((t) => v.verify(t)));
      assert.deepEqual(identities.map((i) => i.uid), tokens.map((t) => `u-${t}`));
      assert.equal(maxInFlight, 2);
      assert.equal(v.inFlight, 0);
      assert.equal(v.queued, 0);
    });

    it('rejects calls beyond maxQueue with unavailable at once, then serves the queue in order', async () => {
      const held: Array<() => void> = [];
      let arrived!: () => void;
      const firstArrived = new Promise<void>((resolve) => (arrived = resolve));
      const v = await setup((_req, res, body) => {
        held.push(() => replyJson(res, okReply(`u-${(JSON.parse(body) as { token: string }).token}`)));
        arrived();
      }, { maxConcurrent: 1, maxQueue: 1 });
      const first = v.verify('a');
      await firstArrived;
      const second = v.verify('b');
      assert.equal(v.queued, 1);
      const err = await rejectsWith(v.verify('c'), AuthFailure.Unavailable);
      assert.match(err.message, /saturated/);
      held.shift()!();
      assert.equal((await first).uid, 'u-a');
      while (held.length === 0) await new Promise((resolve) => setImmediate(resolve));
      held.shift()!();
      assert.equal((await second).uid, 'u-b');
      assert.deepEqual(auth!.requests.map((r) => JSON.parse(r.body)), [{ token: 'a' }, { token: 'b' }]);
    });

    it('counts the deadline from the call, so a queued call times out too and leaves no slot or queue entry behind', async () => {
      const v = await setup(() => {}, { maxConcurrent: 1, timeoutMs: 200 });
      const results = await Promise.allSettled([v.verify('a'), v.verify('b')]);
      for (const r of results) {
        assert.equal(r.status, 'rejected');
        assert.equal((r.reason as AuthError).reason, AuthFailure.Timeout);
      }
      // Whether 'b' got the slot freed by 'a' before its own deadline is a race; either way it times out.
      assert.ok(auth!.requests.length <= 2);
      assert.equal(v.inFlight, 0);
      assert.equal(v.queued, 0);
    });
  });

  describe('lifecycle and options', () => {
    it('close() rejects pending calls and later calls with unavailable', async () => {
      let arrived!: () => void;
      const requestArrived = new Promise<void>((resolve) => (arrived = resolve));
      const v = await setup(() => arrived(), { maxConcurrent: 1 });
      const pending = v.verify('a');
      const queued = v.verify('b');
      await requestArrived;
      v.close();
      await rejectsWith(pending, AuthFailure.Unavailable);
      await rejectsWith(queued, AuthFailure.Unavailable);
      await rejectsWith(v.verify('c'), AuthFailure.Unavailable);
      assert.equal(v.inFlight, 0);
    });

    it('rejects a credential that cannot be encoded as JSON as invalid, without throwing synchronously', async () => {
      const v = await setup(answering(okReply('42')));
      const circular: Record<string, unknown> = {};
      circular.self = circular;
      for (const credential of [10n, circular]) {
        let pending: Promise<unknown> | undefined;
        assert.doesNotThrow(() => (pending = v.verify(credential)));
        await rejectsWith(pending!, AuthFailure.Invalid);
      }
      assert.equal(auth!.requests.length, 0);
    });

    it('throws TypeError or RangeError on a bad URL, headers or limits', () => {
      assert.throws(() => new AuthUrlVerifier({ url: 'not a url' }), TypeError);
      assert.throws(() => new AuthUrlVerifier({ url: 'ftp://host/x' }), TypeError);
      assert.throws(() => new AuthUrlVerifier({ url: 'http://h/', headers: { 'bad header': 'x' } }), TypeError);
      assert.throws(() => new AuthUrlVerifier({ url: 'http://h/', timeoutMs: 0 }), RangeError);
      assert.throws(() => new AuthUrlVerifier({ url: 'http://h/', maxConcurrent: 1.5 }), RangeError);
      assert.throws(() => new AuthUrlVerifier({ url: 'http://h/', maxResponseBytes: -1 }), RangeError);
    });
  });
});
