import { stdSerializers } from 'pino';

/**
 * pino's `err` serializer, with each cause's message said once. pino appends
 * every cause's message to the error's (`messageWithCauses`), but our errors
 * already name their cause in their own message when they wrap one
 * (`redis cluster not ready: no connection …`, `{ cause }`), so a logged
 * error read `A: B: B`. A cause whose message is not already in the text is
 * still appended; the stack keeps the full `caused by:` chain.
 */
export function serializeError(error: unknown): unknown {
  const out = stdSerializers.err(error as Error) as unknown;
  if (error instanceof Error && typeof out === 'object' && out !== null) {
    (out as { message: string }).message = messageWithNewCauses(error);
  }
  return out;
}

/** The serializers main.ts gives pino. */
export const logSerializers = { err: serializeError };

function messageWithNewCauses(error: Error): string {
  let message = error.message;
  const seen = new Set<unknown>([error]);
  for (let cause = error.cause; cause instanceof Error && !seen.has(cause); cause = cause.cause) {
    seen.add(cause);
    if (cause.message !== '' && !message.includes(cause.message)) message += `: ${cause.message}`;
  }
  return message;
}
