/**
 * `herald token`: mint an HS256 JWT that `herald serve --jwt-secret` accepts
 * (sub = uid, iat, exp; optional iss/aud), for development and testing. A
 * production backend signs its own tokens.
 */
import { Buffer } from 'node:buffer';
import { SignJWT } from 'jose';
import { formatDuration, parseDuration } from '../config/value-parsers.js';
import {
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
} from './args.js';

/** RFC 7518 §3.2: an HS256 key must have at least as many bits as the hash output. */
export const MIN_SECRET_BYTES = 32;
const DEFAULT_TTL_MS = 3_600_000;

const OPTIONS: readonly OptionSpec[] = [
  { name: 'uid', type: 'string', placeholder: 'uid', description: 'User the token logs in as (its "sub" claim). Required.' },
  {
    name: 'secret', type: 'string', placeholder: 'secret', env: 'HERALD_JWT_SECRET',
    description: `Shared secret, the server's --jwt-secret; at least ${MIN_SECRET_BYTES} bytes (256 bits). Required. `
      + 'Prefer the environment variable: flags show up in process lists.',
  },
  {
    name: 'ttl', type: 'string', placeholder: 'duration',
    description: `Lifetime: "exp" is now plus this (30s, 15m, 1h, 24h); default ${formatDuration(DEFAULT_TTL_MS)}. `
      + 'When it passes, the server ends the login (reply 30006).',
  },
  { name: 'issuer', type: 'string', placeholder: 'iss', description: '"iss" claim, for a server with --jwt-issuer.' },
  { name: 'audience', type: 'string', placeholder: 'aud', description: '"aud" claim, for a server with --jwt-audience.' },
];

export function help(): string {
  return [
    'Usage: herald token --uid <uid> [--secret <secret>] [--ttl <duration>] [options]',
    '',
    ...wrap('FOR DEVELOPMENT AND TESTING: mint an HS256 login JWT and print it. A client sends it as the data '
      + 'of op 3 (login) to a server started with the same --jwt-secret (HERALD_JWT_SECRET). In production '
      + 'your backend issues tokens; do not hand this secret to tools that do not need it.', ''),
    '',
    'Options:',
    ...describeOptions(OPTIONS),
    '  -h, --help',
    '      Show this help.',
    '',
    'Example:',
    '  export HERALD_JWT_SECRET="$(openssl rand -base64 32)"',
    '  herald token --uid alice --ttl 15m',
    '',
    'Exit status:',
    ...describeExit(EXIT_OK, 'the token was printed'),
    ...describeExit(EXIT_USAGE, 'usage error: missing --uid or secret, secret too short, bad --ttl'),
    '',
  ].join('\n');
}

export async function run(argv: readonly string[], io: CommandIo): Promise<number> {
  if (wantsHelp(argv)) {
    io.stdout.write(help());
    return EXIT_OK;
  }
  const args = parseArgs(argv, OPTIONS);
  if (args.positionals.length > 0) throw new UsageError(`unexpected argument "${args.positionals[0]}" (the uid goes in --uid)`);
  const uid = args.options.get('uid') as string | undefined;
  if (uid === undefined) throw new UsageError('missing --uid <uid>');
  const secret = stringOption(args, OPTIONS, 'secret', io.env);
  if (secret === undefined) throw new UsageError('missing secret: give --secret <secret> or set HERALD_JWT_SECRET');
  const bytes = Buffer.byteLength(secret, 'utf8');
  if (bytes < MIN_SECRET_BYTES) {
    throw new UsageError(`the secret is ${bytes} bytes; HS256 needs at least ${MIN_SECRET_BYTES} (256 bits), `
      + 'e.g. openssl rand -base64 32');
  }
  let ttlMs = DEFAULT_TTL_MS;
  const ttl = args.options.get('ttl');
  if (typeof ttl === 'string') {
    const parsed = parseDuration(ttl);
    if (parsed === undefined || parsed < 1000) throw new UsageError(`--ttl: "${ttl}" is not a duration of at least 1s (e.g. 30s, 15m, 1h)`);
    ttlMs = parsed;
  }
  const now = Math.floor(Date.now() / 1000);
  let jwt = new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(uid)
    .setIssuedAt(now)
    .setExpirationTime(now + Math.ceil(ttlMs / 1000));
  const issuer = args.options.get('issuer');
  if (typeof issuer === 'string') jwt = jwt.setIssuer(issuer);
  const audience = args.options.get('audience');
  if (typeof audience === 'string') jwt = jwt.setAudience(audience);
  io.stdout.write(`${await jwt.sign(new TextEncoder().encode(secret))}\n`);
  return EXIT_OK;
}
