/**
 * A pino JSON line as one line a person reads at a terminal:
 *
 *     14:03:07.412 INFO  herald started ws=ws://0.0.0.0:9992/ws engine=memory
 *     14:03:09.020 DEBUG connection closed remote=127.0.0.1 code=4000 reason="heartbeat timeout"
 *
 * Time (local, to the millisecond), level, message, then the record's other
 * fields as key=value (strings quoted only when they hold spaces, quotes or
 * `=`; objects as JSON). An error's stack follows on indented lines. The
 * `service` field every record carries is left out.
 */

const LEVELS: Readonly<Record<number, string>> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
/** ANSI colours by level: grey, blue, green, yellow, red, magenta. */
const COLOURS: Readonly<Record<number, string>> = { 10: '90', 20: '34', 30: '32', 40: '33', 50: '31', 60: '35' };
const OMITTED = new Set(['level', 'time', 'msg', 'service', 'pid', 'hostname']);

export interface PrettyOptions {
  /** Colour the level with ANSI escapes. */
  colors?: boolean;
}

/** Format one JSON log line (with or without its newline); a line that is not a JSON object is returned as it is. */
export function formatPretty(line: string, options: PrettyOptions = {}): string {
  let record: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(line);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return ensureNewline(line);
    record = parsed as Record<string, unknown>;
  } catch {
    return ensureNewline(line);
  }
  const level = typeof record.level === 'number' ? record.level : 30;
  let name = (LEVELS[level] ?? `L${level}`).padEnd(5);
  if (options.colors === true) name = `\u001b[${COLOURS[level] ?? '0'}m${name}\u001b[0m`;
  let out = `${clock(record.time)} ${name}`;
  if (typeof record.msg === 'string' && record.msg !== '') out += ` ${oneLine(record.msg)}`;
  let stack = '';
  for (const [key, value] of Object.entries(record)) {
    if (OMITTED.has(key) || value === undefined) continue;
    if (isError(value)) {
      out += ` ${key}=${text(value.message ?? value.type ?? 'error')}`;
      if (typeof value.stack === 'string') stack += `\n${indent(value.stack)}`;
      continue;
    }
    out += ` ${key}=${text(value)}`;
  }
  return `${out}${stack}\n`;
}

function clock(time: unknown): string {
  const date = typeof time === 'number' ? new Date(time) : new Date();
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}.${String(date.getMilliseconds()).padStart(3, '0')}`;
}

/** pino's error serializer output: `{ type, message, stack, … }`. */
function isError(value: unknown): value is { type?: string; message?: string; stack?: unknown } {
  return value !== null && typeof value === 'object' && typeof (value as { stack?: unknown }).stack === 'string';
}

/** A field value; control characters are escaped, never written raw (a client-chosen reason could hold terminal escapes). */
function text(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=\\\p{Cc}]+$/u.test(value) ? value : escapeControls(JSON.stringify(value));
  if (value !== null && typeof value === 'object') return escapeControls(JSON.stringify(value));
  return String(value);
}

function oneLine(message: string): string {
  return escapeControls(message.replace(/\r?\n/g, ' '));
}

/** JSON.stringify leaves DEL and the C1 controls (U+007F–U+009F) as they are. */
function escapeControls(s: string): string {
  return s.replace(/\p{Cc}/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function indent(stack: string): string {
  return stack
    .split('\n')
    .map((l) => `    ${escapeControls(l)}`)
    .join('\n');
}

function ensureNewline(line: string): string {
  return line.endsWith('\n') ? line : `${line}\n`;
}
