import http from 'node:http';
import https from 'node:https';
import type { BackendTransport } from './backend-caller.js';

/** Options of an {@link HttpTransport}. */
export interface HttpTransportOptions {
  /** `http:` or `https:` endpoint; each request is a POST of a JSON body to it. */
  url: string | URL;
  /** Sockets kept per backend (the caller's concurrency cap); default 64. */
  maxSockets?: number;
  /** Largest answer body read, in bytes; a larger one fails the request. Default 64 KiB. */
  maxResponseBytes?: number;
}

/** Thrown (as the request's rejection) for an answer that is not a 2xx JSON body; the message is for the log. */
export class BackendAnswerError extends Error {
  override readonly name = 'BackendAnswerError';
}

/**
 * POST JSON, read JSON, over a keep-alive agent so a burst of subscribes reuses a few sockets
 * instead of opening one per call. Redirects are not followed. Any answer but a 2xx with a JSON
 * body is a failure with a message naming what came back.
 */
export class HttpTransport implements BackendTransport {
  readonly #url: URL;
  readonly #agent: http.Agent;
  readonly #request: typeof http.request;
  readonly #maxResponseBytes: number;

  /** Throws a TypeError on a URL that is not http(s). */
  constructor(options: HttpTransportOptions) {
    this.#url = new URL(options.url);
    if (this.#url.protocol !== 'http:' && this.#url.protocol !== 'https:') {
      throw new TypeError(`backend URL must be http:, https: or grpc:, got ${this.#url.protocol}`);
    }
    const secure = this.#url.protocol === 'https:';
    const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 64 };
    this.#agent = secure ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
    this.#request = secure ? https.request : http.request;
    this.#maxResponseBytes = options.maxResponseBytes ?? 64 * 1024;
  }

  request(body: Readonly<Record<string, unknown>>, signal: AbortSignal): Promise<unknown> {
    // A string body goes out in one write with the head (a Buffer would be a second writev chunk).
    const payload = JSON.stringify(body);
    return this.#post(payload, signal).catch((error: NodeJS.ErrnoException & { reusedSocket?: boolean }) => {
      // A kept-alive socket the backend closed just as we reused it fails at once with ECONNRESET
      // (Node's http docs, "request.reusedSocket"): the question is idempotent, so ask once more.
      if (error.reusedSocket === true && error.code === 'ECONNRESET' && !signal.aborted) return this.#post(payload, signal);
      throw error;
    });
  }

  close(): void {
    this.#agent.destroy();
  }

  /** One POST; a failure carries `reusedSocket` (whether it went out on a kept-alive socket). */
  #post(payload: string, signal: AbortSignal): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const req = this.#request(this.#url, {
        method: 'POST',
        agent: this.#agent,
        signal,
        headers: { 'content-type': 'application/json', accept: 'application/json', 'content-length': Buffer.byteLength(payload) },
      });
      req.on('error', (error) => reject(Object.assign(error, { reusedSocket: req.reusedSocket })));
      // Settle on abort whatever state the exchange is in (an answer whose body stalls mid-way
      // included): the caller's concurrency slot is held until this promise settles.
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      req.on('response', (res) => this.#read(res, resolve, reject));
      req.end(payload);
    });
  }

  #read(res: http.IncomingMessage, resolve: (answer: unknown) => void, reject: (error: Error) => void): void {
    const status = res.statusCode ?? 0;
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > this.#maxResponseBytes) {
        res.destroy();
        reject(new BackendAnswerError(`answer larger than ${this.#maxResponseBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    res.on('error', reject);
    res.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (status < 200 || status > 299) return reject(new BackendAnswerError(`HTTP ${status}: ${quote(text)}`));
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(new BackendAnswerError(`answer is not JSON: ${quote(text)}`));
      }
    });
  }
}

/** The start of a body, for a log line. */
function quote(text: string): string {
  return JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text);
}
