/**
 * Is this a browser's request from a page on another origin? Without push
 * tokens the push and server APIs trust whoever can reach them (loopback by
 * default), and a page the user visits could otherwise publish or kick
 * through the user's browser: a cross-origin `POST` with a `text/plain` body
 * needs no CORS preflight, so it reaches the handler even though the page can
 * never read the answer. Browsers mark such requests (Fetch standard):
 * `Sec-Fetch-Site` other than `same-origin`/`none`, and an `Origin` whose
 * host is not the one the request was sent to. Backends (curl, SDKs, gRPC)
 * send neither. With tokens the check is not needed: a page cannot attach
 * the bearer token without a preflight, which the API never grants.
 */
import type { IncomingMessage } from 'node:http';

/** Methods that change nothing: a cross-origin page cannot read their answers (no CORS headers). */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function isCrossSiteBrowserWrite(req: IncomingMessage): boolean {
  if (SAFE_METHODS.has(req.method ?? 'GET')) return false;
  const fetchSite = req.headers['sec-fetch-site'];
  if (fetchSite !== undefined && fetchSite !== 'same-origin' && fetchSite !== 'none') return true;
  const origin = req.headers.origin;
  if (origin === undefined) return false;
  const host = req.headers.host;
  if (host === undefined) return true;
  let originHost: string;
  try {
    originHost = new URL(origin).host;
  } catch {
    return true; // `null` (a sandboxed page, a file) or garbage: not this API's own page
  }
  return originHost.toLowerCase() !== host.toLowerCase();
}
