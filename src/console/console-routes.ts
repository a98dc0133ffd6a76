import { readdir, readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { ApiError, sendError, type PageRoutes } from '../api/http-errors.js';
import { CONSOLE_CSS, consoleHtml, type ConsoleWsAddress } from './page.js';

export type { ConsoleWsAddress } from './page.js';

/**
 * `GET /console` and its assets. Every URL is looked up in an allow-list of
 * exact paths, so nothing outside it can be read (no path is ever joined):
 *
 * - `/console`, `/console/` → the page
 * - `/console/console.css` → its style sheet
 * - `/console/app.js` → the page's script (compiled from app.ts), and the
 *   modules it imports: `dom.js`, `stats-view.js`, `sparkline.js`, `push-form.js`, `presence-view.js`
 * - `/console/sdk/<file>.js` → the client SDK's compiled modules (`dist/src/client/*.js`)
 * - `/console/codes.js` → `dist/src/codes.js`, which the SDK imports as `../codes.js`
 *
 * Scripts are the compiled ES modules as they are: no bundler.
 */

/** dist/src/ (this file is dist/src/console/console-routes.js). */
const DIST_SRC = new URL('../', import.meta.url);

const HEADERS = {
  'Cache-Control': 'no-cache',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
} as const;

/** The page runs only its own scripts and styles; it talks to this server and to any WebSocket URL. */
const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' ws: wss:; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const JS = 'text/javascript; charset=utf-8';

/** Files served from dist/src/, by URL path; filled on first use. */
let scripts: Promise<Map<string, URL>> | undefined;
/** File contents already read, by URL path. */
const cache = new Map<string, Buffer>();

async function listScripts(): Promise<Map<string, URL>> {
  const files = new Map<string, URL>([
    ['/console/app.js', new URL('console/app.js', DIST_SRC)],
    ['/console/dom.js', new URL('console/dom.js', DIST_SRC)],
    ['/console/stats-view.js', new URL('console/stats-view.js', DIST_SRC)],
    ['/console/sparkline.js', new URL('console/sparkline.js', DIST_SRC)],
    ['/console/push-form.js', new URL('console/push-form.js', DIST_SRC)],
    ['/console/presence-view.js', new URL('console/presence-view.js', DIST_SRC)],
    ['/console/codes.js', new URL('codes.js', DIST_SRC)],
  ]);
  const sdk = new URL('client/', DIST_SRC);
  let names: string[] = [];
  try {
    names = await readdir(sdk);
  } catch {
    // No SDK built: only its URLs answer 404.
  }
  for (const name of names) {
    if (/^[A-Za-z0-9_-]+\.js$/.test(name)) files.set(`/console/sdk/${name}`, new URL(name, sdk));
  }
  return files;
}

/** Addresses that bind every interface: the page then connects to the host it was loaded from. */
const WILDCARD_HOSTS: ReadonlySet<string> = new Set(['0.0.0.0', '::', '']);

/** The console's view of a WebSocket listener on `host` (undefined: unknown) and `port`. */
export function consoleWsAddress(
  host: string | undefined,
  port: number,
  options: { wsPath: string; tls?: unknown },
): ConsoleWsAddress {
  const address: ConsoleWsAddress = { port, path: options.wsPath, secure: options.tls !== undefined };
  if (host !== undefined && !WILDCARD_HOSTS.has(host)) address.host = host;
  return address;
}

/** Whether `path` (the URL path, without the query) is one of the console's routes. */
export function isConsolePath(path: string): boolean {
  return path === '/console' || path.startsWith('/console/');
}

/** The console as pages of the push API listener; `ws()` says where its page connects, once known. */
export function consolePages(ws: () => ConsoleWsAddress | undefined): PageRoutes {
  return {
    matches: isConsolePath,
    serve: (path, res, { pushAuth }) => serveConsole(path, res, { pushAuth, ws: ws() }),
  };
}

/** Answer a GET/HEAD for a console path: the page, an asset, or 404. */
export async function serveConsole(
  path: string,
  res: ServerResponse,
  options: { pushAuth: boolean; ws?: ConsoleWsAddress | undefined },
): Promise<void> {
  if (path === '/console' || path === '/console/') {
    return send(res, 'text/html; charset=utf-8', consoleHtml(options.pushAuth, options.ws), { 'Content-Security-Policy': PAGE_CSP });
  }
  if (path === '/console/console.css') return send(res, 'text/css; charset=utf-8', CONSOLE_CSS);
  scripts ??= listScripts();
  const file = (await scripts).get(path);
  if (file !== undefined) {
    let body = cache.get(path);
    if (body === undefined) {
      try {
        body = await readFile(file);
      } catch {
        return sendError(res, new ApiError(404, 'NOT_FOUND', `no route ${path}`));
      }
      cache.set(path, body);
    }
    return send(res, JS, body);
  }
  return sendError(res, new ApiError(404, 'NOT_FOUND', `no route ${path}`));
}

function send(res: ServerResponse, type: string, body: string | Buffer, extra: Record<string, string> = {}): void {
  res.writeHead(200, { ...HEADERS, 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), ...extra });
  res.end(body);
}
