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
  if (rules.topicPattern !== undefined && !rules.topicPattern.test(topic)) return 'topic does not match the allowed pattern';
  return undefined;
}
