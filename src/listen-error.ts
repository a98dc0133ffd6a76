/**
 * A listener that could not bind, said so that the reader knows what to
 * change: `port 9992 is in use: the WebSocket listener cannot listen on
 * 0.0.0.0:9992; move it with --ws-port / HERALD_WS_PORT`. The raw errors
 * name neither the listener nor, for the raw TCP handle and gRPC, the port.
 */
import { OPTION_DEFINITIONS, type ConfigKey } from './config/option-definitions.js';

/** The three listeners, named like their options (`wsHost`/`wsPort`, …). */
export type ListenerName = 'ws' | 'api' | 'grpc';

const LISTENERS: Readonly<Record<ListenerName, { label: string; host: ConfigKey; port: ConfigKey }>> = {
  ws: { label: 'the WebSocket listener', host: 'wsHost', port: 'wsPort' },
  api: { label: 'the HTTP push API', host: 'apiHost', port: 'apiPort' },
  grpc: { label: 'the gRPC push API', host: 'grpcHost', port: 'grpcPort' },
};

/** System error codes a bind can fail with; gRPC reports them only inside its message. */
const CODE = /\b(EADDRINUSE|EACCES|EADDRNOTAVAIL|EAFNOSUPPORT|ENOTFOUND|EAI_AGAIN|EINVAL)\b/;

export class ListenError extends Error {
  override readonly name = 'ListenError';
  /** `EADDRINUSE`, `EACCES`, … when known. */
  readonly code: string | undefined;

  constructor(
    readonly listener: ListenerName,
    readonly host: string,
    readonly port: number,
    cause: unknown,
  ) {
    const code = errorCode(cause);
    const where = `${LISTENERS[listener].label} cannot listen on ${hostPort(host, port)}`;
    super(`${problem(code, host, port, cause)}: ${where}; ${hint(listener, code)}`, { cause });
    this.code = code;
  }
}

/** Run `listen`, turning its failure into a {@link ListenError}. */
export async function listening<T>(listener: ListenerName, host: string, port: number, listen: () => T | Promise<T>): Promise<T> {
  try {
    return await listen();
  } catch (error) {
    throw error instanceof ListenError ? error : new ListenError(listener, host, port, error);
  }
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^E[A-Z_]+$/.test(code)) return code;
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? CODE.exec(message)?.[1] : undefined;
}

function problem(code: string | undefined, host: string, port: number, cause: unknown): string {
  switch (code) {
    case 'EADDRINUSE':
      return `port ${port} is in use`;
    case 'EACCES':
      return `no permission to use port ${port} (ports below 1024 need privileges)`;
    case 'EADDRNOTAVAIL':
    case 'EAFNOSUPPORT':
      return `${host} is not an address of this machine`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot resolve the host name ${host}`;
    default:
      return (cause as Error | undefined)?.message ?? String(cause);
  }
}

function hint(listener: ListenerName, code: string | undefined): string {
  const { host, port } = LISTENERS[listener];
  if (code === 'EADDRINUSE' || code === 'EACCES') return `move it with ${names(port)}`;
  if (code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return `change ${names(host)}`;
  }
  return `see ${names(host)} and ${names(port)}`;
}

/** `--ws-port / HERALD_WS_PORT`. */
function names(key: ConfigKey): string {
  const definition = OPTION_DEFINITIONS.find((d) => d.key === key);
  return definition === undefined ? key : `${definition.flag} / ${definition.env}`;
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
