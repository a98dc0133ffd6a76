import type { ServerResponse } from 'node:http';

/** An API failure: HTTP status, machine code, human message; sent as `{"error":{"code","message"}}`. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export function sendError(res: ServerResponse, error: ApiError, extraHeaders: Record<string, string> = {}): void {
  // Once a request body is refused unread (too large, too slow), the connection cannot be reused.
  const unread = error.status === 413 || error.status === 408;
  const headers: Record<string, string> = unread ? { Connection: 'close', ...extraHeaders } : extraHeaders;
  sendJson(res, error.status, { error: { code: error.code, message: error.message } }, headers);
}
