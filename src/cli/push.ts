/**
 * `herald push`: one push through `POST /v1/pushData`, or a JSON-lines file of
 * pushes through `POST /v1/push` (see PROTOCOL.md, "Push API"). Uses
 * node:http(s) rather than fetch so that `--ca` can trust a development
 * certificate and network errors keep their codes.
 */
import { Buffer } from 'node:buffer';
import { fstatSync, readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { formatDuration, parseDuration } from '../config/value-parsers.js';
import {
  CommandFailure,
  EXIT_FAILED,
  EXIT_OK,
  EXIT_USAGE,
  UsageError,
  describeExit,
  describeOptions,
  parseArgs,
  stringOption,
  wantsHelp,
  wrap,
  type CommandIo,
  type OptionSpec,
  type ParsedArgs,
} from './args.js';

export const DEFAULT_API_URL = 'http://127.0.0.1:10068';
const DEFAULT_TIMEOUT_MS = 10_000;
/** The server's default `--max-batch-items`. */
const DEFAULT_BATCH_SIZE = 1000;

const OPTIONS: readonly OptionSpec[] = [
  {
    name: 'topic', type: 'string', placeholder: 'topic',
    description: 'Deliver to the subscribers of this topic; with --uid, only to that user\'s private subscriptions to it.',
  },
  {
    name: 'uid', type: 'string', placeholder: 'uid',
    description: 'Deliver to the connections logged in as this user; with --topic, see above.',
  },
  { name: 'all', type: 'boolean', description: 'Deliver to every connection (neither --topic nor --uid).' },
  { name: 'file', type: 'string', placeholder: 'path', description: 'Read the payload from this file.' },
  {
    name: 'base64', type: 'boolean',
    description: 'The payload given (argument, file or stdin) is already base64 (standard or URL-safe); it is sent '
      + 'as is, without its whitespace.',
  },
  {
    name: 'batch', type: 'string', placeholder: 'file.jsonl',
    description: 'Send many pushes through POST /v1/push: one JSON object per line, {"uid"?,"topic"?,"data":"text"} '
      + 'or {"uid"?,"topic"?,"dataBase64":"..."}; blank lines are skipped; - reads stdin. Prints how many were '
      + 'accepted and failed, each failure on stderr with its line. Not combined with a target or a payload.',
  },
  {
    name: 'batch-size', type: 'string', placeholder: 'n',
    description: `Items per request with --batch; default ${DEFAULT_BATCH_SIZE}, the server's default --max-batch-items.`,
  },
  {
    name: 'url', type: 'string', placeholder: 'url', env: 'HERALD_API_URL',
    description: `Base URL of the HTTP push API (http or https); default ${DEFAULT_API_URL}.`,
  },
  {
    name: 'token', type: 'string', placeholder: 'token', env: 'HERALD_PUSH_TOKEN',
    description: 'Bearer token, when the server has --push-tokens. Prefer the environment variable: flags show up '
      + 'in process lists.',
  },
  {
    name: 'ca', type: 'string', placeholder: 'file',
    description: 'PEM certificate(s) to trust for an https URL, e.g. a self-signed development certificate.',
  },
  {
    name: 'timeout', type: 'string', placeholder: 'duration',
    description: `Give up on a request that has not completed after this long (500ms, 5s, 1m); default ${formatDuration(DEFAULT_TIMEOUT_MS)}.`,
  },
  {
    name: 'json', type: 'boolean',
    description: 'Print the result as JSON on stdout: {"ok":true}, or {"ok":false,"status":N,"error":{"code","message"}} '
      + 'when refused; with --batch {"accepted","failed","results"}, each result with its "line".',
  },
];

export function help(): string {
  return [
    'Usage: herald push <target> [options] [<data> | -]',
    '       herald push --batch <file.jsonl> [options]',
    '',
    ...wrap('Send a push to a running Herald through its HTTP push API (POST /v1/pushData). The <target> is '
      + '--topic <topic>, --uid <uid>, both, or --all (every connection). The payload is the <data> argument (its UTF-8 bytes), the contents of '
      + '--file, or stdin (with - or when stdin is a pipe or a file), sent byte for byte: echo adds a newline, '
      + 'printf does not. Clients receive a text frame when the payload is valid UTF-8, else a binary frame.', ''),
    '',
    'Options:',
    ...describeOptions(OPTIONS),
    '  -h, --help',
    '      Show this help.',
    '',
    'Examples:',
    '  herald push --topic news \'{"headline":"hello"}\'',
    '  herald push --uid alice --topic orders --file order.json',
    '  printf \'maintenance at 22:00\' | herald push --all',
    '  HERALD_PUSH_TOKEN=... herald push --url https://h.example --all --base64 aGk=',
    '  herald push --batch pushes.jsonl',
    '',
    'Exit status:',
    ...describeExit(EXIT_OK, 'the server accepted the push (every item, for a batch)'),
    ...describeExit(EXIT_FAILED, 'the server refused it (its error code and message are printed on stderr), a '
      + 'batch item failed, or the server could not be reached'),
    ...describeExit(EXIT_USAGE, 'usage error: no target or payload, unknown option, missing or bad value, '
      + 'unreadable file'),
    '',
  ].join('\n');
}

/** Where and how requests go. */
interface ApiClient {
  readonly url: URL;
  readonly token: string | undefined;
  readonly timeoutMs: number;
  readonly ca: Buffer | undefined;
}

/** A completed HTTP exchange. */
interface HttpAnswer {
  readonly status: number;
  readonly body: string;
}

/** `{"error":{"code","message"}}` of a refusal, when the body has that shape. */
interface ApiError {
  readonly code: string;
  readonly message: string;
}

export async function run(argv: readonly string[], io: CommandIo): Promise<number> {
  if (wantsHelp(argv)) {
    io.stdout.write(help());
    return EXIT_OK;
  }
  const args = parseArgs(argv, OPTIONS);
  const client = apiClient(args, io.env);
  const json = args.options.has('json');
  if (args.options.has('batch')) return runBatch(args, client, io, json);
  if (args.options.has('batch-size')) throw new UsageError('--batch-size goes with --batch');

  const target = pushTarget(args);
  const data = await payload(args);
  const body = JSON.stringify({ ...target, data });
  const answer = await post(client, '/v1/pushData', body);
  if (answer.status < 200 || answer.status > 299) {
    const error = apiError(answer);
    if (json) io.stdout.write(`${JSON.stringify({ ok: false, status: answer.status, ...(error && { error }) })}\n`);
    throw new CommandFailure(describeRefusal(answer, error, client));
  }
  io.stdout.write(json ? `${JSON.stringify({ ok: true })}\n` : 'ok\n');
  return EXIT_OK;
}

function apiClient(args: ParsedArgs, env: NodeJS.ProcessEnv): ApiClient {
  const text = stringOption(args, OPTIONS, 'url', env) ?? DEFAULT_API_URL;
  const origin = args.options.has('url') ? '--url' : 'HERALD_API_URL';
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`${origin}: "${text}" is not a URL (e.g. ${DEFAULT_API_URL})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`${origin}: "${text}" must be an http: or https: URL`);
  }
  const token = stringOption(args, OPTIONS, 'token', env);
  if (token !== undefined && !/^[\x21-\x7e]+$/.test(token)) {
    throw new UsageError(`${args.options.has('token') ? '--token' : 'HERALD_PUSH_TOKEN'}: a bearer token is printable ASCII without spaces`);
  }
  let timeoutMs = DEFAULT_TIMEOUT_MS;
  const timeout = args.options.get('timeout');
  if (typeof timeout === 'string') {
    const parsed = parseDuration(timeout);
    if (parsed === undefined || parsed < 1) throw new UsageError(`--timeout: "${timeout}" is not a positive duration (e.g. 500ms, 5s, 1m)`);
    timeoutMs = parsed;
  }
  const caFile = args.options.get('ca');
  const ca = typeof caFile === 'string' ? readInput('--ca', caFile) : undefined;
  return { url, token, timeoutMs, ca };
}

/** The routing fields of a single push: `{topic?, uid?}`, empty for `--all`. */
function pushTarget(args: ParsedArgs): { topic?: string; uid?: string } {
  const topic = args.options.get('topic') as string | undefined;
  const uid = args.options.get('uid') as string | undefined;
  if (args.options.has('all')) {
    if (topic !== undefined || uid !== undefined) throw new UsageError('--all cannot be combined with --topic or --uid');
    return {};
  }
  if (topic === undefined && uid === undefined) {
    throw new UsageError('no target: give --topic <topic>, --uid <uid>, both, or --all for every connection');
  }
  return { ...(uid !== undefined && { uid }), ...(topic !== undefined && { topic }) };
}

/** The base64 `data` of a single push, from the argument, `--file` or stdin. */
async function payload(args: ParsedArgs): Promise<string> {
  const file = args.options.get('file') as string | undefined;
  const [argument, ...extra] = args.positionals;
  if (extra.length > 0) {
    throw new UsageError(`unexpected argument "${extra[0]}": give one payload (quote it, or use --file or stdin)`);
  }
  if (argument !== undefined && file !== undefined) {
    throw new UsageError(`give the payload once: as an argument ("${argument}") or with --file, not both`);
  }
  let bytes: Buffer;
  if (file !== undefined) bytes = readInput('--file', file);
  else if (argument === '-') bytes = await readStdin();
  else if (argument !== undefined) bytes = Buffer.from(argument, 'utf8');
  else if (stdinIsPiped()) bytes = await readStdin();
  else throw new UsageError('no payload: give it as an argument, with --file <path>, or on stdin');
  return args.options.has('base64') ? bytes.toString('latin1').replace(/\s+/g, '') : bytes.toString('base64');
}

async function runBatch(args: ParsedArgs, client: ApiClient, io: CommandIo, json: boolean): Promise<number> {
  const conflicting = ['topic', 'uid', 'all', 'file', 'base64'].filter((name) => args.options.has(name));
  if (conflicting.length > 0) {
    throw new UsageError(`--batch cannot be combined with --${conflicting[0]}: each line of the file carries its own target and data`);
  }
  if (args.positionals.length > 0) throw new UsageError(`unexpected argument "${args.positionals[0]}": with --batch the pushes come from the file`);
  let batchSize = DEFAULT_BATCH_SIZE;
  const size = args.options.get('batch-size');
  if (typeof size === 'string') {
    batchSize = /^\d+$/.test(size) ? Number(size) : NaN;
    if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new UsageError(`--batch-size: "${size}" is not a positive integer`);
  }
  const file = args.options.get('batch') as string;
  const text = (file === '-' ? await readStdin() : readInput('--batch', file)).toString('utf8');
  const name = file === '-' ? 'stdin' : file;

  const items: { line: number; item: unknown }[] = [];
  text.split('\n').forEach((raw, index) => {
    if (raw.trim() === '') return;
    let item: unknown;
    try {
      item = JSON.parse(raw);
    } catch (error) {
      throw new UsageError(`${name}:${index + 1}: not JSON (${(error as Error).message})`);
    }
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      throw new UsageError(`${name}:${index + 1}: not a JSON object: one push per line, {"topic"?,"uid"?,"data"|"dataBase64"}`);
    }
    items.push({ line: index + 1, item });
  });
  if (items.length === 0) throw new UsageError(`${name}: no pushes in the file (one JSON object per line)`);

  const results: { line: number; ok: boolean; error?: ApiError }[] = [];
  const totals = () => ({ accepted: results.filter((r) => r.ok).length, failed: results.filter((r) => !r.ok).length });
  for (let start = 0; start < items.length; start += batchSize) {
    const chunk = items.slice(start, start + batchSize);
    const answer = await post(client, '/v1/push', JSON.stringify(chunk.map((entry) => entry.item)));
    if (answer.status < 200 || answer.status > 299) {
      const error = apiError(answer);
      const done = totals();
      if (json) io.stdout.write(`${JSON.stringify({ ...done, results, status: answer.status, ...(error && { error }) })}\n`);
      const before = start === 0 ? '' : `; the ${start} items before it were sent: ${done.accepted} accepted, ${done.failed} failed`;
      throw new CommandFailure(`${describeRefusal(answer, error, client)} (batch stopped at ${name}:${chunk[0].line}${before})`);
    }
    const parsed = batchAnswer(answer, chunk.length);
    if (parsed === undefined) {
      throw new CommandFailure(`unexpected answer from ${endpoint(client, '/v1/push')}: ${snippet(answer.body)}`);
    }
    parsed.forEach((result, i) => results.push({ line: chunk[i].line, ...result }));
  }
  const { accepted, failed } = totals();
  if (json) io.stdout.write(`${JSON.stringify({ accepted, failed, results })}\n`);
  else {
    for (const r of results) {
      if (!r.ok) io.stderr.write(`${name}:${r.line}: ${r.error?.code ?? 'FAILED'}: ${r.error?.message ?? 'no detail'}\n`);
    }
    io.stdout.write(`accepted ${accepted}, failed ${failed}\n`);
  }
  return failed > 0 ? EXIT_FAILED : EXIT_OK;
}

/** The per-item results of a 2xx batch answer, or undefined when it is not the documented shape. */
function batchAnswer(answer: HttpAnswer, count: number): { ok: boolean; error?: ApiError }[] | undefined {
  let body: unknown;
  try {
    body = JSON.parse(answer.body);
  } catch {
    return undefined;
  }
  const results = (body as { results?: unknown } | null)?.results;
  if (!Array.isArray(results) || results.length !== count) return undefined;
  return results.map((r: { ok?: unknown; error?: unknown }) => {
    if (r?.ok === true) return { ok: true };
    const error = r?.error as Partial<ApiError> | undefined;
    return {
      ok: false,
      error: { code: String(error?.code ?? 'FAILED'), message: String(error?.message ?? 'no detail') },
    };
  });
}

/** Reads a file named on the command line; a missing or unreadable one is a usage error. */
function readInput(option: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file'
      : code === 'EISDIR' ? 'is a directory'
      : code === 'EACCES' ? 'permission denied'
      : (error as Error).message;
    throw new UsageError(`${option} ${path}: ${reason}`);
  }
}

/** True when stdin is a pipe, a socket or a redirected file, not a terminal or /dev/null. */
function stdinIsPiped(): boolean {
  try {
    const stat = fstatSync(0);
    return stat.isFIFO() || stat.isFile() || stat.isSocket();
  } catch {
    return false;
  }
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
  return Buffer.concat(chunks);
}

/** `<base URL path>/v1/...`: a base URL with a path prefix (behind a proxy) keeps it. */
function endpoint(client: ApiClient, path: string): URL {
  const url = new URL(client.url.href);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}${path}`;
  url.search = '';
  url.hash = '';
  return url;
}

/** POST `body` (JSON) to `path`; rejects with a {@link CommandFailure} naming a network problem. */
function post(client: ApiClient, path: string, body: string): Promise<HttpAnswer> {
  const url = endpoint(client, path);
  const headers: Record<string, string | number> = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    connection: 'close',
  };
  if (client.token !== undefined) headers.authorization = `Bearer ${client.token}`;
  return new Promise<HttpAnswer>((resolve, reject) => {
    const onResponse = (res: IncomingMessage): void => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', fail);
    };
    const options = { method: 'POST', headers, agent: false as const };
    const req = url.protocol === 'https:'
      ? httpsRequest(url, { ...options, ...(client.ca !== undefined && { ca: client.ca }) }, onResponse)
      : httpRequest(url, options, onResponse);
    const timer = setTimeout(() => {
      req.destroy(Object.assign(new Error('timeout'), { code: 'HERALD_TIMEOUT' }));
    }, client.timeoutMs);
    function fail(error: Error): void {
      clearTimeout(timer);
      reject(new CommandFailure(describeNetworkError(error, url, client)));
    }
    req.on('error', fail);
    req.end(body);
  });
}

function describeNetworkError(error: Error, url: URL, client: ApiClient): string {
  let code = (error as NodeJS.ErrnoException).code;
  // With several addresses for a host (localhost: ::1 and 127.0.0.1) Node reports an AggregateError.
  if (code === undefined && error instanceof AggregateError) code = (error.errors[0] as NodeJS.ErrnoException)?.code;
  const where = url.origin;
  switch (code) {
    case 'ECONNREFUSED':
      return `cannot reach Herald at ${where}: connection refused. Is it running, and is this its push API `
        + '(--url, HERALD_API_URL)?';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot reach Herald at ${where}: cannot resolve host name ${url.hostname}`;
    case 'HERALD_TIMEOUT':
      return `no complete answer from ${where} within ${formatDuration(client.timeoutMs)} (--timeout)`;
    case 'ECONNRESET':
      return `the connection to ${where} was reset before an answer arrived`;
  }
  if (code !== undefined && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL/.test(code)) {
    return `TLS with ${where} failed: ${error.message} (trust its certificate with --ca <file>)`;
  }
  return `request to ${url.href} failed: ${error.message}${code === undefined ? '' : ` (${code})`}`;
}

function apiError(answer: HttpAnswer): ApiError | undefined {
  try {
    const error = (JSON.parse(answer.body) as { error?: Partial<ApiError> } | null)?.error;
    if (typeof error?.code === 'string' && typeof error.message === 'string') return { code: error.code, message: error.message };
  } catch {
    // not JSON: described from the status and body
  }
  return undefined;
}

/** `refused: 401 UNAUTHENTICATED: missing or invalid bearer token (…)`. */
function describeRefusal(answer: HttpAnswer, error: ApiError | undefined, client: ApiClient): string {
  if (error === undefined) {
    return `HTTP ${answer.status} from ${client.url.origin}, not a Herald error (is --url the push API?): ${snippet(answer.body)}`;
  }
  let hint = '';
  if (answer.status === 401) {
    hint = client.token === undefined
      ? ' (the server requires a token: --token or HERALD_PUSH_TOKEN)'
      : ' (the token given was not accepted)';
  }
  return `refused: ${answer.status} ${error.code}: ${error.message}${hint}`;
}

function snippet(body: string): string {
  const text = body.trim().replace(/\s+/g, ' ');
  if (text === '') return '(empty body)';
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}
