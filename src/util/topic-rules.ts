/** Limits on topic names. */
export interface TopicRules {
  /** Longest topic, in UTF-8 bytes; default 256. */
  maxTopicLength: number;
  /** When set, a topic must match it entirely (anchor it: `^…$`). */
  topicPattern?: RegExp;
}

export const DEFAULT_TOPIC_RULES: TopicRules = { maxTopicLength: 256 };

// C0 and C1 control characters and DEL: invisible in logs and dashboards, never meant as names.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// A surrogate code unit not part of a pair (with the `u` flag a pair is one code point outside this
// range). Such a string is not Unicode text: UTF-8 encoding turns every lone surrogate into U+FFFD, so
// "S\ud800" and "S\udfff" would name the same Redis channel and stream and receive each other's pushes.
const LONE_SURROGATE = /[\ud800-\udfff]/u;

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
  if (CONTROL.test(topic)) return 'topic contains control characters';
  if (LONE_SURROGATE.test(topic)) return 'topic is not well-formed Unicode (lone surrogate)';
  if (rules.topicPattern !== undefined && !rules.topicPattern.test(topic)) return 'topic does not match the allowed pattern';
  return undefined;
}

/**
 * Check a user id from a push or a login. Returns the reason it is refused,
 * or undefined when it is acceptable: a non-empty string of at most
 * {@link MAX_UID_LENGTH} code units, well-formed Unicode (see LONE_SURROGATE)
 * and without control characters, so two distinct uids never meet in one
 * stream or channel once encoded.
 */
export function checkUid(uid: unknown): string | undefined {
  if (typeof uid !== 'string') return 'uid must be a string';
  if (uid.length === 0) return 'uid must not be empty';
  if (uid.length > MAX_UID_LENGTH) return `uid is longer than ${MAX_UID_LENGTH} characters`;
  if (CONTROL.test(uid)) return 'uid contains control characters';
  if (LONE_SURROGATE.test(uid)) return 'uid is not well-formed Unicode (lone surrogate)';
  return undefined;
}
