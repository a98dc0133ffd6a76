import { STATUS_CODES, type ServerResponse } from 'node:http';

/**
 * GET routes served on the push API listener beside it, by a layer above
 * (the web console): the API calls them, it does not import them.
 */
export interface PageRoutes {
  matches(path: string): boolean;
  /** `pushAuth`: the push API asks for bearer tokens (the page then asks its user for one). */
  serve(path: string, res: ServerResponse, context: { pushAuth: boolean }): Promise<void>;
}

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

/**
 * The gRPC status grpc-gateway would have answered with for an HTTP status
 * (gpush's HTTP API is grpc-gateway in front of its gRPC service, and its
 * error bodies are `{"code":<grpc status>,"message","details":[]}`).
 */
function grpcStatusOf(httpStatus: number): number {
  switch (httpStatus) {
    case 400: return 3; // INVALID_ARGUMENT
    case 401: return 16; // UNAUTHENTICATED
    case 403: return 7; // PERMISSION_DENIED
    case 404: return 5; // NOT_FOUND
    case 405: return 12; // UNIMPLEMENTED
    case 408: case 504: return 4; // DEADLINE_EXCEEDED
    case 413: case 429: return 8; // RESOURCE_EXHAUSTED
    case 501: return 12; // UNIMPLEMENTED
    case 503: return 14; // UNAVAILABLE
    default: return httpStatus >= 500 ? 13 : 2; // INTERNAL : UNKNOWN
  }
}

/**
 * `{"error":{"code","message"}}`, plus gpush's grpc-gateway fields (`code` as
 * the numeric gRPC status, `message`, `details`), so a gpush backend that
 * reads those keeps working (PROTOCOL.md, Differences from gpush).
 */
export function sendError(res: ServerResponse, error: ApiError, extraHeaders: Record<string, string> = {}): void {
  // Once a request body is refused unread (too large, too slow), the connection cannot be reused.
  const unread = error.status === 413 || error.status === 408;
  const headers: Record<string, string> = unread ? { Connection: 'close', ...extraHeaders } : extraHeaders;
  sendJson(res, error.status, errorBody(error), headers);
}

function errorBody(error: ApiError): object {
  return {
    error: { code: error.code, message: error.message },
    code: grpcStatusOf(error.status),
    message: error.message,
    details: [],
  };
}

/**
 * The whole HTTP/1.1 response for `error`, with `Connection: close`, for a socket
 * that has no ServerResponse (Node's `clientError`: the request could not be parsed).
 */
export function errorResponse(error: ApiError): string {
  const text = JSON.stringify(errorBody(error));
  return (
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? 'Error'}\r\nContent-Type: application/json; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`
  );
}
