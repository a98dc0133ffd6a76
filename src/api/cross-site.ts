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
import { isLoopbackHost } from '../util/loopback.js';

/** Why a browser's request may not use an API open without tokens, or undefined when it may. */
export function browserRefusal(req: IncomingMessage): string | undefined {
  if (isCrossSiteBrowserWrite(req)) return 'a page on another origin may not use this API without a push token';
  if (isReboundBrowserRequest(req)) return 'a browser reached this loopback API under a name that is not a loopback name (DNS rebinding)';
  return undefined;
}

/** Methods that change nothing: a cross-origin page cannot read their answers (no CORS headers). */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function isCrossSiteBrowserWrite(req: IncomingMessage): boolean {
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

/**
 * Is this a browser's request that reached a loopback address under a name that is not a loopback
 * name — DNS rebinding? A page on `attacker.example` whose name is made to resolve to 127.0.0.1
 * sends to the loopback API as its own origin: `Origin` and `Host` both name `attacker.example`
 * and `Sec-Fetch-Site` says `same-origin`, so {@link isCrossSiteBrowserWrite} passes it, and the
 * page may even read the answers. A browser on this machine reaches a loopback listener only as
 * `localhost`, `*.localhost` (RFC 6761 §6.3), 127.0.0.0/8 or `[::1]`. Any method: rebinding reads
 * too. Requests without `Origin` and `Sec-Fetch-Site` (backends) are not judged.
 */
function isReboundBrowserRequest(req: IncomingMessage): boolean {
  if (req.headers.origin === undefined && req.headers['sec-fetch-site'] === undefined) return false;
  if (!isLoopbackAddress(req.socket.localAddress)) return false;
  const host = req.headers.host;
  return host === undefined || !isLoopbackName(hostName(host));
}

/** The host of a `Host` header value (RFC 9110 §7.2: `uri-host [ ":" port ]`), lower-cased, without a final dot. */
function hostName(host: string): string {
  let name = host.toLowerCase();
  if (name.startsWith('[')) {
    const end = name.indexOf(']');
    name = end === -1 ? name : name.slice(0, end + 1);
  } else {
    const colon = name.lastIndexOf(':');
    if (colon !== -1) name = name.slice(0, colon);
  }
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

function isLoopbackName(name: string): boolean {
  if (name.endsWith('.localhost')) return true;
  return isLoopbackHost(name.startsWith('[') ? name.slice(1, -1) : name);
}

/** A socket's local address on the loopback interface: 127.0.0.0/8, `::1`, or 127/8 mapped into IPv6. */
function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  return isLoopbackHost(address.startsWith('::ffff:') ? address.slice(7) : address);
}
