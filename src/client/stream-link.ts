import type { FetchLike } from './types.js';

/** What a {@link StreamLink} reports; each is called at most once, except `line`. */
export interface StreamLinkHandlers {
  /** The server answered 200: the stream is live. */
  open(): void;
  /** One NDJSON line (without its LF; '' for a keep-alive). */
  line(text: string): void;
  /**
   * The stream is over, not by {@link StreamLink.abort}: `status` is the HTTP
   * status when the server refused the request (not 200; `body` is its JSON
   * error, or undefined), 0 when the request failed or the body ended.
   */
  end(status: number, error: Error | undefined, body?: unknown): void;
}

/**
 * One `POST /v1/stream` request (PROTOCOL.md, "Without WebSocket"): sends
 * the JSON body, then reads the response body as newline-delimited JSON with
 * a streaming reader — `fetch`'s `ReadableStream`, so it runs in browsers
 * and in Node ≥ 18 alike. No parsing beyond splitting lines: the client
 * reads each line as a herald.v1 text frame.
 */
export class StreamLink {
  private readonly controller = new AbortController();
  private aborted = false;

  constructor(fetchImpl: FetchLike, url: string, body: unknown, private readonly handlers: StreamLinkHandlers) {
    // text/plain keeps the request "simple" (Fetch standard, CORS-safelisted
    // request-header): a cross-origin page sends it without a preflight. The
    // server reads the body as JSON whatever its type.
    const init = {
      method: 'POST',
      headers: { 'content-type': 'text/plain;charset=UTF-8', accept: 'application/x-ndjson' },
      body: JSON.stringify(body),
      signal: this.controller.signal,
    };
    let request: Promise<Awaited<ReturnType<FetchLike>>>;
    try {
      request = Promise.resolve(fetchImpl(url, init));
    } catch (error) {
      request = Promise.reject(error);
    }
    request.then(
      (response) => this.responded(response),
      (error: unknown) => this.finish(0, asError(error, 'the stream request failed')),
    );
  }

  /** End the request from this side; no handler is called after this. */
  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.controller.abort();
  }

  private async responded(response: Awaited<ReturnType<FetchLike>>): Promise<void> {
    if (this.aborted) return;
    if (response.status !== 200 || response.body === null) {
      let json: unknown;
      try {
        json = JSON.parse(await response.text());
      } catch {
        json = undefined;
      }
      return this.finish(response.status || 0, new Error(`the stream request was answered ${response.status}`), json);
    }
    this.handlers.open();
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffered = '';
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (this.aborted) return;
        if (done) break;
        buffered += decoder.decode(value, { stream: true });
        let newline: number;
        while ((newline = buffered.indexOf('\n')) !== -1) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          this.handlers.line(line);
          if (this.aborted) return;
        }
      }
      this.finish(0, undefined);
    } catch (error) {
      this.finish(0, asError(error, 'the stream broke'));
    }
  }

  private finish(status: number, error: Error | undefined, body?: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.handlers.end(status, error, body);
  }
}

function asError(error: unknown, message: string): Error {
  return new Error(message, { cause: error });
}
