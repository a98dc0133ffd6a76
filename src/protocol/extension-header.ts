/**
 * The `Sec-WebSocket-Extensions` header (RFC 6455 §9.1): parsing a client's
 * list of offers and formatting the server's answer. Extension-agnostic —
 * what an offer's parameters mean is the extension's business
 * (permessage-deflate.ts, RFC 7692 §5, §7). Pure: no I/O.
 */

/** One extension parameter: `true` when it has no value, else its (unquoted) value. */
export type ExtensionParam = readonly [name: string, value: string | true];

/** One extension of a `Sec-WebSocket-Extensions` header: its lower-cased name and parameters in order. */
export interface ExtensionOffer {
  name: string;
  params: ExtensionParam[];
}

// RFC 9110 §5.6.2 tchar.
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") TCHAR[c.charCodeAt(0)] = 1;

/**
 * Parse `extension-list = 1#extension`, `extension = token *( ";" param )`,
 * `param = token [ "=" (token | quoted-string) ]`, with optional whitespace
 * around separators and empty list elements ignored (RFC 9110 §5.6.1).
 * Undefined on a syntax error: a list that cannot be tokenised cannot be
 * split into offers safely, so no offer is accepted from it.
 */
export function parseExtensionHeader(header: string): ExtensionOffer[] | undefined {
  const out: ExtensionOffer[] = [];
  let i = 0;
  for (;;) {
    i = skipOws(header, i);
    if (i === header.length) return out;
    if (header[i] === ',') {
      i++;
      continue;
    }
    const nameEnd = scanToken(header, i);
    if (nameEnd === i) return undefined;
    const extension: ExtensionOffer = { name: header.slice(i, nameEnd).toLowerCase(), params: [] };
    out.push(extension);
    i = parseParams(header, skipOws(header, nameEnd), extension.params);
    if (i < 0) return undefined;
    if (i < header.length && header[i++] !== ',') return undefined;
  }
}

/** Parse `*( OWS ";" OWS param )` from `i` into `params`; the index after them, or -1. */
function parseParams(header: string, i: number, params: ExtensionParam[]): number {
  while (i < header.length && header[i] === ';') {
    i = skipOws(header, i + 1);
    const nameEnd = scanToken(header, i);
    if (nameEnd === i) return -1;
    const name = header.slice(i, nameEnd).toLowerCase();
    i = skipOws(header, nameEnd);
    if (header[i] !== '=') {
      params.push([name, true]);
      continue;
    }
    i = skipOws(header, i + 1);
    let value: string;
    if (header[i] === '"') {
      const quoted = scanQuoted(header, i);
      if (quoted === undefined) return -1;
      value = quoted.value;
      i = quoted.end;
    } else {
      const valueEnd = scanToken(header, i);
      if (valueEnd === i) return -1;
      value = header.slice(i, valueEnd);
      i = valueEnd;
    }
    params.push([name, value]);
    i = skipOws(header, i);
  }
  return i;
}

function skipOws(s: string, i: number): number {
  while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i++;
  return i;
}

function scanToken(s: string, i: number): number {
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c >= 128 || TCHAR[c] === 0) break;
    i++;
  }
  return i;
}

/**
 * RFC 9110 §5.6.4 quoted-string starting at `s[start] === '"'`: the unescaped
 * value and the index after the closing quote, or undefined if unterminated
 * or holding a control character.
 */
function scanQuoted(s: string, start: number): { value: string; end: number } | undefined {
  let value = '';
  for (let i = start + 1; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c === 0x22) return { value, end: i + 1 };
    if (c === 0x5c) {
      if (++i === s.length) return undefined;
      c = s.charCodeAt(i);
    }
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return undefined;
    value += s[i];
  }
  return undefined;
}

/**
 * Format one extension for a `Sec-WebSocket-Extensions` response:
 * `name; param; param=value`, quoting a value that is not a token (§9.1
 * allows a quoted-string; its content must still be a token, which callers
 * keep to).
 */
export function formatExtension(extension: { readonly name: string; readonly params: readonly ExtensionParam[] }): string {
  let out = extension.name;
  for (const [name, value] of extension.params) {
    out += value === true ? `; ${name}` : `; ${name}=${isToken(value) ? value : quote(value)}`;
  }
  return out;
}

function isToken(s: string): boolean {
  return s.length > 0 && scanToken(s, 0) === s.length;
}

function quote(s: string): string {
  return `"${s.replace(/["\\]/g, '\\$&')}"`;
}
