/**
 * NATS subject names of the NATS engine. A NATS subject is a list of tokens
 * separated by '.', and a token may not contain '.', '*', '>' or whitespace
 * (and may not be empty), while a Herald topic or uid may hold any character.
 * So every uid and topic is encoded as one token: `x` followed by the
 * base64url (RFC 4648 §5, no padding) of its UTF-8 bytes. base64url's
 * alphabet (A–Z a–z 0–9 '-' '_') is safe in a token, and the leading `x`
 * keeps the token non-empty for an empty string.
 *
 * Under the engine's prefix `P` (itself one safe token), a Herald stream (see
 * `streamOf`) has one subject in the JetStream stream, `P.s.…`, and JetStream
 * republishes each stored message to the same name under `P.r.…`, which nodes
 * subscribe to with plain (core NATS) subscriptions:
 * - `P.s.all`                  everyone's stream;
 * - `P.s.t.<topic>`            a public topic;
 * - `P.s.u.<uid>.u`            a user's stream;
 * - `P.s.u.<uid>.p.<topic>`    a user's private topic.
 * A node holding a user subscribes `P.r.u.<uid>.>` (the user's stream and all
 * their private topics: the same routing as the Redis engine's user channel),
 * a topic `P.r.t.<topic>`, and always `P.r.all`.
 */

/** A NATS token of a uid or topic (see above). */
export function encodeToken(value: string): string {
  return `x${Buffer.from(value, 'utf8').toString('base64url')}`;
}

/** The value of a token made by {@link encodeToken}; undefined for anything else. */
export function decodeToken(token: string): string | undefined {
  if (!token.startsWith('x') || !/^[A-Za-z0-9_-]*$/.test(token.slice(1))) return undefined;
  return Buffer.from(token.slice(1), 'base64url').toString('utf8');
}

/** A prefix must be one safe token (it also names the JetStream stream). */
export function validPrefix(prefix: string): boolean {
  return /^[A-Za-z0-9_-]{1,64}$/.test(prefix);
}

/** The subject tail (after `P.s.` or `P.r.`) of the stream of a publication routed by uid/topic. */
export function subjectTail(uid: string | undefined, topic: string | undefined): string {
  if (uid !== undefined) return topic === undefined ? `u.${encodeToken(uid)}.u` : `u.${encodeToken(uid)}.p.${encodeToken(topic)}`;
  return topic === undefined ? 'all' : `t.${encodeToken(topic)}`;
}

/** The subject tail of a stream key made by `streamOf` (they map one to one). */
export function tailOfStream(stream: string): string | undefined {
  if (stream === 'all') return 'all';
  if (stream.startsWith('t:')) return subjectTail(undefined, stream.slice(2));
  if (stream.startsWith('u:')) return subjectTail(stream.slice(2), undefined);
  if (!stream.startsWith('p:')) return undefined;
  const colon = stream.indexOf(':', 2);
  const uidLength = Number(stream.slice(2, colon));
  if (colon < 0 || !Number.isSafeInteger(uidLength) || uidLength < 0) return undefined;
  const uidEnd = colon + 1 + uidLength;
  if (stream[uidEnd] !== ':') return undefined;
  return subjectTail(stream.slice(colon + 1, uidEnd), stream.slice(uidEnd + 1));
}

/** The uid and topic of a subject tail; undefined when it is not one this engine makes. */
export function routeOfTail(tail: string): { uid?: string; topic?: string } | undefined {
  const tokens = tail.split('.');
  if (tokens.length === 1 && tokens[0] === 'all') return {};
  if (tokens.length === 2 && tokens[0] === 't') {
    const topic = decodeToken(tokens[1]);
    return topic === undefined ? undefined : { topic };
  }
  if (tokens[0] !== 'u' || tokens.length < 3) return undefined;
  const uid = decodeToken(tokens[1]);
  if (uid === undefined) return undefined;
  if (tokens.length === 3 && tokens[2] === 'u') return { uid };
  if (tokens.length !== 4 || tokens[2] !== 'p') return undefined;
  const topic = decodeToken(tokens[3]);
  return topic === undefined ? undefined : { uid, topic };
}

/** The subscription tail that carries an interest: `{}` everyone, `{topic}`, `{uid}` (with their private topics). */
export function interestTail(interest: { uid?: string; topic?: string }): string {
  if (interest.uid !== undefined) return `u.${encodeToken(interest.uid)}.>`;
  return interest.topic === undefined ? 'all' : `t.${encodeToken(interest.topic)}`;
}

/** The seed URLs of `--nats-url` (comma-separated, blanks ignored). */
export function natsServers(value: string): string[] {
  return value.split(',').map((url) => url.trim()).filter((url) => url !== '');
}
