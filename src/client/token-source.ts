import { ReplyCode } from '../codes.js';
import { HeraldError } from './errors.js';

/**
 * `getSubscriptionToken(topic, { private })`: a subscription token (a JWT
 * with `sub`, `channel` or `channel_glob`, `exp`) for a topic whose
 * namespace says `subscribe: "token"`, typically fetched from the app's backend.
 */
export type SubscriptionTokenCallback = (topic: string, info: { private: boolean }) => string | Promise<string>;

/**
 * The 30003 details (CONTRACT: the server's subscribe refusals) after which
 * a fresh token may help: none was sent, or the one sent has expired. The
 * others (invalid, another channel, another user) are final.
 */
const RETRY_DETAILS: ReadonlySet<string> = new Set(['subscription token missing', 'subscription token expired']);

/** Whether a subscribe refusal asks for a (new) subscription token. */
export function isTokenRetry(error: Error): boolean {
  return error instanceof HeraldError && error.code === ReplyCode.AuthFailed && typeof error.detail === 'string' && RETRY_DETAILS.has(error.detail);
}

/**
 * Ask `callback` for the token of `stream`'s topic. Always a promise, and a
 * callback that throws, rejects or returns no non-empty string gives an
 * `Error` naming the topic (its cause the original), never a throw.
 */
export function subscriptionToken(
  callback: SubscriptionTokenCallback,
  stream: { readonly topic: string; readonly isPrivate: boolean },
): Promise<string> {
  const failed = (why: string, cause?: unknown): Error =>
    new Error(`getSubscriptionToken("${stream.topic}") ${why}`, cause === undefined ? undefined : { cause });
  let result: string | Promise<string>;
  try {
    result = callback(stream.topic, { private: stream.isPrivate });
  } catch (error) {
    return Promise.reject(failed('threw', error));
  }
  return Promise.resolve(result).then(
    (token: unknown) => {
      if (typeof token !== 'string' || token === '') throw failed('did not give a non-empty string');
      return token;
    },
    (error: unknown) => {
      throw failed('rejected', error);
    },
  );
}
