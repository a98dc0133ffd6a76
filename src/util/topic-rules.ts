/** Limits on topic names. */
export interface TopicRules {
  /** Longest topic, in UTF-8 bytes; default 256. */
  maxTopicLength: number;
  /** When set, a topic must match it entirely (anchor it: `^…$`). */
  topicPattern?: RegExp;
}

export const DEFAULT_TOPIC_RULES: TopicRules = { maxTopicLength: 256 };

/**
 * What is wrong with the characters of a name, checked in one pass by char code (two regex calls per
 * name cost more than the whole pass for the short names pushes carry, once per push for uid and topic):
 * - 'control': C0 and C1 control characters and DEL, invisible in logs and dashboards, never meant as names;
 * - 'surrogate': a surrogate code unit not part of a pair. Such a string is not Unicode text: UTF-8
 *   encoding turns every lone surrogate into U+FFFD, so "S\ud800" and "S\udfff" would name the same
 *   Redis channel and stream and receive each other's pushes.
 * A control character anywhere is reported before a lone surrogate.
 */
function badCharacters(name: string): 'control' | 'surrogate' | undefined {
  let loneSurrogate = false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return 'control';
    if (c < 0xd800 || c > 0xdfff) continue;
    const next = i + 1 < name.length ? name.charCodeAt(i + 1) : 0;
    // A high surrogate followed by a low one is a pair (one code point): skip both.
    if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) i++;
    else loneSurrogate = true;
  }
  return loneSurrogate ? 'surrogate' : undefined;
}

/** Longest uid, in UTF-16 code units (pushes and logins alike). */
export const MAX_UID_LENGTH = 1024;

/**
 * Check a topic from a client or a push. Returns the reason it is refused, or
 * undefined when it is acceptable. Any other Unicode is allowed (gpush
 * accepted any string; users name topics in their own languages).
 */
export function checkTopic(topic: unknown, rules: TopicRules): string | undefined {
  if (typeof topic !== 'string') return 'topic must be a string';
  if (topic.length === 0) return 'topic must not be empty';
  // UTF-16 length ≥ ceil(bytes/3): skip the byte count for obviously short names.
  if (topic.length * 3 > rules.maxTopicLength && Buffer.byteLength(topic) > rules.maxTopicLength) {
    return `topic is longer than ${rules.maxTopicLength} bytes`;
  }
  const bad = badCharacters(topic);
  if (bad === 'control') return 'topic contains control characters';
  if (bad === 'surrogate') return 'topic is not well-formed Unicode (lone surrogate)';
  if (rules.topicPattern !== undefined && !rules.topicPattern.test(topic)) return 'topic does not match the allowed pattern';
  return undefined;
}

/**
 * Check a user id from a push or a login. Returns the reason it is refused,
 * or undefined when it is acceptable: a non-empty string of at most
 * {@link MAX_UID_LENGTH} code units, well-formed Unicode (see badCharacters)
 * and without control characters, so two distinct uids never meet in one
 * stream or channel once encoded.
 */
export function checkUid(uid: unknown): string | undefined {
  if (typeof uid !== 'string') return 'uid must be a string';
  if (uid.length === 0) return 'uid must not be empty';
  if (uid.length > MAX_UID_LENGTH) return `uid is longer than ${MAX_UID_LENGTH} characters`;
  const bad = badCharacters(uid);
  if (bad === 'control') return 'uid contains control characters';
  if (bad === 'surrogate') return 'uid is not well-formed Unicode (lone surrogate)';
  return undefined;
}
